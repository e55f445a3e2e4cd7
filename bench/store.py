"""Store benchmark: prints JSON figures for the SQLite store (and real etcd, side by side).

    .venv/bin/python bench/store.py [--no-etcd]

Figures (durable writes, synchronous=FULL):
- creates/s from 50 concurrent writers of 300-byte values (etcd: the same creates as
  create-if-absent transactions through aetcd, which is how kube-apiserver creates);
- get latency p50/p99 while those writers run;
- range of 10,000 keys of 2 KB values, at the latest revision, at an older one, and paged;
- watch fan-out: 1,000 watchers of one prefix each receiving an event, delivery p50/p99
  measured from the start of the write;
- compaction of all that history: time, and the size of the files before and after;
- idle RSS and CPU of a fresh process holding the opened store (its watch buffer filled
  from the file).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from pilothouse.store import Event, SqliteSettings, SqliteStore

WRITERS = 50
CREATES_PER_WRITER = 400
SMALL_VALUE = b"x" * 300
RANGE_KEYS = 10_000
LARGE_VALUE = b"y" * 2048
WATCHERS = 1_000
WATCH_EVENTS = 20
IDLE_SECONDS = 3.0
READERS = 4  # reader threads of the store under test

Create = Callable[[str, bytes], Awaitable[object]]
Get = Callable[[str], Awaitable[object]]


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def milliseconds(seconds: float) -> float:
    return round(seconds * 1000, 3)


async def create_load(create: Create, prefix: str, per_writer: int) -> float:
    """Creates/s of WRITERS concurrent writers, each creating ``per_writer`` keys."""

    async def writer(worker: int) -> None:
        for index in range(per_writer):
            await create(f"{prefix}{worker}/{index}", SMALL_VALUE)

    started = time.perf_counter()
    await asyncio.gather(*(writer(worker) for worker in range(WRITERS)))
    return WRITERS * per_writer / (time.perf_counter() - started)


async def gets_under_load(create: Create, get: Get, prefix: str) -> dict[str, float]:
    """Get latencies of one reader while WRITERS writers create keys."""
    await create(f"{prefix}target", SMALL_VALUE)
    latencies: list[float] = []
    load = asyncio.ensure_future(create_load(create, f"{prefix}load/", CREATES_PER_WRITER // 2))
    while not load.done():
        started = time.perf_counter()
        await get(f"{prefix}target")
        latencies.append(time.perf_counter() - started)
    creates_per_s = await load
    return {
        "get_p50_ms": milliseconds(percentile(latencies, 0.50)),
        "get_p99_ms": milliseconds(percentile(latencies, 0.99)),
        "gets_measured": len(latencies),
        "creates_per_s_with_gets": round(creates_per_s),
    }


async def range_figures(store: SqliteStore) -> dict[str, float]:
    keys = [f"/bench/range/{index:05}" for index in range(RANGE_KEYS)]
    for start in range(0, RANGE_KEYS, 500):
        await asyncio.gather(*(store.create(key, LARGE_VALUE) for key in keys[start : start + 500]))
    snapshot = await store.current_revision()
    for start in range(0, 1000, 100):  # make the snapshot an older revision
        await asyncio.gather(
            *(
                store.update(key, LARGE_VALUE, expected_revision=0)
                for key in keys[start : start + 100]
            )
        )

    async def timed(call: Callable[[], Awaitable[object]]) -> float:
        for _ in range(READERS):  # warm every reader connection's cache
            await call()
        samples = []
        for _ in range(5):
            started = time.perf_counter()
            await call()
            samples.append(time.perf_counter() - started)
        return milliseconds(statistics.median(samples))

    async def paged() -> None:
        page = await store.range("/bench/range/", limit=500, revision=snapshot)
        while page.more:
            page = await store.range(
                "/bench/range/", start_after=page.kvs[-1].key, limit=500, revision=snapshot
            )

    return {
        "range_10k_2kb_latest_ms": await timed(lambda: store.range("/bench/range/")),
        "range_10k_2kb_at_old_revision_ms": await timed(
            lambda: store.range("/bench/range/", revision=snapshot)
        ),
        "range_10k_2kb_pages_of_500_ms": await timed(paged),
        "count_10k_ms": await timed(lambda: store.count("/bench/range/")),
    }


async def watch_fanout(store: SqliteStore) -> dict[str, float]:
    prefix = "/bench/watch/"
    watches = [
        store.watch(prefix, from_revision=await store.current_revision()) for _ in range(WATCHERS)
    ]
    delays: list[float] = []
    for index in range(WATCH_EVENTS):
        received: list[asyncio.Future[Event]] = [asyncio.ensure_future(anext(w)) for w in watches]
        await asyncio.sleep(0)  # every watcher is waiting before the write
        started = time.perf_counter()
        for future in received:
            future.add_done_callback(lambda _, s=started: delays.append(time.perf_counter() - s))
        await store.create(f"{prefix}{index}", SMALL_VALUE)
        await asyncio.gather(*received)
    for watch in watches:
        await watch.aclose()
    return {
        "watch_fanout_watchers": WATCHERS,
        "watch_delivery_p50_ms": milliseconds(percentile(delays, 0.50)),
        "watch_delivery_p99_ms": milliseconds(percentile(delays, 0.99)),
    }


async def idle_figures(path: Path) -> dict[str, float]:
    """RSS and CPU of a fresh process that opens the store and then does nothing."""
    probe = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--idle-probe", str(path), stdout=asyncio.subprocess.PIPE
    )
    output, _ = await probe.communicate()
    return json.loads(output)


async def idle_probe(path: Path) -> None:
    store = await SqliteStore.open(SqliteSettings(path=path))
    cpu_before = time.process_time()
    await asyncio.sleep(IDLE_SECONDS)
    cpu = time.process_time() - cpu_before
    figures = {
        "idle_rss_mb": round(resident_kib() / 1024, 1),
        "idle_cpu_percent": round(100 * cpu / IDLE_SECONDS, 2),
        "idle_watch_buffer_events": len(store._buffer),
    }
    await store.close()
    print(json.dumps(figures))


def resident_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


async def compaction_figures(store: SqliteStore, path: Path) -> dict[str, float]:
    """Compacting everything written so far, and what it does to the files."""
    before = files_mb(path)
    revision = await store.current_revision()
    started = time.perf_counter()
    await store.compact(revision)
    return {
        "compact_revisions": revision,
        "compact_ms": milliseconds(time.perf_counter() - started),
        "files_mb_before_compact": before,
        "files_mb_after_compact": files_mb(path),
    }


def files_mb(path: Path) -> float:
    wal = path.with_name(path.name + "-wal")
    return round(sum(p.stat().st_size for p in (path, wal) if p.exists()) / 2**20, 1)


async def sqlite_figures(directory: Path) -> dict[str, float]:
    path = directory / "state.db"
    async with await SqliteStore.open(SqliteSettings(path=path, readers=READERS)) as store:
        figures: dict[str, float] = {
            "creates_per_s": round(
                await create_load(store.create, "/bench/create/", CREATES_PER_WRITER)
            )
        }
        figures["writes_per_transaction"] = round(
            store.write_stats.writes / store.write_stats.batches, 1
        )
        figures |= await gets_under_load(store.create, store.get, "/bench/get/")
        figures |= await range_figures(store)
        figures |= await watch_fanout(store)
    figures |= await idle_figures(path)  # with the watch buffer full
    async with await SqliteStore.open(SqliteSettings(path=path)) as store:
        figures |= await compaction_figures(store, path)
    return figures


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def etcd_figures(directory: Path) -> dict[str, float]:
    import aetcd

    client_port, peer_port = free_port(), free_port()
    client_url, peer_url = f"http://127.0.0.1:{client_port}", f"http://127.0.0.1:{peer_port}"
    etcd = await asyncio.create_subprocess_exec(
        "etcd",
        "--name=bench",
        f"--data-dir={directory / 'etcd'}",
        f"--listen-client-urls={client_url}",
        f"--advertise-client-urls={client_url}",
        f"--listen-peer-urls={peer_url}",
        f"--initial-advertise-peer-urls={peer_url}",
        f"--initial-cluster=bench={peer_url}",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with aetcd.Client(host="127.0.0.1", port=client_port, timeout=10) as client:
            await wait_for_etcd(client)

            async def create(key: str, value: bytes) -> None:
                succeeded, _ = await client.transaction(
                    compare=[client.transactions.create(key.encode()) == 0],
                    success=[client.transactions.put(key.encode(), value)],
                    failure=[],
                )
                assert succeeded, key

            async def get(key: str) -> None:
                await client.get(key.encode())

            figures: dict[str, float] = {
                "creates_per_s": round(
                    await create_load(create, "/bench/create/", CREATES_PER_WRITER)
                )
            }
            return figures | await gets_under_load(create, get, "/bench/get/")
    finally:
        etcd.terminate()  # by its PID, via the handle of the process started above
        await etcd.wait()


async def wait_for_etcd(client) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(30):
        while True:
            try:
                await client.status()
                return
            except Exception:  # not listening yet
                await asyncio.sleep(0.1)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-etcd", action="store_true", help="skip the etcd comparison")
    parser.add_argument("--idle-probe", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.idle_probe:
        await idle_probe(arguments.idle_probe)
        return
    directory = Path(tempfile.mkdtemp(prefix="bench-store-"))
    try:
        results = {"machine_cpus": os.cpu_count(), "sqlite": await sqlite_figures(directory)}
        if not arguments.no_etcd and shutil.which("etcd"):
            results["etcd"] = await etcd_figures(directory)
    finally:
        shutil.rmtree(directory)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
