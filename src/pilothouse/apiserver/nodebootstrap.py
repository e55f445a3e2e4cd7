"""Joining a node: a join token and two certificate requests in, a node identity out.

Two endpoints outside the Kubernetes API, as k3s serves them beside it:

- ``GET /cacerts`` (no credentials): the cluster CA bundle. A join token carries the SHA-256
  of these exact bytes, so an agent that fetched them without verifying TLS can check them
  against its token before trusting them (k3s' ``K10<hash>::...`` pinning).
- ``POST /v1-pilothouse/node-bootstrap`` with ``Authorization: Bearer <token-id>.<secret>``
  and a JSON body ``{nodeName, addresses, clientCSR, servingCSR}``: the cluster CA signs the
  node's client certificate (CN ``system:node:<name>``, O ``system:nodes``) and its kubelet
  serving certificate (SANs: the node name, its addresses, localhost, 127.0.0.1), and the
  reply carries both, the CA bundle and the cluster's network settings.

Join tokens are Kubernetes bootstrap tokens: Secrets ``kube-system/bootstrap-token-<id>`` of
type ``bootstrap.kubernetes.io/token``, checked as kube-apiserver's bootstrap token
authenticator checks them (type, id, constant-time secret comparison, expiration, not being
deleted, ``usage-bootstrap-authentication``). Being API objects, they are shared by every API
server of the store and revoked with ``kubectl -n kube-system delete secret``. They
authenticate this endpoint only, never the API itself: there is no authorization yet, so an
API identity for a token holder would be an administrator.

Guarantees: a request with a missing, unknown, expired or wrong token is 401 and signs
nothing; a malformed body, CSR or node name is 400 and signs nothing. The identity of the
certificates comes from ``nodeName``, never from the CSRs' subjects; a CSR only proves that
the caller holds the private key.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hmac
import ipaddress
import logging
import re
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pilothouse import pki
from pilothouse.api import errors
from pilothouse.api.validation import is_dns1123_subdomain
from pilothouse.apiserver.authn import bearer_token
from pilothouse.apiserver.body import read_body
from pilothouse.apiserver.context import APIContext
from pilothouse.apiserver.rendering import status_response

log = logging.getLogger(__name__)

CACERTS_PATH = "/cacerts"
BOOTSTRAP_PATH = "/v1-pilothouse/node-bootstrap"
BOOTSTRAP_TOKEN_TYPE = "bootstrap.kubernetes.io/token"
BOOTSTRAP_TOKEN_NAMESPACE = "kube-system"
BOOTSTRAP_TOKEN_PREFIX = "bootstrap-token-"
NODE_USER_PREFIX = "system:node:"
NODES_GROUP = "system:nodes"
MAX_ADDRESSES = 16
# The cluster DNS Service takes the tenth address of the service CIDR, as in kubeadm and k3s.
CLUSTER_DNS_OFFSET = 10
CLUSTER_DOMAIN = "cluster.local"

# kube-apiserver's bootstrap token format (k8s.io/cluster-bootstrap/token/api).
_TOKEN_RE = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
_ACCEPTED_CURVES = (ec.SECP256R1, ec.SECP384R1)


class InvalidToken(Exception):
    """Why a bearer token was refused (logged; the client only learns it was refused)."""


@dataclass(frozen=True)
class NodeRequest:
    name: str
    addresses: tuple[str, ...]
    client_csr: x509.CertificateSigningRequest
    serving_csr: x509.CertificateSigningRequest


class NodeBootstrap:
    def __init__(self, ctx: APIContext, *, ca: pki.KeyPair, ca_bundle: bytes):
        self.ctx = ctx
        self.ca = ca
        self.ca_bundle = ca_bundle

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(CACERTS_PATH, self.cacerts),
            web.post(BOOTSTRAP_PATH, self.bootstrap),
        ]

    async def cacerts(self, request: web.Request) -> web.Response:
        return web.Response(body=self.ca_bundle, content_type="text/plain")

    async def bootstrap(self, request: web.Request) -> web.Response:
        try:
            token_id = await self._authenticate(request)
            node = parse_node_request(await _read_body(request))
        except errors.StatusError as error:
            return status_response(error)
        client = self._sign(node.client_csr, node.name, server_names=())
        serving = self._sign(
            node.serving_csr, node.name,
            server_names=tuple(dict.fromkeys((node.name, *node.addresses, "localhost",
                                              "127.0.0.1"))),
        )
        log.info("node %s joined with bootstrap token %s (addresses %s)",
                 node.name, token_id, ", ".join(node.addresses) or "none")
        body = {
            "clientCertificate": _pem(client),
            "servingCertificate": _pem(serving),
            "certificateAuthority": self.ca_bundle.decode(),
            "cluster": self._cluster_settings(),
        }
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    async def _authenticate(self, request: web.Request) -> str:
        token = bearer_token(request)
        try:
            if token is None:
                raise InvalidToken("no bearer token")
            return await self._check_token(token)
        except InvalidToken as reason:
            log.info("node bootstrap refused from %s: %s", request.remote, reason)
            raise errors.Unauthorized("Unauthorized") from None

    async def _check_token(self, token: str) -> str:
        match = _TOKEN_RE.match(token)
        if match is None:
            raise InvalidToken("not a bootstrap token")
        token_id, token_secret = match.groups()
        secrets = self.ctx.registry.get("", "v1", "secrets")
        assert secrets is not None
        try:
            secret = await self.ctx.storage.get(
                secrets, BOOTSTRAP_TOKEN_NAMESPACE, BOOTSTRAP_TOKEN_PREFIX + token_id
            )
        except errors.NotFound:
            raise InvalidToken(f"no secret for token id {token_id}") from None
        check_bootstrap_secret(secret, token_id, token_secret, now=_utcnow())
        return token_id

    def _sign(
        self, csr: x509.CertificateSigningRequest, node_name: str, *, server_names: tuple[str, ...]
    ) -> x509.Certificate:
        public_key = csr.public_key()
        assert isinstance(public_key, ec.EllipticCurvePublicKey)  # parse_node_request checked
        cert = pki.issue(
            self.ca,
            common_name=NODE_USER_PREFIX + node_name,
            organizations=[NODES_GROUP],
            server_names=server_names,
            client=not server_names,
            public_key=public_key,
        )
        assert isinstance(cert, x509.Certificate)
        return cert

    def _cluster_settings(self) -> dict[str, Any]:
        settings = self.ctx.settings
        service_network = ipaddress.ip_network(settings.service_cidr)
        return {
            "clusterCIDR": settings.cluster_cidr,
            "serviceCIDR": settings.service_cidr,
            "clusterDNS": [str(service_network.network_address + CLUSTER_DNS_OFFSET)],
            "clusterDomain": CLUSTER_DOMAIN,
        }


def check_bootstrap_secret(
    secret: dict[str, Any], token_id: str, token_secret: str, *, now: datetime.datetime
) -> None:
    """Raises InvalidToken unless ``secret`` makes ``token_id.token_secret`` a valid token."""
    meta = secret.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        raise InvalidToken(f"token {token_id} is being deleted")
    if secret.get("type") != BOOTSTRAP_TOKEN_TYPE:
        raise InvalidToken(f"secret of token {token_id} has type {secret.get('type')!r}")
    data = _decoded(secret)
    if not hmac.compare_digest(data.get("token-secret", "").encode(), token_secret.encode()):
        raise InvalidToken(f"wrong secret for token {token_id}")
    if data.get("token-id") != token_id:
        raise InvalidToken(f"secret of token {token_id} names another token id")
    if data.get("usage-bootstrap-authentication") != "true":
        raise InvalidToken(f"token {token_id} may not be used for authentication")
    expiration = data.get("expiration")
    if expiration:
        try:
            expires = datetime.datetime.fromisoformat(expiration.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidToken(f"token {token_id} has an invalid expiration") from None
        if expires <= now:
            raise InvalidToken(f"token {token_id} expired at {expiration}")


def _decoded(secret: dict[str, Any]) -> dict[str, str]:
    decoded = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            decoded[key] = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, TypeError):
            continue
    return decoded


async def _read_body(request: web.Request) -> dict[str, Any]:
    raw = await read_body(request)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise errors.BadRequest(f"the request body is not JSON: {e}") from None
    if not isinstance(body, dict):
        raise errors.BadRequest("the request body must be a JSON object")
    return body


def parse_node_request(body: dict[str, Any]) -> NodeRequest:
    """The node's name, addresses and CSRs; BadRequest naming the first thing wrong."""
    name = body.get("nodeName")
    if not isinstance(name, str) or not name:
        raise errors.BadRequest("nodeName: Required value")
    problems = is_dns1123_subdomain(name)
    if problems:
        raise errors.BadRequest(f'nodeName: Invalid value: "{name}": {"; ".join(problems)}')
    return NodeRequest(
        name=name,
        addresses=_addresses(body.get("addresses", [])),
        client_csr=_csr(body.get("clientCSR"), "clientCSR"),
        serving_csr=_csr(body.get("servingCSR"), "servingCSR"),
    )


def _addresses(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_ADDRESSES:
        raise errors.BadRequest(f"addresses: must be a list of at most {MAX_ADDRESSES} IPs")
    addresses = []
    for i, address in enumerate(value):
        try:
            addresses.append(str(ipaddress.ip_address(address)))
        except (TypeError, ValueError):
            raise errors.BadRequest(
                f"addresses[{i}]: Invalid value: {address!r}: must be an IP address"
            ) from None
    return tuple(dict.fromkeys(addresses))


def _csr(value: Any, field: str) -> x509.CertificateSigningRequest:
    if not isinstance(value, str) or not value:
        raise errors.BadRequest(f"{field}: Required value: a PEM certificate request")
    try:
        csr = x509.load_pem_x509_csr(value.encode())
    except ValueError:
        raise errors.BadRequest(f"{field}: not a PEM certificate request") from None
    if not csr.is_signature_valid:
        raise errors.BadRequest(f"{field}: the request's signature does not match its key")
    key = csr.public_key()
    if not (isinstance(key, ec.EllipticCurvePublicKey)
            and isinstance(key.curve, _ACCEPTED_CURVES)):
        raise errors.BadRequest(f"{field}: the key must be ECDSA on P-256 or P-384")
    return csr


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
