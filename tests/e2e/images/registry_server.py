"""Loopback registries for tests and benchmarks: Debian's ``docker-registry`` on 127.0.0.1.

Each registry gets a free port and its own storage directory, optionally htpasswd (bcrypt)
or token authentication and TLS with a certificate from a throwaway CA. It is stopped by its
PID. The token server is a small aiohttp app that signs RS256 JWTs the registry trusts
through ``rootcertbundle`` (the key id is libtrust's, which the registry matches on).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

REGISTRY_BINARY = "/usr/bin/docker-registry"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class TLSFiles:
    ca_cert: Path
    cert: Path
    key: Path


@dataclass
class LoopbackRegistry:
    process: subprocess.Popen[bytes]
    port: int
    storage: Path
    scheme: str

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def blob_data_path(self, digest: str) -> Path:
        hexdigest = digest.removeprefix("sha256:")
        return self.storage / "docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest / "data"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def bcrypt_htpasswd(users: dict[str, str]) -> str:
    # crypt is deprecated, but it is the only bcrypt in the standard library.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt as bcrypt_module

        salt = lambda: bcrypt_module.mksalt(bcrypt_module.METHOD_BLOWFISH, rounds=16)  # noqa: E731
        return "".join(f"{u}:{bcrypt_module.crypt(p, salt())}\n" for u, p in users.items())


def start_registry(
    workdir: Path,
    *,
    users: dict[str, str] | None = None,
    token: TokenServer | None = None,
    tls: TLSFiles | None = None,
) -> LoopbackRegistry:
    """Starts ``docker-registry`` on a free loopback port and waits until it answers."""
    workdir.mkdir(parents=True, exist_ok=True)
    storage = workdir / "storage"
    storage.mkdir(exist_ok=True)
    port = free_port()
    config: dict[str, object] = {
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": uuid.uuid4().hex},
    }
    if users is not None:
        htpasswd = workdir / "htpasswd"
        htpasswd.write_text(bcrypt_htpasswd(users))
        config["auth"] = {"htpasswd": {"realm": "pilothouse-test", "path": str(htpasswd)}}
    if token is not None:
        config["auth"] = {
            "token": {
                "realm": token.realm,
                "service": token.service,
                "issuer": token.issuer,
                "rootcertbundle": str(token.write_cert(workdir / "token-ca.pem")),
            }
        }
    if tls is not None:
        config["http"]["tls"] = {"certificate": str(tls.cert), "key": str(tls.key)}  # type: ignore[index]
    config_path = workdir / "config.yml"
    config_path.write_text(yaml.safe_dump(config))
    log = open(workdir / "registry.log", "wb")  # noqa: SIM115 (handed to the child process)
    process = subprocess.Popen([REGISTRY_BINARY, "serve", str(config_path)], stdout=log, stderr=log)
    log.close()
    scheme = "https" if tls is not None else "http"
    registry = LoopbackRegistry(process=process, port=port, storage=storage, scheme=scheme)
    try:
        _wait_until_serving(registry, tls)
    except BaseException:
        registry.stop()
        raise
    return registry


def _wait_until_serving(registry: LoopbackRegistry, tls: TLSFiles | None) -> None:
    import ssl

    context = ssl.create_default_context(cafile=str(tls.ca_cert)) if tls else None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if registry.process.poll() is not None:
            raise RuntimeError(f"docker-registry exited with {registry.process.returncode}")
        try:
            urllib.request.urlopen(f"{registry.scheme}://{registry.host}/v2/", timeout=1, context=context)
            return
        except urllib.error.HTTPError:
            return  # 401: serving, and wants authentication
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.02)
    raise RuntimeError("docker-registry did not start serving")


def make_tls_files(directory: Path) -> TLSFiles:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pilothouse test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = TLSFiles(ca_cert=directory / "ca.pem", cert=directory / "server.pem", key=directory / "server-key.pem")
    files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    return files


@dataclass
class TokenServer:
    """A bearer-token server: checks a user's password, signs the access it asked for."""

    users: dict[str, str]
    service: str = "pilothouse-test-registry"
    issuer: str = "pilothouse-test-issuer"
    port: int = field(default_factory=free_port)
    requests: list[dict[str, object]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._runner: web.AppRunner | None = None

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def write_cert(self, path: Path) -> Path:
        now = datetime.datetime.now(datetime.UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.issuer)])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(self._key, hashes.SHA256())
        )
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return path

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/token", self._token)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _token(self, request: web.Request) -> web.Response:
        account = None
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            if self.users.get(user) != password:
                return web.json_response({"details": "wrong credentials"}, status=401)
            account = user
        scopes = request.query.getall("scope", [])
        self.requests.append({"account": account, "scopes": scopes})
        access = []
        for scope in scopes:
            kind, name, actions = scope.split(":")
            if account is not None:
                access.append({"type": kind, "name": name, "actions": actions.split(",")})
        return web.json_response({"token": self._sign(account or "", access), "expires_in": 300})

    def _sign(self, subject: str, access: list[dict[str, object]]) -> str:
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "kid": libtrust_key_id(self._key.public_key())}
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(signature)}"


def libtrust_key_id(public_key: rsa.RSAPublicKey) -> str:
    """docker/libtrust's key id: base32 of the first 240 bits of sha256(DER), in groups of 4."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
