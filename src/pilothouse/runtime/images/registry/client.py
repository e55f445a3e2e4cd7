"""A client for one repository on one registry endpoint (OCI distribution API, aiohttp).

Opening a repository pings ``/v2/`` to choose the scheme (HTTPS, or plain HTTP for an
insecure registry that does not speak TLS) and to learn the authentication challenge before
any request with a body is sent. Every request carries the Authorization header for the
scopes it needs; a 401 is answered once by re-authenticating, a second 401 is an auth error.
Registry error bodies (``{"errors": [{"code", "message"}]}``) become the exception message.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from yarl import URL

from .. import mediatypes
from ..digests import sha256_digest
from ..errors import DigestMismatch, ManifestUnknown, RegistryAuthError, RegistryError
from .auth import Authenticator
from .config import Credentials, Endpoint, RegistryConfig

CONNECT_TIMEOUT = 30
READ_TIMEOUT = 300


class RegistrySession:
    """The HTTP session, TLS settings and authenticators shared by one pull or push."""

    def __init__(self, config: RegistryConfig, *, credentials: Credentials | None = None):
        self.config = config
        self.credentials = credentials
        self._session: aiohttp.ClientSession | None = None
        self._authenticators: dict[str, Authenticator] = {}
        self._schemes: dict[str, str] = {}

    async def __aenter__(self) -> RegistrySession:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT, sock_read=READ_TIMEOUT)
        self._session = aiohttp.ClientSession(timeout=timeout, auto_decompress=False)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._session is not None
        await self._session.close()

    @property
    def http(self) -> aiohttp.ClientSession:
        assert self._session is not None, "use RegistrySession as an async context manager"
        return self._session

    async def repository(self, endpoint: Endpoint, path: str, *, push: bool = False) -> RepositoryClient:
        client = RepositoryClient(self, endpoint, path, push=push)
        await client.ping()
        return client

    def ssl_for(self, endpoint: Endpoint, scheme: str) -> ssl.SSLContext | bool:
        if scheme == "http":
            return False
        tls = self.config.host_config(endpoint.host).tls
        if endpoint.allow_http_fallback or tls.insecure_skip_verify:
            return False
        context = ssl.create_default_context(cafile=str(tls.ca_file) if tls.ca_file else None)
        if tls.cert_file:
            context.load_cert_chain(str(tls.cert_file), str(tls.key_file) if tls.key_file else None)
        return context

    def authenticator(self, endpoint: Endpoint, ssl_setting: ssl.SSLContext | bool) -> Authenticator:
        authenticator = self._authenticators.get(endpoint.host)
        if authenticator is None:
            credentials = self.credentials if not endpoint.is_mirror else None
            credentials = credentials or self.config.host_config(endpoint.host).credentials
            authenticator = Authenticator(self.http, credentials=credentials, ssl=ssl_setting)
            self._authenticators[endpoint.host] = authenticator
        return authenticator


class RepositoryClient:
    """Manifests and blobs of one repository (``library/busybox``) at one endpoint."""

    def __init__(self, session: RegistrySession, endpoint: Endpoint, path: str, *, push: bool):
        self.session = session
        self.endpoint = endpoint
        self.path = path
        self.scheme = endpoint.scheme
        actions = "pull,push" if push else "pull"
        self.scopes: tuple[str, ...] = (f"repository:{path}:{actions}",)
        self._ssl: ssl.SSLContext | bool = session.ssl_for(endpoint, self.scheme)
        self._auth = session.authenticator(endpoint, self._ssl)

    @property
    def base_url(self) -> URL:
        return URL(f"{self.scheme}://{self.endpoint.host}{self.endpoint.path_prefix}")

    def url(self, suffix: str) -> URL:
        return URL(f"{self.base_url}/v2/{self.path}/{suffix}", encoded=True)

    async def ping(self) -> None:
        """Chooses the scheme and learns the auth challenge (``GET /v2/``)."""
        try:
            await self._ping_once()
        except aiohttp.ClientError as e:
            if not (self.endpoint.allow_http_fallback and self.scheme == "https"):
                raise RegistryError(f"cannot reach registry {self.endpoint.host}: {_describe(e)}") from None
            self.scheme = "http"
            self._ssl = False
            try:
                await self._ping_once()
            except aiohttp.ClientError as e2:
                raise RegistryError(f"cannot reach registry {self.endpoint.host}: {_describe(e2)}") from None

    async def _ping_once(self) -> None:
        async with self.session.http.get(f"{self.base_url}/v2/", ssl=self._ssl) as response:
            if response.status == 401:
                self._auth.learn(response.headers.get("WWW-Authenticate"))
            elif response.status >= 500:
                raise RegistryError(f"registry {self.endpoint.host} answered {response.status}", status=response.status)

    # -- requests ------------------------------------------------------------------------

    @asynccontextmanager
    async def request(
        self,
        method: str,
        url: URL | str,
        *,
        headers: dict[str, str] | None = None,
        data: Any = None,
        scopes: tuple[str, ...] | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """A request with authentication; yields the response if its status is in ``ok``."""
        scopes = scopes or self.scopes
        for attempt in (1, 2):
            all_headers = dict(headers or {})
            authorization = await self._auth.header(scopes)
            if authorization:
                all_headers["Authorization"] = authorization
            body = data() if callable(data) else data
            try:
                async with self.session.http.request(
                    method, url, headers=all_headers, data=body, ssl=self._ssl
                ) as response:
                    if response.status == 401 and attempt == 1:
                        self._auth.learn(response.headers.get("WWW-Authenticate"))
                        self._auth.forget_token(scopes)
                        continue
                    if response.status not in ok:
                        raise await _error_from(response, method, self.endpoint.host, self.path)
                    yield response
                    return
            except aiohttp.ClientError as e:
                raise RegistryError(f"{method} {url}: {_describe(e)}") from None

    # -- manifests -----------------------------------------------------------------------

    async def get_manifest(self, reference: str) -> tuple[bytes, str, str]:
        """The manifest's bytes, media type and digest; a digest reference is verified."""
        headers = {"Accept": ", ".join(mediatypes.ACCEPTED_MANIFEST_TYPES)}
        async with self.request("GET", self.url(f"manifests/{reference}"), headers=headers) as response:
            data = await response.read()
            content_type = response.headers.get("Content-Type", "")
            announced = response.headers.get("Docker-Content-Digest")
        digest = sha256_digest(data)
        if reference.startswith("sha256:") and digest != reference:
            raise DigestMismatch(f"manifest {reference}", reference, digest)
        if announced and announced.startswith("sha256:") and announced != digest:
            raise DigestMismatch(f"manifest {self.path}:{reference}", announced, digest)
        return data, content_type, digest

    async def put_manifest(self, reference: str, data: bytes, media_type: str) -> str:
        async with self.request(
            "PUT",
            self.url(f"manifests/{reference}"),
            headers={"Content-Type": media_type},
            data=data,
            ok=(200, 201, 202),
        ) as response:
            announced = response.headers.get("Docker-Content-Digest")
        digest = sha256_digest(data)
        if announced and announced != digest:
            raise RegistryError(f"registry stored manifest as {announced}, expected {digest}")
        return digest

    # -- blobs ---------------------------------------------------------------------------

    @asynccontextmanager
    async def get_blob(self, digest: str) -> AsyncIterator[aiohttp.ClientResponse]:
        async with self.request("GET", self.url(f"blobs/{digest}")) as response:
            yield response

    async def has_blob(self, digest: str) -> bool:
        async with self.request("HEAD", self.url(f"blobs/{digest}"), ok=(200, 404)) as response:
            return response.status == 200

    async def start_upload(self, *, mount: str | None = None, mount_from: str | None = None) -> URL | None:
        """Starts an upload; returns its location, or None if the blob was mounted."""
        url = self.url("blobs/uploads/")
        scopes = self.scopes
        if mount and mount_from:
            url = url.with_query({"mount": mount, "from": mount_from})
            scopes = (*self.scopes, f"repository:{mount_from}:pull")
        async with self.request("POST", url, scopes=scopes, ok=(201, 202)) as response:
            if response.status == 201:
                return None
            return self._location(response)

    async def upload_chunk(self, location: URL, chunk: bytes, offset: int) -> URL:
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Range": f"{offset}-{offset + len(chunk) - 1}",
        }
        async with self.request("PATCH", location, headers=headers, data=chunk, ok=(202,)) as response:
            return self._location(response)

    async def finish_upload(self, location: URL, digest: str, data: Any = None, size: int = 0) -> None:
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        url = location.update_query({"digest": digest})
        async with self.request("PUT", url, headers=headers, data=data, ok=(201, 204)):
            pass

    def _location(self, response: aiohttp.ClientResponse) -> URL:
        location = response.headers.get("Location")
        if not location:
            raise RegistryError("registry started an upload without a Location header")
        return self.base_url.join(URL(location, encoded=True))


async def _error_from(response: aiohttp.ClientResponse, method: str, host: str, path: str) -> RegistryError:
    detail = ""
    codes: list[str] = []
    try:
        document = await response.json(content_type=None)
        errors = document.get("errors") or []
        codes = [str(e.get("code", "")) for e in errors]
        detail = "; ".join(f"{e.get('code', '').lower()}: {e.get('message', '')}".strip(": ") for e in errors)
    except (ValueError, aiohttp.ContentTypeError, AttributeError):
        pass
    detail = detail or f"{response.status} {response.reason}"
    if response.status in (401, 403):
        return RegistryAuthError(f"{host}/{path}: access denied ({detail})", status=response.status)
    if "MANIFEST_UNKNOWN" in codes or (response.status == 404 and "/manifests/" in str(response.url)):
        return ManifestUnknown(f"{host}/{path}: manifest unknown ({detail})", status=response.status)
    if "NAME_UNKNOWN" in codes:
        return ManifestUnknown(f"{host}/{path}: repository does not exist ({detail})", status=response.status)
    return RegistryError(f"{method} {host}/{path}: {detail}", status=response.status)


def _describe(error: aiohttp.ClientError) -> str:
    if isinstance(error, aiohttp.ClientConnectorSSLError):
        return f"TLS handshake failed ({error.os_error}); for a plain-HTTP registry allow it as insecure"
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        return f"certificate not trusted ({error.certificate_error}); pass its CA file"
    if isinstance(error, aiohttp.ClientConnectorError):
        return str(error.os_error.strerror or error.os_error)
    return str(error) or type(error).__name__
