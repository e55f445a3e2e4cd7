"""Push to and pull from Debian's docker-registry on loopback: auth, TLS, tampering, lists."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from image_factory import make_image, random_layers
from registry_server import LoopbackRegistry, TokenServer, make_tls_files, start_registry

from pilothouse.runtime.images import mediatypes
from pilothouse.runtime.images.errors import (
    DigestMismatch,
    ManifestUnknown,
    NoMatchingPlatform,
    RegistryAuthError,
    RegistryError,
)
from pilothouse.runtime.images.manifests import Platform, encode_json
from pilothouse.runtime.images.registry import push as push_module
from pilothouse.runtime.images.registry.client import RegistrySession
from pilothouse.runtime.images.registry.config import (
    Credentials,
    Endpoint,
    HostConfig,
    RegistryConfig,
    TLSConfig,
)
from pilothouse.runtime.images.registry.pull import pull_image
from pilothouse.runtime.images.store import ImageStore


class RecordingProgress:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def update(self, item: str, status: str, current: int = 0, total: int | None = None) -> None:
        self.events.append((item, status))

    def statuses(self) -> set[str]:
        return {status for _, status in self.events}


def fresh_store(tmp_path: Path, name: str) -> ImageStore:
    return ImageStore(tmp_path / name / "images")


async def test_push_then_pull_round_trip(store: ImageStore, tmp_path: Path, registry: LoopbackRegistry) -> None:
    ref = f"{registry.host}/team/app:v1"
    image = make_image(store, random_layers(3, 50_000), tags=[ref], config={"Cmd": ["app"], "User": "1000"})
    digest = await store.push(ref, insecure=True)
    assert store.get(image.id).repo_digests == [f"{registry.host}/team/app@{digest}"]

    other = fresh_store(tmp_path, "other")
    progress = RecordingProgress()
    pulled = await other.pull(ref, insecure=True, progress=progress)
    assert (pulled.id, pulled.manifest_digest, pulled.diff_ids) == (image.id, digest, image.diff_ids)
    assert pulled.repo_tags == [ref]
    assert pulled.config == {"Cmd": ["app"], "User": "1000"}
    assert pulled.size == image.size == 150_000
    for ours, theirs in zip(store.layer_dirs(image), other.layer_dirs(pulled), strict=True):
        assert sorted(os.listdir(ours / "data")) == sorted(os.listdir(theirs / "data"))
    assert {"Pulling fs layer", "Download complete", "Pull complete"} <= progress.statuses()
    assert other.resolve(f"{registry.host}/team/app@{digest}").id == image.id


async def test_layers_already_present_are_not_downloaded(
    store: ImageStore, tmp_path: Path, registry: LoopbackRegistry
) -> None:
    base = random_layers(1, 20_000)
    first = make_image(store, base, tags=[f"{registry.host}/x/one:v1"])
    second = make_image(store, [*base, {"extra": b"e"}], tags=[f"{registry.host}/x/two:v1"])
    await store.push(f"{registry.host}/x/one:v1", insecure=True)
    await store.push(f"{registry.host}/x/two:v1", insecure=True)

    other = fresh_store(tmp_path, "other")
    await other.pull(f"{registry.host}/x/one:v1", insecure=True)
    progress = RecordingProgress()
    await other.pull(f"{registry.host}/x/two:v1", insecure=True, progress=progress)
    shared = first.manifest_digest and store.manifest(first).layers[0].digest[7:19]
    assert (shared, "Already exists") in progress.events
    assert (shared, "Pulling fs layer") not in progress.events
    again = RecordingProgress()
    await other.pull(f"{registry.host}/x/two:v1", insecure=True, progress=again)
    assert "Pulling fs layer" not in again.statuses()
    assert second.id == other.resolve(f"{registry.host}/x/two:v1").id


async def test_second_push_skips_blobs_and_mounts_across_repositories(
    store: ImageStore, tmp_path: Path, registry: LoopbackRegistry
) -> None:
    ref = f"{registry.host}/src/app:v1"
    make_image(store, random_layers(2, 10_000), tags=[ref])
    await store.push(ref, insecure=True)
    again = RecordingProgress()
    await store.push(ref, insecure=True, progress=again)
    assert again.statuses() >= {"Layer already exists"} and "Pushing" not in again.statuses()

    other = fresh_store(tmp_path, "other")
    await other.pull(ref, insecure=True)
    other.tag(ref, f"{registry.host}/dst/app:v1")
    mounted = RecordingProgress()
    await other.push(f"{registry.host}/dst/app:v1", insecure=True, progress=mounted)
    assert "Mounted from src/app" in mounted.statuses()
    assert "Pushing" not in mounted.statuses()


async def test_chunked_upload(
    store: ImageStore, tmp_path: Path, registry: LoopbackRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(push_module, "MONOLITHIC_LIMIT", 1000)
    monkeypatch.setattr(push_module, "CHUNK_SIZE", 4096)
    ref = f"{registry.host}/chunked/app:v1"
    image = make_image(store, random_layers(1, 30_000), tags=[ref])
    await store.push(ref, insecure=True)
    pulled = await fresh_store(tmp_path, "other").pull(ref, insecure=True)
    assert pulled.id == image.id


async def test_unknown_image_and_plain_http_without_insecure(store: ImageStore, registry: LoopbackRegistry) -> None:
    with pytest.raises(ManifestUnknown):
        await store.pull(f"{registry.host}/no/such:image", insecure=True)
    with pytest.raises(RegistryError, match="TLS"):
        await store.pull(f"{registry.host}/no/such:image")
    assert store.list() == []


@pytest.mark.parametrize("damage", ["corrupt", "truncate"])
async def test_tampered_blob_is_rejected_and_nothing_stored(
    store: ImageStore, tmp_path: Path, registry: LoopbackRegistry, damage: str
) -> None:
    ref = f"{registry.host}/bad/app:v1"
    image = make_image(store, random_layers(2, 30_000), tags=[ref])
    await store.push(ref, insecure=True)
    victim = registry.blob_data_path(store.manifest(image).layers[1].digest)
    data = victim.read_bytes()
    victim.write_bytes(data[:100] + bytes([data[100] ^ 0xFF]) + data[101:] if damage == "corrupt" else data[:-1000])

    other = fresh_store(tmp_path, "other")
    with pytest.raises(DigestMismatch):
        await other.pull(ref, insecure=True)
    assert other.list() == []
    assert list(other.blobs.digests()) == []
    assert list(other.layers.diff_ids()) == []
    assert os.listdir(other.blobs.ingest_dir) == []


async def test_manifest_list_picks_this_platform(store: ImageStore, tmp_path: Path, registry: LoopbackRegistry) -> None:
    repo = f"{registry.host}/multi/app"
    amd64 = make_image(store, [{"arch": b"amd64"}], tags=[f"{repo}:amd64"])
    arm64 = make_image(store, [{"arch": b"arm64"}], tags=[f"{repo}:arm64"], architecture="arm64")
    await store.push(f"{repo}:amd64", insecure=True)
    await store.push(f"{repo}:arm64", insecure=True)
    index = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_INDEX,
        "manifests": [
            {
                "mediaType": mediatypes.OCI_MANIFEST,
                "digest": image.manifest_digest,
                "size": len(store.manifest_bytes(image)),
                "platform": platform,
            }
            for image, platform in [
                (arm64, {"os": "linux", "architecture": "arm64", "variant": "v8"}),
                (amd64, {"os": "linux", "architecture": "amd64"}),
            ]
        ],
    }
    async with RegistrySession(RegistryConfig()) as session:
        endpoint = Endpoint(host=registry.host, scheme="http", allow_http_fallback=False)
        client = await session.repository(endpoint, "multi/app", push=True)
        index_digest = await client.put_manifest("latest", encode_json(index), mediatypes.OCI_INDEX)

    other = fresh_store(tmp_path, "other")
    pulled = await other.pull(f"{repo}:latest", insecure=True)
    assert pulled.id == amd64.id
    assert pulled.index_digest == index_digest
    assert pulled.repo_digests == [f"{repo}@{index_digest}"]
    assert other.resolve(f"{repo}@{index_digest}").id == amd64.id
    with pytest.raises(NoMatchingPlatform, match="linux/s390x"):
        await pull_image(
            other, f"{repo}:latest", auth=None, insecure=True, progress=None,
            config=RegistryConfig(), platform=Platform("linux", "s390x"),
        )
    arm = await pull_image(
        other, f"{repo}:latest", auth=None, insecure=True, progress=None,
        config=RegistryConfig(), platform=Platform("linux", "arm64"),
    )
    assert arm.id == arm64.id


async def test_mirror_serves_docker_hub_names(store: ImageStore, tmp_path: Path, registry: LoopbackRegistry) -> None:
    image = make_image(store, [{"f": b"x"}], tags=[f"{registry.host}/library/mirrored:1"])
    await store.push(f"{registry.host}/library/mirrored:1", insecure=True)
    dead = f"http://127.0.0.1:{_unused_port()}"
    config = RegistryConfig(mirrors={"docker.io": (dead, f"http://{registry.host}")})
    other = fresh_store(tmp_path, "other")
    pulled = await other.pull("mirrored:1", registry_config=config)
    assert pulled.id == image.id
    assert other.resolve("mirrored:1").repo_tags == ["docker.io/library/mirrored:1"]


def _unused_port() -> int:
    from registry_server import free_port

    return free_port()


# -- authentication and TLS --------------------------------------------------------------


@pytest.fixture
def basic_registry(tmp_path: Path) -> Iterator[LoopbackRegistry]:
    server = start_registry(tmp_path / "basic-registry", users={"alice": "s3cret"})
    yield server
    server.stop()


async def test_basic_auth(store: ImageStore, tmp_path: Path, basic_registry: LoopbackRegistry) -> None:
    ref = f"{basic_registry.host}/private/app:v1"
    image = make_image(store, [{"f": b"private"}], tags=[ref])
    alice = Credentials("alice", "s3cret")
    with pytest.raises(RegistryAuthError):
        await store.push(ref, insecure=True)
    await store.push(ref, insecure=True, auth=alice)
    other = fresh_store(tmp_path, "other")
    with pytest.raises(RegistryAuthError):
        await other.pull(ref, insecure=True)
    with pytest.raises(RegistryAuthError):
        await other.pull(ref, insecure=True, auth=Credentials("alice", "wrong"))
    assert other.list() == []
    configured = RegistryConfig(hosts={basic_registry.host: HostConfig(credentials=alice)})
    assert (await other.pull(ref, insecure=True, registry_config=configured)).id == image.id


@pytest.fixture
async def token_registry(tmp_path: Path) -> AsyncIterator[tuple[LoopbackRegistry, TokenServer]]:
    tokens = TokenServer(users={"bob": "hunter2"})
    await tokens.start()
    try:
        server = start_registry(tmp_path / "token-registry", token=tokens)
        yield server, tokens
        server.stop()
    finally:
        await tokens.stop()


async def test_bearer_token_auth(
    store: ImageStore, tmp_path: Path, token_registry: tuple[LoopbackRegistry, TokenServer]
) -> None:
    registry, tokens = token_registry
    ref = f"{registry.host}/tok/app:v1"
    image = make_image(store, random_layers(2, 5_000), tags=[ref])
    bob = Credentials("bob", "hunter2")
    await store.push(ref, insecure=True, auth=bob)
    assert any("repository:tok/app:pull,push" in r["scopes"] for r in tokens.requests)
    other = fresh_store(tmp_path, "other")
    with pytest.raises(RegistryAuthError):
        await other.pull(ref, insecure=True)  # anonymous token: no access
    with pytest.raises(RegistryAuthError, match="refused"):
        await other.pull(ref, insecure=True, auth=Credentials("bob", "nope"))
    pulled = await other.pull(ref, insecure=True, auth=bob)
    assert pulled.id == image.id
    assert {r["account"] for r in tokens.requests} >= {"bob", None}


async def test_https_with_a_private_ca(store: ImageStore, tmp_path: Path) -> None:
    tls = make_tls_files(tmp_path / "tls")
    registry = start_registry(tmp_path / "tls-registry", tls=tls)
    try:
        ref = f"{registry.host}/secure/app:v1"
        image = make_image(store, [{"f": b"tls"}], tags=[ref])
        with pytest.raises(RegistryError, match="certificate"):
            await store.push(ref)
        trusted = RegistryConfig(hosts={registry.host: HostConfig(tls=TLSConfig(ca_file=tls.ca_cert))})
        await store.push(ref, registry_config=trusted)
        other = fresh_store(tmp_path, "other")
        assert (await other.pull(ref, registry_config=trusted)).id == image.id
    finally:
        registry.stop()
