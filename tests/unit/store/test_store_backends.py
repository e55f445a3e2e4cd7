"""open_store: the endpoint URL picks the backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from pilothouse.store import MemoryStore, SqliteStore, UnsupportedEndpoint, open_store


@pytest.mark.parametrize("endpoint", [None, "sqlite://"])
async def test_the_default_is_sqlite_in_the_data_dir(tmp_path: Path, endpoint):
    store = await open_store(endpoint, data_dir=tmp_path)
    try:
        assert isinstance(store, SqliteStore)
        assert (tmp_path / "db" / "state.db").exists()
    finally:
        await store.close()


async def test_a_sqlite_url_names_the_file(tmp_path: Path):
    path = tmp_path / "elsewhere" / "cluster.db"

    async with await open_store(f"sqlite://{path}", data_dir=tmp_path / "data") as store:
        await store.create("/k", b"v")

    assert path.exists()
    assert not (tmp_path / "data").exists()


async def test_memory_url_opens_a_memory_store(tmp_path: Path):
    async with await open_store("memory://", data_dir=tmp_path) as store:
        assert isinstance(store, MemoryStore)


@pytest.mark.parametrize("endpoint", ["etcd://127.0.0.1:2379", "https://10.0.0.1:2379"])
async def test_etcd_urls_are_reserved(tmp_path: Path, endpoint):
    with pytest.raises(UnsupportedEndpoint, match="etcd backend not available yet"):
        await open_store(endpoint, data_dir=tmp_path)


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("mysql://root@localhost/kine", "unsupported datastore endpoint"),
        ("sqlite:///tmp/x.db?_journal=WAL", "takes no parameters"),
    ],
)
async def test_other_endpoints_are_refused_clearly(tmp_path: Path, endpoint, message):
    with pytest.raises(UnsupportedEndpoint, match=message):
        await open_store(endpoint, data_dir=tmp_path)
