"""Registry authentication: the ``WWW-Authenticate`` challenge flow of the distribution spec.

A registry answers an unauthenticated request with 401 and a challenge. ``Basic`` means send
the credentials with every request. ``Bearer realm=...,service=...,scope=...`` means fetch a
token from the realm (with the credentials as HTTP Basic, or anonymously when there are
none) for the scopes needed and send it as ``Authorization: Bearer``. Tokens are cached per
scope set for their lifetime.
"""

from __future__ import annotations

import base64
import re
import ssl
import time
from dataclasses import dataclass, field

import aiohttp
from yarl import URL

from ..errors import RegistryAuthError, RegistryError
from .config import Credentials

_PARAM_RE = re.compile(r'\s*([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?')
DEFAULT_TOKEN_LIFETIME = 60


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "basic" or "bearer", lower case
    params: dict[str, str] = field(default_factory=dict)


def parse_challenge(header: str) -> Challenge:
    """Parses one ``WWW-Authenticate`` value: ``Bearer realm="...",service="..."``."""
    scheme, _, rest = header.strip().partition(" ")
    params = {}
    position = 0
    while position < len(rest):
        match = _PARAM_RE.match(rest, position)
        if match is None or match.end() == position:
            break
        key, quoted, bare = match.groups()
        params[key.lower()] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        position = match.end()
    return Challenge(scheme=scheme.lower(), params=params)


def basic_header(credentials: Credentials) -> str:
    token = base64.b64encode(f"{credentials.username}:{credentials.password}".encode()).decode()
    return f"Basic {token}"


class Authenticator:
    """Produces the Authorization header for one registry host, answering its challenges."""

    def __init__(
        self, session: aiohttp.ClientSession, *, credentials: Credentials | None, ssl: ssl.SSLContext | bool
    ):
        self._session = session
        self._credentials = credentials
        self._ssl = ssl
        self._challenge: Challenge | None = None
        self._tokens: dict[tuple[str, ...], tuple[str, float]] = {}

    @property
    def has_challenge(self) -> bool:
        return self._challenge is not None

    def learn(self, header: str | None) -> None:
        """Remembers the challenge of a 401 answer."""
        if not header:
            raise RegistryAuthError("the registry answered 401 without a WWW-Authenticate challenge", status=401)
        challenge = parse_challenge(header)
        if challenge.scheme not in ("basic", "bearer"):
            raise RegistryAuthError(f"unsupported authentication scheme {challenge.scheme!r}", status=401)
        self._challenge = challenge

    def forget_token(self, scopes: tuple[str, ...]) -> None:
        self._tokens.pop(scopes, None)

    async def header(self, scopes: tuple[str, ...]) -> str | None:
        """The Authorization value for a request needing ``scopes`` (None if none is needed)."""
        challenge = self._challenge
        if challenge is None:
            return None
        if challenge.scheme == "basic":
            if self._credentials is None:
                raise RegistryAuthError("authentication required: the registry wants a username and password", status=401)
            return basic_header(self._credentials)
        cached = self._tokens.get(scopes)
        if cached is not None and cached[1] > time.monotonic():
            return f"Bearer {cached[0]}"
        token, lifetime = await self._fetch_token(challenge, scopes)
        self._tokens[scopes] = (token, time.monotonic() + max(lifetime - 10, 1))
        return f"Bearer {token}"

    async def _fetch_token(self, challenge: Challenge, scopes: tuple[str, ...]) -> tuple[str, int]:
        realm = challenge.params.get("realm")
        if not realm:
            raise RegistryAuthError("bearer challenge without a realm", status=401)
        query: list[tuple[str, str]] = []
        if challenge.params.get("service"):
            query.append(("service", challenge.params["service"]))
        query += [("scope", scope) for scope in scopes]
        headers = {}
        if self._credentials is not None:
            if self._credentials.username:
                query.append(("account", self._credentials.username))
            headers["Authorization"] = basic_header(self._credentials)
        url = URL(realm).extend_query(query)
        try:
            async with self._session.get(url, headers=headers, ssl=self._ssl) as response:
                if response.status in (401, 403):
                    raise RegistryAuthError(
                        f"the token server {URL(realm).host} refused the credentials "
                        f"({response.status} {response.reason})",
                        status=response.status,
                    )
                if response.status != 200:
                    raise RegistryError(f"token server answered {response.status} {response.reason}", status=response.status)
                document = await response.json(content_type=None)
        except aiohttp.ClientError as e:
            raise RegistryError(f"cannot reach the token server {realm}: {e}") from None
        token = document.get("token") or document.get("access_token")
        if not token:
            raise RegistryAuthError("the token server answered without a token", status=401)
        return token, int(document.get("expires_in") or DEFAULT_TOKEN_LIFETIME)
