"""ServiceAccount tokens for projected volumes: cached, refreshed at 80% of their life."""

from __future__ import annotations

import pytest
from volume_fakes import FakeClient, make_pod

from pilothouse.api import errors
from pilothouse.kubelet.volumes.errors import SourceError
from pilothouse.kubelet.volumes.tokens import ServiceAccountTokens

PROJECTION = {"path": "token", "expirationSeconds": 1000}


@pytest.fixture
def tokens(client: FakeClient) -> ServiceAccountTokens:
    return ServiceAccountTokens(client=client, clock=client.clock)  # type: ignore[arg-type]


async def test_token_is_cached_until_80_percent_of_its_life(
        tokens: ServiceAccountTokens, client: FakeClient) -> None:
    pod = make_pod()
    first = await tokens.token_for(pod, PROJECTION)

    client.now += 799
    assert await tokens.token_for(pod, PROJECTION) == first
    client.now += 2
    assert await tokens.token_for(pod, PROJECTION) != first
    assert client.tokens_issued == 2


async def test_tokens_differ_per_audience_and_pod(tokens: ServiceAccountTokens, client: FakeClient) -> None:
    pod = make_pod()
    await tokens.token_for(pod, PROJECTION)
    await tokens.token_for(pod, {**PROJECTION, "audience": "vault"})
    await tokens.token_for(make_pod(uid="other"), PROJECTION)
    assert client.tokens_issued == 3
    assert client.calls[0] == ("create", "serviceaccounts/token", "default", "default")


async def test_failed_refresh_keeps_the_token_until_it_expires(
        tokens: ServiceAccountTokens, client: FakeClient) -> None:
    pod = make_pod()
    first = await tokens.token_for(pod, PROJECTION)
    client.token_failure = errors.ServiceUnavailable("try later")

    client.now += 900
    assert await tokens.token_for(pod, PROJECTION) == first
    client.now += 100
    with pytest.raises(SourceError, match='^token "default"/"default" expired and refresh failed: try later$'):
        await tokens.token_for(pod, PROJECTION)


async def test_forgotten_pods_get_new_tokens(tokens: ServiceAccountTokens, client: FakeClient) -> None:
    pod = make_pod()
    await tokens.token_for(pod, PROJECTION)
    tokens.forget_pod("uid-1")
    await tokens.token_for(pod, PROJECTION)
    assert client.tokens_issued == 2
