"""Joining a node through the API server's bootstrap endpoint: join tokens as bootstrap token
Secrets, 401 for bad tokens, 400 for bad requests, and a good join giving certificates whose
identity is system:node:<name> in system:nodes; then the agent side (ensure_credentials)
against the same server: CA pinning, files, reuse without a token."""

from __future__ import annotations

import base64
import datetime
import ipaddress
import ssl
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from pilothouse import pki
from pilothouse.apiserver.server import APIServer
from pilothouse.cli.token import bootstrap_token_secret, create_join_token, ensure_server_token
from pilothouse.client import APIClient, ClientConfig
from pilothouse.kubelet.bootstrap import (
    BOOTSTRAP_PATH,
    BootstrapError,
    JoinToken,
    ensure_credentials,
)
from pilothouse.kubelet.config import KubeletConfig

pytestmark = pytest.mark.asyncio(loop_scope="module")

Obj = dict[str, Any]


def ca_bundle(api_server: APIServer) -> bytes:
    return api_server.pki.ca_cert.read_bytes()


def csr_pem(key: Any = None, common_name: str = "whoever") -> str:
    key = key or pki.new_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def join_request(name: str = "node-a", **changes: Any) -> Obj:
    body = {"nodeName": name, "addresses": ["172.31.255.7"],
            "clientCSR": csr_pem(common_name="system:masters-wannabe"), "servingCSR": csr_pem()}
    body.update(changes)
    return body


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def token(api_server: APIServer, client: APIClient) -> JoinToken:
    return await create_join_token(client, ca_bundle=ca_bundle(api_server),
                                   ttl=datetime.timedelta(hours=1), description="test")


async def post(api_server: APIServer, body: Any, bearer: str | None) -> tuple[int, Obj]:
    context = ssl.create_default_context(cadata=ca_bundle(api_server).decode())
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    async with aiohttp.ClientSession() as session, session.post(
        api_server.config.url + BOOTSTRAP_PATH, ssl=context, headers=headers,
        **({"data": body} if isinstance(body, bytes) else {"json": body}),
    ) as response:
        return response.status, await response.json(content_type=None)


async def test_cacerts_serves_the_bundle_the_token_hashes(
    api_server: APIServer, token: JoinToken
) -> None:
    async with aiohttp.ClientSession() as session, session.get(
        api_server.config.url + "/cacerts", ssl=False
    ) as response:
        assert response.status == 200
        body = await response.read()
    assert JoinToken.generate(body).ca_hash == token.ca_hash


async def test_a_good_join_signs_a_node_identity_and_a_serving_certificate(
    api_server: APIServer, client: APIClient, token: JoinToken
) -> None:
    client_key = pki.new_key()
    status, reply = await post(api_server, join_request(
        clientCSR=csr_pem(client_key, "system:masters-wannabe")), token.bearer)
    assert status == 200, reply
    cert = x509.load_pem_x509_certificate(reply["clientCertificate"].encode())
    assert pki.identity(cert) == ("system:node:node-a", ["system:nodes"])
    assert cert.public_key().public_numbers() == client_key.public_key().public_numbers()
    serving = x509.load_pem_x509_certificate(reply["servingCertificate"].encode())
    sans = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(sans.get_values_for_type(x509.DNSName)) == {"node-a", "localhost"}
    assert set(sans.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("172.31.255.7"), ipaddress.ip_address("127.0.0.1")}
    assert reply["certificateAuthority"].encode() == ca_bundle(api_server)
    assert reply["cluster"] == {"clusterCIDR": "10.244.0.0/16", "serviceCIDR": "10.96.0.0/12",
                                "clusterDNS": ["10.96.0.10"], "clusterDomain": "cluster.local"}

    # The API sees exactly that identity.
    config = ClientConfig(
        server=client.config.server, ca_pem=ca_bundle(api_server),
        cert_pem=reply["clientCertificate"].encode(),
        key_pem=pki.KeyPair(cert, client_key).key_pem,
    )
    async with APIClient(config) as node_client:
        review = await node_client.request(
            "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        )
    user = review["status"]["userInfo"]
    assert user["username"] == "system:node:node-a"
    assert "system:nodes" in user["groups"]


@pytest.mark.parametrize("bearer", [
    None, "", "not-a-token", "abcdef.0123456789abcdef", "ABCDEF.0123456789ABCDEF",
], ids=["missing", "empty", "malformed", "unknown-id", "uppercase"])
async def test_bad_tokens_are_401(api_server: APIServer, bearer: str | None) -> None:
    status, reply = await post(api_server, join_request(), bearer)
    assert status == 401
    assert (reply["kind"], reply["reason"], reply["message"]) == (
        "Status", "Unauthorized", "Unauthorized")


async def test_a_wrong_secret_is_401(api_server: APIServer, token: JoinToken) -> None:
    wrong = JoinToken(token.ca_hash, token.token_id, "0" * 16)
    status, _ = await post(api_server, join_request(), wrong.bearer)
    assert status == 401


@pytest.mark.parametrize(("changes", "why"), [
    ({"expires": -1}, "expired"),
    ({"type": "Opaque"}, "wrong type"),
    ({"usage": "false"}, "not for authentication"),
], ids=["expired", "type", "usage"])
async def test_unusable_token_secrets_are_401(
    api_server: APIServer, client: APIClient, changes: Obj, why: str
) -> None:
    token = JoinToken.generate(ca_bundle(api_server))
    expires = None
    if "expires" in changes:
        expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=changes["expires"])
    secret = bootstrap_token_secret(token, description=why, expires=expires)
    secret["type"] = changes.get("type", secret["type"])
    secret["stringData"]["usage-bootstrap-authentication"] = changes.get("usage", "true")
    await client["secrets"].create(secret)
    status, _ = await post(api_server, join_request(), token.bearer)
    assert status == 401


def rsa_csr() -> str:
    return csr_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def tampered_csr() -> str:
    # A valid request with its public key swapped: the signature no longer matches.
    pem = csr_pem()
    other = x509.load_pem_x509_csr(csr_pem().encode()).public_bytes(serialization.Encoding.DER)
    own = x509.load_pem_x509_csr(pem.encode()).public_bytes(serialization.Encoding.DER)
    own_key = x509.load_pem_x509_csr(pem.encode()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    other_key = x509.load_der_x509_csr(other).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    swapped = own.replace(own_key, other_key)
    return ("-----BEGIN CERTIFICATE REQUEST-----\n" + base64.encodebytes(swapped).decode()
            + "-----END CERTIFICATE REQUEST-----\n")


@pytest.mark.parametrize(("body", "message"), [
    (b"{not json", "the request body is not JSON"),
    ([1, 2], "the request body must be a JSON object"),
    (join_request(clientCSR="garbage"), "clientCSR: not a PEM certificate request"),
    (join_request(servingCSR=""), "servingCSR: Required value"),
    (join_request(servingCSR=None), "servingCSR: Required value"),
    (join_request(nodeName="Bad_Name"), 'nodeName: Invalid value: "Bad_Name"'),
    (join_request(nodeName=""), "nodeName: Required value"),
    (join_request(addresses=["300.1.1.1"]), "addresses[0]: Invalid value"),
    (join_request(addresses="10.0.0.1"), "addresses: must be a list"),
], ids=["json", "not-object", "csr-garbage", "csr-empty", "csr-null", "node-name",
        "node-name-empty", "address", "addresses-type"])
async def test_malformed_requests_are_400(
    api_server: APIServer, token: JoinToken, body: Any, message: str
) -> None:
    status, reply = await post(api_server, body, token.bearer)
    assert status == 400, reply
    assert reply["reason"] == "BadRequest"
    assert reply["message"].startswith(message), reply["message"]


async def test_weak_or_forged_csrs_are_400(api_server: APIServer, token: JoinToken) -> None:
    status, reply = await post(api_server, join_request(clientCSR=rsa_csr()), token.bearer)
    assert (status, reply["message"]) == (400, "clientCSR: the key must be ECDSA on P-256 or P-384")
    status, reply = await post(api_server, join_request(servingCSR=tampered_csr()), token.bearer)
    assert (status, reply["message"]) == (
        400, "servingCSR: the request's signature does not match its key")


async def test_the_server_token_is_kept_across_restarts(
    api_server: APIServer, client: APIClient, tmp_path: Path
) -> None:
    first = await ensure_server_token(client, data_dir=tmp_path, ca_bundle=ca_bundle(api_server))
    assert (tmp_path / "token").read_text().strip() == str(first)
    assert (tmp_path / "token").stat().st_mode & 0o777 == 0o600
    await client["secrets"].delete(f"bootstrap-token-{first.token_id}", namespace="kube-system")
    again = await ensure_server_token(client, data_dir=tmp_path, ca_bundle=ca_bundle(api_server))
    assert again == first
    secret = await client["secrets"].get(f"bootstrap-token-{first.token_id}",
                                         namespace="kube-system")
    assert secret["type"] == "bootstrap.kubernetes.io/token"
    assert "expiration" not in secret["data"]
    status, _ = await post(api_server, join_request(), first.bearer)
    assert status == 200


def node_config(tmp_path: Path, name: str = "node-b") -> KubeletConfig:
    return KubeletConfig(node_name=name, data_dir=tmp_path / name)


async def test_the_agent_joins_once_and_then_reuses_its_credentials(
    api_server: APIServer, token: JoinToken, tmp_path: Path
) -> None:
    config = node_config(tmp_path)
    server = api_server.config.url
    credentials = await ensure_credentials(config, server=server, token=str(token),
                                           addresses=["172.31.255.9"])
    assert credentials.client_key.stat().st_mode & 0o777 == 0o600
    assert credentials.cluster_network().cluster_cidr == "10.244.0.0/16"
    first_cert = credentials.client_cert.read_bytes()

    # A restart: no token needed, nothing re-issued.
    again = await ensure_credentials(config, server=server, token=None,
                                     addresses=["172.31.255.9"])
    assert again.client_cert.read_bytes() == first_cert

    # Through its kubeconfig the node is system:node:node-b.
    async with APIClient(ClientConfig.from_kubeconfig(credentials.kubeconfig)) as node_client:
        review = await node_client.request(
            "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        )
    assert review["status"]["userInfo"]["username"] == "system:node:node-b"

    # A new address is not covered by the serving certificate: that needs the token.
    with pytest.raises(BootstrapError, match="does not cover 172.31.255.10"):
        await ensure_credentials(config, server=server, token=None, addresses=["172.31.255.10"])
    renewed = await ensure_credentials(config, server=server, token=str(token),
                                       addresses=["172.31.255.10"])
    assert renewed.usable_for("node-b", ["172.31.255.10"], ca_hash=None) == ""
    assert renewed.client_cert.read_bytes() != first_cert


async def test_a_token_of_another_cluster_is_refused_before_anything_is_sent(
    api_server: APIServer, token: JoinToken, tmp_path: Path
) -> None:
    other = JoinToken("0" * 64, token.token_id, token.secret)
    with pytest.raises(BootstrapError, match="does not match the join token"):
        await ensure_credentials(node_config(tmp_path, "node-c"), server=api_server.config.url,
                                 token=str(other), addresses=["172.31.255.12"])
    assert not (tmp_path / "node-c" / "credentials" / "node.crt").exists()
