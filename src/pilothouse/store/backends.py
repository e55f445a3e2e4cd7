"""Choosing a backend from a datastore endpoint URL, as k3s's ``--datastore-endpoint``.

=====================================  ==================================================
endpoint                               backend
=====================================  ==================================================
None, ``sqlite://``                    SqliteStore at DATA_DIR/db/state.db
``sqlite:///abs/path.db``              SqliteStore at that file (``sqlite://rel.db``: relative)
``memory://``                          MemoryStore (nothing survives the process)
``etcd://``, ``http://``, ``https://`` reserved for the etcd backend (not available yet)
=====================================  ==================================================

A backend is a coroutine function taking the parsed URL and the data directory; adding one
(e.g. ``store/etcd.py`` on aetcd) is one entry in ``BACKENDS``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

from .interface import Store
from .memory import MemoryStore
from .sqlite import SqliteSettings, SqliteStore


class UnsupportedEndpoint(ValueError):
    """The endpoint names no backend that is available."""


BackendOpener = Callable[[SplitResult, Path], Awaitable[Store]]

DEFAULT_SQLITE_FILE = Path("db") / "state.db"  # relative to the data directory


async def open_sqlite(endpoint: SplitResult, data_dir: Path) -> Store:
    if endpoint.query or endpoint.fragment:
        raise UnsupportedEndpoint(f"sqlite endpoint takes no parameters: {endpoint.geturl()!r}")
    location = endpoint.netloc + endpoint.path
    path = Path(location) if location else data_dir / DEFAULT_SQLITE_FILE
    return await SqliteStore.open(SqliteSettings(path=path))


async def open_memory(endpoint: SplitResult, data_dir: Path) -> Store:
    del endpoint, data_dir  # nothing to locate
    return MemoryStore()


async def etcd_not_available(endpoint: SplitResult, data_dir: Path) -> Store:
    raise UnsupportedEndpoint(f"etcd backend not available yet: {endpoint.geturl()!r}")


BACKENDS: dict[str, BackendOpener] = {
    "sqlite": open_sqlite,
    "memory": open_memory,
    "etcd": etcd_not_available,
    "http": etcd_not_available,
    "https": etcd_not_available,
}


async def open_store(endpoint: str | None, *, data_dir: Path) -> Store:
    """Open the store ``endpoint`` names (None: the default SQLite file under ``data_dir``)."""
    url = urlsplit(endpoint or "sqlite://")
    opener = BACKENDS.get(url.scheme)
    if opener is None:
        supported = ", ".join(f"{scheme}://" for scheme in BACKENDS)
        raise UnsupportedEndpoint(
            f"unsupported datastore endpoint {endpoint!r} (supported: {supported})"
        )
    return await opener(url, data_dir)
