"""Join tokens (k3s' K10 format) and the checks that decide whether stored node credentials
can be reused."""

from __future__ import annotations

import datetime
from pathlib import Path

import orjson
import pytest

from pilothouse import pki
from pilothouse.client import ClientConfig
from pilothouse.kubelet.bootstrap import JoinToken, NodeCredentials, ca_bundle_hash

HASH = "ab" * 32


def test_a_token_round_trips() -> None:
    token = JoinToken.parse(f"K10{HASH}::abcdef.0123456789abcdef\n")
    assert (token.ca_hash, token.token_id, token.secret) == (HASH, "abcdef", "0123456789abcdef")
    assert token.bearer == "abcdef.0123456789abcdef"
    assert str(token) == f"K10{HASH}::abcdef.0123456789abcdef"


def test_generated_tokens_are_bootstrap_tokens_pinning_the_ca() -> None:
    token = JoinToken.generate(b"the CA bundle")
    assert token.ca_hash == ca_bundle_hash(b"the CA bundle")
    assert JoinToken.parse(str(token)) == token
    assert JoinToken.generate(b"x").secret != JoinToken.generate(b"x").secret


@pytest.mark.parametrize("text", [
    "", "abcdef.0123456789abcdef", f"{HASH}::abcdef.0123456789abcdef",
    f"K10{HASH[:-1]}::abcdef.0123456789abcdef", f"K10{HASH}::abcdef0123456789abcdef",
    f"K10{HASH}::ABCDEF.0123456789abcdef", f"K10{HASH}::abcde.0123456789abcdef",
    f"K10{'zz' * 32}::abcdef.0123456789abcdef", f"K10{HASH}::server:password",
])
def test_malformed_tokens_are_refused_with_the_expected_shape(text: str) -> None:
    with pytest.raises(ValueError, match="K10<64 hex digits>"):
        JoinToken.parse(text)


def issue_credentials(directory: Path, ca: pki.KeyPair, *, name: str = "n1",
                      addresses: tuple[str, ...] = ("10.1.0.5",),
                      lifetime: datetime.timedelta = pki.CERT_LIFETIME) -> NodeCredentials:
    credentials = NodeCredentials(directory)
    client = pki.issue(ca, common_name=f"system:node:{name}", organizations=["system:nodes"],
                       client=True, lifetime=lifetime)
    serving = pki.issue(ca, common_name=f"system:node:{name}", organizations=["system:nodes"],
                        server_names=[name, *addresses])
    assert isinstance(client, pki.KeyPair) and isinstance(serving, pki.KeyPair)
    pki.write_file(credentials.ca_file, ca.cert_pem, mode=0o644)
    client.write(credentials.client_cert, credentials.client_key)
    serving.write(credentials.serving_cert, credentials.serving_key)
    pki.write_file(credentials.cluster_file, orjson.dumps({
        "clusterCIDR": "10.244.0.0/16", "serviceCIDR": "10.96.0.0/12",
        "clusterDNS": ["10.96.0.10"], "clusterDomain": "cluster.local"}), mode=0o644)
    return credentials


def test_fitting_credentials_are_reused(tmp_path: Path) -> None:
    ca = pki.create_ca()
    credentials = issue_credentials(tmp_path, ca)
    assert credentials.usable_for("n1", ["10.1.0.5"], ca_hash=None) == ""
    assert credentials.usable_for("n1", [], ca_hash=ca_bundle_hash(ca.cert_pem)) == ""


@pytest.mark.parametrize(("change", "problem"), [
    ({"name": "n2"}, "is not the identity of node n1"),
    ({"addresses": ("10.1.0.6",)}, "does not cover 10.1.0.5"),
    ({"lifetime": datetime.timedelta(days=3)}, "the client certificate expires at"),
], ids=["other-node", "other-address", "expiring"])
def test_credentials_that_do_not_fit_are_not_reused(
    tmp_path: Path, change: dict, problem: str
) -> None:
    credentials = issue_credentials(tmp_path, pki.create_ca(), **change)
    assert problem in credentials.usable_for("n1", ["10.1.0.5"], ca_hash=None)


def test_certificates_of_another_ca_or_a_token_of_another_cluster_are_not_reused(
    tmp_path: Path,
) -> None:
    credentials = issue_credentials(tmp_path, pki.create_ca())
    assert credentials.usable_for("n1", [], ca_hash="0" * 64) == (
        "the join token names another cluster CA")
    pki.write_file(credentials.ca_file, pki.create_ca().cert_pem, mode=0o644)
    assert credentials.usable_for("n1", [], ca_hash=None) == (
        "the client certificate was not issued by the stored cluster CA")


def test_nothing_stored_yet(tmp_path: Path) -> None:
    assert NodeCredentials(tmp_path).usable_for("n1", [], ca_hash=None) == "no credentials yet"


def test_the_kubeconfig_names_the_credential_files(tmp_path: Path) -> None:
    credentials = issue_credentials(tmp_path, pki.create_ca())
    credentials.write_kubeconfig("https://10.0.0.1:6443", "n1")
    config = ClientConfig.from_kubeconfig(credentials.kubeconfig)
    assert config.server == "https://10.0.0.1:6443"
    assert config.cert_pem == credentials.client_cert.read_bytes()
    assert credentials.kubeconfig.stat().st_mode & 0o777 == 0o600
