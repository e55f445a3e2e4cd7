"""A node's credentials: obtained once with a join token, then kept in DATA_DIR/credentials.

A join token (k3s' format) is ``K10<sha256 of the cluster CA bundle>::<id>.<secret>``: the
hash pins the cluster CA, the rest is a Kubernetes bootstrap token. Joining (k3s' flow):

1. fetch the CA bundle from ``/cacerts`` without trusting anything yet, and refuse it unless
   its SHA-256 is the token's hash;
2. over TLS verified against that CA, post the bootstrap token, the node name and addresses
   and two CSRs (new ECDSA keys that never leave this node) to the node bootstrap endpoint;
3. write the signed client certificate (``system:node:<name>`` in ``system:nodes``), the
   kubelet serving certificate, the CA, the cluster's network settings, and a kubeconfig
   naming them.

A restarted agent reuses what it has as long as it still fits (same node name, certificates
valid for a while yet and signed by the stored CA, serving certificate covering the node's
addresses, and when a token is given, the token's CA): the token is needed only to join.
Files are replaced atomically, keys with mode 0600.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import logging
import secrets
import ssl
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from pilothouse import pki
from pilothouse.client import ClientConfig
from pilothouse.kubelet.config import KubeletConfig

log = logging.getLogger(__name__)

TOKEN_PREFIX = "K10"
CACERTS_PATH = "/cacerts"
BOOTSTRAP_PATH = "/v1-pilothouse/node-bootstrap"
NODES_GROUP = "system:nodes"
# Rejoin instead of starting with a certificate about to expire.
RENEW_BEFORE = datetime.timedelta(days=7)
REQUEST_TIMEOUT = 30.0
_TOKEN_ALPHABET = string.ascii_lowercase + string.digits


class BootstrapError(Exception):
    """The node could not obtain or reuse its credentials."""


@dataclass(frozen=True)
class JoinToken:
    ca_hash: str  # hex SHA-256 of the cluster CA bundle, as /cacerts serves it
    token_id: str  # [a-z0-9]{6}
    secret: str  # [a-z0-9]{16}

    @classmethod
    def generate(cls, ca_bundle: bytes) -> JoinToken:
        return cls(
            ca_hash=ca_bundle_hash(ca_bundle),
            token_id=_random_text(6),
            secret=_random_text(16),
        )

    @classmethod
    def parse(cls, text: str) -> JoinToken:
        text = text.strip()
        head, sep, credentials = text.partition("::")
        ca_hash = head.removeprefix(TOKEN_PREFIX)
        token_id, dot, secret = credentials.partition(".")
        valid = (
            sep and head.startswith(TOKEN_PREFIX) and dot
            and len(ca_hash) == 64 and all(c in string.hexdigits for c in ca_hash)
            and len(token_id) == 6 and len(secret) == 16
            and all(c in _TOKEN_ALPHABET for c in token_id + secret)
        )
        if not valid:
            raise ValueError(
                "a join token looks like K10<64 hex digits>::<6 characters>.<16 characters> "
                "(see DATA_DIR/token on the server, or run `pilothouse token create` there)"
            )
        return cls(ca_hash.lower(), token_id, secret)

    @property
    def bearer(self) -> str:
        """The bootstrap token the server checks."""
        return f"{self.token_id}.{self.secret}"

    def __str__(self) -> str:
        return f"{TOKEN_PREFIX}{self.ca_hash}::{self.bearer}"


def ca_bundle_hash(ca_bundle: bytes) -> str:
    return hashlib.sha256(ca_bundle).hexdigest()


@dataclass(frozen=True)
class ClusterNetwork:
    """The cluster's network settings, as the server announces them when a node joins."""

    cluster_cidr: str
    service_cidr: str
    cluster_dns: tuple[str, ...]
    cluster_domain: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClusterNetwork:
        return cls(
            cluster_cidr=str(ipaddress.ip_network(data["clusterCIDR"])),
            service_cidr=str(ipaddress.ip_network(data["serviceCIDR"])),
            cluster_dns=tuple(str(ipaddress.ip_address(ip)) for ip in data["clusterDNS"]),
            cluster_domain=str(data["clusterDomain"]),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "clusterCIDR": self.cluster_cidr,
            "serviceCIDR": self.service_cidr,
            "clusterDNS": list(self.cluster_dns),
            "clusterDomain": self.cluster_domain,
        }


class NodeCredentials:
    """The files of DATA_DIR/credentials."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.ca_file = directory / "ca.crt"
        self.client_cert = directory / "node.crt"
        self.client_key = directory / "node.key"
        self.serving_cert = directory / "kubelet.crt"
        self.serving_key = directory / "kubelet.key"
        self.cluster_file = directory / "cluster.json"
        self.kubeconfig = directory / "kubeconfig"

    def client_config(self, server: str, *, user_agent: str) -> ClientConfig:
        return ClientConfig(
            server=server,
            ca_pem=self.ca_file.read_bytes(),
            cert_pem=self.client_cert.read_bytes(),
            key_pem=self.client_key.read_bytes(),
            user_agent=user_agent,
        )

    def node_name(self) -> str:
        """The node these credentials identify (from the client certificate)."""
        client = x509.load_pem_x509_certificate(self.client_cert.read_bytes())
        return pki.identity(client)[0].removeprefix("system:node:")

    def cluster_network(self) -> ClusterNetwork:
        return ClusterNetwork.from_json(orjson.loads(self.cluster_file.read_bytes()))

    def serving_ssl_context(self) -> ssl.SSLContext:
        """A TLS server context with the kubelet's serving certificate (the kubelet server
        adds the cluster CA to verify its clients)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.serving_cert, self.serving_key)
        return context

    def usable_for(self, node_name: str, addresses: list[str], *, ca_hash: str | None) -> str:
        """Why the stored credentials cannot serve this node ("" when they can)."""
        files = (self.ca_file, self.client_cert, self.client_key, self.serving_cert,
                 self.serving_key, self.cluster_file)
        if not all(f.exists() for f in files):
            return "no credentials yet"
        ca_bundle = self.ca_file.read_bytes()
        if ca_hash is not None and ca_bundle_hash(ca_bundle) != ca_hash:
            return "the join token names another cluster CA"
        ca = x509.load_pem_x509_certificate(ca_bundle)
        client = x509.load_pem_x509_certificate(self.client_cert.read_bytes())
        serving = x509.load_pem_x509_certificate(self.serving_cert.read_bytes())
        for what, cert in (("client", client), ("serving", serving)):
            problem = _certificate_problem(cert, ca)
            if problem:
                return f"the {what} certificate {problem}"
        if pki.identity(client) != (f"system:node:{node_name}", [NODES_GROUP]):
            return f"the client certificate is not the identity of node {node_name}"
        missing = set(addresses) - _ip_sans(serving)
        if missing:
            return f"the serving certificate does not cover {', '.join(sorted(missing))}"
        return ""

    def write_kubeconfig(self, server: str, node_name: str) -> None:
        """A kubeconfig with this node's identity (file references, as the kubelet's)."""
        user = f"system:node:{node_name}"
        document = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "pilothouse", "cluster": {
                "server": server, "certificate-authority": self.ca_file.name,
            }}],
            "users": [{"name": user, "user": {
                "client-certificate": self.client_cert.name,
                "client-key": self.client_key.name,
            }}],
            "contexts": [{"name": "pilothouse", "context": {"cluster": "pilothouse", "user": user}}],
            "current-context": "pilothouse",
            "preferences": {},
        }
        pki.write_file(self.kubeconfig, yaml.safe_dump(document, sort_keys=False).encode(),
                       mode=0o600)


async def ensure_credentials(
    config: KubeletConfig, *, server: str, token: str | None, addresses: list[str]
) -> NodeCredentials:
    """Credentials for ``config.node_name``: the stored ones if they still fit, otherwise
    new ones obtained with ``token``."""
    credentials = NodeCredentials(config.credentials_dir)
    join_token = JoinToken.parse(token) if token else None
    problem = credentials.usable_for(
        config.node_name, addresses, ca_hash=join_token.ca_hash if join_token else None
    )
    if problem:
        if join_token is None:
            raise BootstrapError(f"cannot reuse the node's credentials ({problem}): "
                                 "a join token (--token) is needed")
        log.info("joining the cluster at %s as node %s (%s)", server, config.node_name, problem)
        await join(credentials, server=server, token=join_token,
                   node_name=config.node_name, addresses=addresses)
    credentials.write_kubeconfig(server, config.node_name)
    return credentials


async def join(
    credentials: NodeCredentials, *, server: str, token: JoinToken, node_name: str,
    addresses: list[str],
) -> None:
    client_key, serving_key = pki.new_key(), pki.new_key()
    request = {
        "nodeName": node_name,
        "addresses": addresses,
        "clientCSR": _csr_pem(client_key, node_name),
        "servingCSR": _csr_pem(serving_key, node_name),
    }
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    try:
        async with aiohttp.ClientSession(base_url=server, timeout=timeout) as session:
            ca_bundle = await _pinned_ca_bundle(session, token)
            verified = ssl.create_default_context(cadata=ca_bundle.decode())
            async with session.post(
                BOOTSTRAP_PATH, json=request, ssl=verified,
                headers={"Authorization": f"Bearer {token.bearer}"},
            ) as response:
                body = await response.read()
    except (aiohttp.ClientError, TimeoutError, ssl.SSLError) as e:
        raise BootstrapError(f"cannot join the cluster at {server}: {e}") from e
    if response.status != 200:
        raise BootstrapError(f"the server refused to join node {node_name}: "
                             f"HTTP {response.status}: {_message(body)}")
    reply = orjson.loads(body)
    client_cert = x509.load_pem_x509_certificate(reply["clientCertificate"].encode())
    serving_cert = x509.load_pem_x509_certificate(reply["servingCertificate"].encode())
    cluster = ClusterNetwork.from_json(reply["cluster"])
    pki.write_file(credentials.ca_file, ca_bundle, mode=0o644)
    pki.KeyPair(client_cert, client_key).write(credentials.client_cert, credentials.client_key)
    pki.KeyPair(serving_cert, serving_key).write(credentials.serving_cert, credentials.serving_key)
    pki.write_file(credentials.cluster_file, orjson.dumps(cluster.to_json()), mode=0o644)


async def _pinned_ca_bundle(session: aiohttp.ClientSession, token: JoinToken) -> bytes:
    # Unverified on purpose: what we receive is trusted only if it matches the token's hash.
    async with session.get(CACERTS_PATH, ssl=False) as response:
        if response.status != 200:
            raise BootstrapError(f"cannot fetch the cluster CA: HTTP {response.status}")
        bundle = await response.read()
    if ca_bundle_hash(bundle) != token.ca_hash:
        raise BootstrapError("the server's CA does not match the join token: "
                             "wrong server, or a token of another cluster")
    return bundle


def _csr_pem(key: Any, node_name: str) -> str:
    subject = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, NODES_GROUP),
        x509.NameAttribute(NameOID.COMMON_NAME, f"system:node:{node_name}"),
    ])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def _certificate_problem(cert: x509.Certificate, ca: x509.Certificate) -> str:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return "was not issued by the stored cluster CA"
    if cert.not_valid_after_utc - RENEW_BEFORE < datetime.datetime.now(datetime.UTC):
        return f"expires at {cert.not_valid_after_utc.isoformat()}"
    return ""


def _ip_sans(cert: x509.Certificate) -> set[str]:
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}


def _message(body: bytes) -> str:
    try:
        return str(orjson.loads(body).get("message", ""))
    except (orjson.JSONDecodeError, AttributeError):
        return body.decode(errors="replace")[:200]


def _random_text(length: int) -> str:
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(length))
