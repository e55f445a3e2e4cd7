"""The cluster's certificates on disk (DATA_DIR/tls) and the admin kubeconfig.

The first start creates a CA, a serving certificate and an admin client certificate (group
``system:masters``); later starts reuse them. The serving certificate is reissued (by the same
CA) when the names it must cover change, e.g. a new ``--bind-address``.
"""

from __future__ import annotations

import base64
import ipaddress
from pathlib import Path

import yaml
from cryptography import x509

from pilothouse import pki


class ClusterPKI:
    def __init__(self, directory: Path):
        self.directory = directory
        self.ca_cert = directory / "ca.crt"
        self.ca_key = directory / "ca.key"
        self.serving_cert = directory / "serving.crt"
        self.serving_key = directory / "serving.key"
        self.admin_cert = directory / "admin.crt"
        self.admin_key = directory / "admin.key"

    def ensure(self, *, server_names: list[str]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.ca_cert.exists() and self.ca_key.exists():
            ca = pki.KeyPair.read(self.ca_cert, self.ca_key)
        else:
            ca = pki.create_ca("pilothouse-ca")
            ca.write(self.ca_cert, self.ca_key)
            for stale in (self.serving_cert, self.admin_cert):
                stale.unlink(missing_ok=True)
        if not self._covers(server_names):
            serving = pki.issue(ca, common_name="kube-apiserver", server_names=server_names)
            assert isinstance(serving, pki.KeyPair)
            serving.write(self.serving_cert, self.serving_key)
        if not (self.admin_cert.exists() and self.admin_key.exists()):
            admin = pki.issue(ca, common_name="admin", organizations=["system:masters"], client=True)
            assert isinstance(admin, pki.KeyPair)
            admin.write(self.admin_cert, self.admin_key)

    def client_credentials(self, common_name: str, groups: tuple[str, ...] = ()) -> pki.KeyPair:
        """A client certificate for an in-process component (kept in the tls folder)."""
        stem = common_name.replace(":", "-")
        cert, key = self.directory / f"{stem}.crt", self.directory / f"{stem}.key"
        if cert.exists() and key.exists():
            return pki.KeyPair.read(cert, key)
        pair = pki.issue(self.ca(), common_name=common_name, organizations=groups, client=True)
        assert isinstance(pair, pki.KeyPair)
        pair.write(cert, key)
        return pair

    def ca(self) -> pki.KeyPair:
        return pki.KeyPair.read(self.ca_cert, self.ca_key)

    def _covers(self, names: list[str]) -> bool:
        if not (self.serving_cert.exists() and self.serving_key.exists()):
            return False
        cert = x509.load_pem_x509_certificate(self.serving_cert.read_bytes())
        try:
            sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return False
        have = {str(n) for n in sans.get_values_for_type(x509.DNSName)}
        have |= {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}
        wanted = {str(ipaddress.ip_address(n)) if _is_ip(n) else n for n in names}
        return wanted <= have

    def write_kubeconfig(self, path: Path, *, server: str, user: str = "admin") -> None:
        config = kubeconfig(
            server=server,
            ca_pem=self.ca_cert.read_bytes(),
            cert_pem=self.admin_cert.read_bytes(),
            key_pem=self.admin_key.read_bytes(),
            user=user,
        )
        pki.write_file(path, config.encode(), mode=0o600)


def kubeconfig(*, server: str, ca_pem: bytes, cert_pem: bytes | None = None,
               key_pem: bytes | None = None, token: str | None = None,
               user: str = "admin", cluster: str = "pilothouse") -> str:
    credentials: dict[str, str] = {}
    if cert_pem is not None and key_pem is not None:
        credentials["client-certificate-data"] = base64.b64encode(cert_pem).decode()
        credentials["client-key-data"] = base64.b64encode(key_pem).decode()
    if token is not None:
        credentials["token"] = token
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {
            "server": server,
            "certificate-authority-data": base64.b64encode(ca_pem).decode(),
        }}],
        "users": [{"name": user, "user": credentials}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user}}],
        "current-context": cluster,
        "preferences": {},
    }
    return yaml.safe_dump(document, sort_keys=False)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
