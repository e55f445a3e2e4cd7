"""ServiceAccount tokens for projected volumes, as the kubelet's token manager keeps them.

A token is requested with TokenRequest (POST serviceaccounts/<name>/token) bound to the pod,
then served from a cache until it needs refreshing: when 80% of its lifetime has passed or
it is older than 24 hours. A failed refresh keeps serving the cached token until it expires.
Upstream adds up to 10 s of random jitter to the refresh time to spread load; refresh here
happens whenever the kubelet calls ``refresh``, which already spreads it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pilothouse.api.patch.gojson import quote
from pilothouse.client import APIClient
from pilothouse.kubelet.volumes.errors import API_FAILURES, SourceError

Obj = dict[str, Any]

_MAX_TTL_SECONDS = 24 * 3600
_DEFAULT_EXPIRATION_SECONDS = 3600


@dataclass(frozen=True)
class _Token:
    token: str
    expires_at: float  # seconds since the epoch
    lifetime: int  # seconds


class ServiceAccountTokens:
    def __init__(self, *, client: APIClient, clock: Callable[[], float] = time.time):
        self._client = client
        self._clock = clock
        self._tokens: dict[tuple[Any, ...], _Token] = {}

    async def token_for(self, pod: Obj, projection: Obj) -> str:
        """The token a ``serviceAccountToken`` projection of ``pod`` publishes."""
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
        namespace = meta.get("namespace") or "default"
        audiences = [projection["audience"]] if projection.get("audience") else []
        seconds = int(projection.get("expirationSeconds") or _DEFAULT_EXPIRATION_SECONDS)
        key = (namespace, account, tuple(audiences), seconds, meta.get("name"), meta.get("uid"))
        cached = self._tokens.get(key)
        if cached is not None and not self._requires_refresh(cached):
            return cached.token
        try:
            issued = await self._request(pod, namespace, account, audiences, seconds)
        except API_FAILURES as error:
            if cached is None:
                raise SourceError(f"failed to fetch token: {error}") from None
            if self._clock() >= cached.expires_at:
                raise SourceError(f"token {quote(account)}/{quote(namespace)} expired and "
                                  f"refresh failed: {error}") from None
            return cached.token
        self._tokens[key] = issued
        return issued.token

    def forget_pod(self, pod_uid: str) -> None:
        for key in [k for k in self._tokens if k[-1] == pod_uid]:
            del self._tokens[key]

    async def _request(self, pod: Obj, namespace: str, account: str, audiences: list[str],
                       seconds: int) -> _Token:
        meta = pod.get("metadata") or {}
        spec: Obj = {
            "expirationSeconds": seconds,
            "boundObjectRef": {"apiVersion": "v1", "kind": "Pod",
                               "name": meta.get("name"), "uid": meta.get("uid")},
        }
        if audiences:
            spec["audiences"] = audiences
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}
        response = await self._client["serviceaccounts"].create_subresource(
            account, "token", body, namespace=namespace)
        status = response.get("status") or {}
        expires = datetime.fromisoformat(status["expirationTimestamp"]).timestamp()
        lifetime = int((response.get("spec") or {}).get("expirationSeconds") or seconds)
        return _Token(status["token"], expires, lifetime)

    def _requires_refresh(self, token: _Token) -> bool:
        now = self._clock()
        issued_at = token.expires_at - token.lifetime
        return now > issued_at + _MAX_TTL_SECONDS or now > token.expires_at - token.lifetime // 5
