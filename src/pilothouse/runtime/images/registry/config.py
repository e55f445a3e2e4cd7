"""Registry settings: mirrors, credentials, TLS and which registries may be reached over HTTP.

The file format is k3s's ``registries.yaml``::

    mirrors:
      docker.io:
        endpoint: ["https://mirror.example.com:5000"]
      "127.0.0.1:5000":
        endpoint: ["http://127.0.0.1:5000"]      # plain HTTP only when written so
    configs:
      "mirror.example.com:5000":
        auth: {username: u, password: p}         # or auth: <base64 user:pass>
        tls: {ca_file: /path/ca.crt, cert_file: ..., key_file: ..., insecure_skip_verify: false}

Mirrors are tried in order, then the registry itself (``docker.io`` is
``registry-1.docker.io``). HTTPS is the default everywhere; plain HTTP is used only for an
``http://`` mirror endpoint or a registry listed in ``insecure`` (``--insecure`` on the
command line), for which HTTPS is tried first, as Docker does.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ImageError
from ..reference import DEFAULT_DOMAIN

DOCKER_HUB_ENDPOINT = "registry-1.docker.io"


@dataclass(frozen=True)
class Credentials:
    username: str = ""
    password: str = ""

    @classmethod
    def parse(cls, text: str) -> Credentials:
        """``user:password`` as given to ``--creds``."""
        username, colon, password = text.partition(":")
        if not colon or not username:
            raise ImageError("credentials must be given as USERNAME:PASSWORD")
        return cls(username=username, password=password)


@dataclass(frozen=True)
class TLSConfig:
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure_skip_verify: bool = False


@dataclass(frozen=True)
class HostConfig:
    credentials: Credentials | None = None
    tls: TLSConfig = field(default_factory=TLSConfig)


@dataclass(frozen=True)
class Endpoint:
    """One place to fetch a registry's content from."""

    host: str  # host[:port], the key of its HostConfig
    scheme: str  # "https" or "http"
    allow_http_fallback: bool  # an insecure registry: HTTPS first, then plain HTTP
    is_mirror: bool = False
    path_prefix: str = ""  # a mirror's endpoint may carry a path before /v2


@dataclass(frozen=True)
class RegistryConfig:
    mirrors: dict[str, tuple[str, ...]] = field(default_factory=dict)
    hosts: dict[str, HostConfig] = field(default_factory=dict)
    insecure: frozenset[str] = frozenset()

    def host_config(self, host: str) -> HostConfig:
        return self.hosts.get(host) or HostConfig()

    def endpoints(self, domain: str, *, insecure: bool = False) -> list[Endpoint]:
        """Where to pull ``domain``'s images from, in order: its mirrors, then itself."""
        urls = self.mirrors.get(domain) or self.mirrors.get("*", ())
        endpoints = [_mirror_endpoint(url) for url in urls]
        direct = self.push_endpoint(domain, insecure=insecure)
        if not any(e.host == direct.host and not e.path_prefix for e in endpoints):
            endpoints.append(direct)
        return endpoints

    def push_endpoint(self, domain: str, *, insecure: bool = False) -> Endpoint:
        """The registry itself (pushes never go to a mirror)."""
        host = DOCKER_HUB_ENDPOINT if domain == DEFAULT_DOMAIN else domain
        over_http = any(
            url.rstrip("/") in (f"http://{domain}", f"http://{domain}/v2")
            for url in self.mirrors.get(domain, ())
        )
        plain = insecure or over_http or domain in self.insecure or host in self.insecure
        return Endpoint(host=host, scheme="https", allow_http_fallback=plain)


def _mirror_endpoint(url: str) -> Endpoint:
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "https", url
    if scheme not in ("http", "https"):
        raise ImageError(f"registry endpoint {url!r}: scheme must be http or https")
    host, _, path = rest.partition("/")
    path = path.strip("/")
    if path == "v2":
        path = ""
    return Endpoint(
        host=host,
        scheme=scheme,
        allow_http_fallback=False,
        is_mirror=True,
        path_prefix=f"/{path}" if path else "",
    )


def load_registries_yaml(path: Path) -> RegistryConfig:
    """Reads a k3s-style ``registries.yaml``; a missing file means no settings."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return RegistryConfig()
    import yaml  # only for an existing file: yaml is slow to import, and most stores have none

    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise ImageError(f"{path}: invalid YAML: {e}") from None
    if not isinstance(document, dict):
        raise ImageError(f"{path}: expected a mapping with mirrors and configs")
    mirrors = {
        str(name): tuple(str(u) for u in (spec or {}).get("endpoint") or ())
        for name, spec in (document.get("mirrors") or {}).items()
    }
    hosts = {str(name): _host_config(path, str(name), spec or {}) for name, spec in (document.get("configs") or {}).items()}
    insecure = frozenset(str(h) for h in document.get("insecure") or ())
    return RegistryConfig(mirrors=mirrors, hosts=hosts, insecure=insecure)


def _host_config(path: Path, name: str, spec: dict[str, Any]) -> HostConfig:
    auth = spec.get("auth") or {}
    credentials = None
    if auth:
        username, password = auth.get("username", ""), auth.get("password", "")
        if auth.get("auth"):
            try:
                username, _, password = base64.b64decode(auth["auth"]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise ImageError(f"{path}: configs.{name}.auth.auth is not base64 user:password") from None
        credentials = Credentials(username, password)
    tls = spec.get("tls") or {}
    return HostConfig(
        credentials=credentials,
        tls=TLSConfig(
            ca_file=Path(tls["ca_file"]) if tls.get("ca_file") else None,
            cert_file=Path(tls["cert_file"]) if tls.get("cert_file") else None,
            key_file=Path(tls["key_file"]) if tls.get("key_file") else None,
            insecure_skip_verify=bool(tls.get("insecure_skip_verify", False)),
        ),
    )
