"""Where the API server is and how to prove who we are: kubeconfig files and in-cluster
ServiceAccount credentials, turned into a TLS context and headers."""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

IN_CLUSTER_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class ClientConfig:
    server: str
    ca_pem: bytes | None = None
    cert_pem: bytes | None = None
    key_pem: bytes | None = None
    token: str | None = None
    insecure: bool = False
    user_agent: str = "pilothouse"

    @classmethod
    def from_kubeconfig(cls, path: Path | str, *, context: str | None = None,
                        user_agent: str = "pilothouse") -> ClientConfig:
        path = Path(path)
        try:
            document = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as e:
            raise ConfigError(f"cannot read kubeconfig {path}: {e}") from None
        context_name = context or document.get("current-context")
        ctx = _named(document.get("contexts"), context_name, "context", path)
        cluster = _named(document.get("clusters"), ctx.get("cluster"), "cluster", path)
        user = _named(document.get("users"), ctx.get("user"), "user", path)
        return cls(
            server=cluster["server"].rstrip("/"),
            ca_pem=_data(cluster, "certificate-authority", path.parent),
            cert_pem=_data(user, "client-certificate", path.parent),
            key_pem=_data(user, "client-key", path.parent),
            token=user.get("token"),
            insecure=bool(cluster.get("insecure-skip-tls-verify")),
            user_agent=user_agent,
        )

    @classmethod
    def in_cluster(cls, *, user_agent: str = "pilothouse") -> ClientConfig:
        host = os.environ.get("KUBERNETES_SERVICE_HOST")
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if not host:
            raise ConfigError("not running in a cluster: KUBERNETES_SERVICE_HOST is not set")
        return cls(
            server=f"https://{host}:{port}",
            ca_pem=(IN_CLUSTER_DIR / "ca.crt").read_bytes(),
            token=(IN_CLUSTER_DIR / "token").read_text().strip(),
            user_agent=user_agent,
        )

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.server.startswith("https://"):
            return None
        context = ssl.create_default_context()
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif self.ca_pem:
            context.load_verify_locations(cadata=self.ca_pem.decode())
        if self.cert_pem and self.key_pem:
            _load_client_pair(context, self.cert_pem, self.key_pem)
        return context

    def headers(self) -> dict[str, str]:
        headers = {"User-Agent": self.user_agent}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers


def _named(entries: list[dict] | None, name: str | None, what: str, path: Path) -> dict:
    for entry in entries or []:
        if entry.get("name") == name:
            return entry.get(what) or {}
    raise ConfigError(f"kubeconfig {path}: no {what} named {name!r}")


def _data(section: dict, field: str, base: Path) -> bytes | None:
    inline = section.get(f"{field}-data")
    if inline:
        return base64.b64decode(inline)
    file = section.get(field)
    if file:
        return (base / file).read_bytes()
    return None


def _load_client_pair(context: ssl.SSLContext, cert_pem: bytes, key_pem: bytes) -> None:
    # ssl only loads key pairs from files: write them to a private temporary file that is
    # removed as soon as they are loaded.
    with tempfile.NamedTemporaryFile("wb", suffix=".pem") as pair:
        os.chmod(pair.name, 0o600)
        pair.write(cert_pem + b"\n" + key_pem)
        pair.flush()
        context.load_cert_chain(pair.name)
