"""Authentication: who is making a request.

A chain of authenticators, tried in order; the first that recognises the request wins:

- client certificates signed by the cluster CA (verified by the TLS handshake): the subject's
  common name is the user, its organizations the groups;
- bearer tokens from a static token file (kube-apiserver's ``--token-auth-file`` format:
  ``token,user,uid,"group1,group2"``), and any other token authenticator added later
  (ServiceAccount tokens, bootstrap tokens).

Every authenticated user is also in ``system:authenticated``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from aiohttp import web
from cryptography import x509

from pilothouse import pki


@dataclass(frozen=True)
class UserInfo:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: dict[str, list[str]] = field(default_factory=dict, compare=False, hash=False)

    def with_authenticated_group(self) -> UserInfo:
        if "system:authenticated" in self.groups:
            return self
        return UserInfo(self.name, (*self.groups, "system:authenticated"), self.uid, self.extra)


class Authenticator(Protocol):
    def authenticate(self, request: web.Request) -> UserInfo | None: ...


class ClientCertificateAuthenticator:
    """Users from verified TLS client certificates. The identity is parsed once per
    connection, not once per request."""

    def __init__(self) -> None:
        self._by_connection: weakref.WeakKeyDictionary[object, UserInfo | None] = (
            weakref.WeakKeyDictionary()
        )

    def authenticate(self, request: web.Request) -> UserInfo | None:
        transport = request.transport
        if transport is None:
            return None
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return None
        if ssl_object in self._by_connection:
            return self._by_connection[ssl_object]
        der = ssl_object.getpeercert(binary_form=True)
        user = None
        if der:
            name, groups = pki.identity(x509.load_der_x509_certificate(der))
            user = UserInfo(name, tuple(groups)) if name else None
        self._by_connection[ssl_object] = user
        return user


class TokenAuthenticator:
    """Users from ``Authorization: Bearer <token>`` looked up in a static table."""

    def __init__(self, tokens: dict[str, UserInfo] | None = None):
        # Keyed by digest: a dictionary lookup on the digest leaks nothing useful about
        # the tokens through timing.
        self._by_digest = {_digest(t): user for t, user in (tokens or {}).items()}

    def add(self, token: str, user: UserInfo) -> None:
        self._by_digest[_digest(token)] = user

    @classmethod
    def from_file(cls, path: Path) -> TokenAuthenticator:
        tokens: dict[str, UserInfo] = {}
        if path.exists():
            for row in csv.reader(io.StringIO(path.read_text())):
                if len(row) < 2 or row[0].startswith("#"):
                    continue
                groups = tuple(g for g in (row[3].split(",") if len(row) > 3 else []) if g)
                tokens[row[0]] = UserInfo(row[1], groups, row[2] if len(row) > 2 else "")
        return cls(tokens)

    def authenticate(self, request: web.Request) -> UserInfo | None:
        token = bearer_token(request)
        if token is None:
            return None
        return self._by_digest.get(_digest(token))


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class AuthenticatorChain:
    def __init__(self, authenticators: Sequence[Authenticator]):
        self.authenticators = list(authenticators)

    def authenticate(self, request: web.Request) -> UserInfo | None:
        for authenticator in self.authenticators:
            user = authenticator.authenticate(request)
            if user is not None:
                return user.with_authenticated_group()
        return None
