"""API server benchmark: prints JSON.

Starts a real ``pilothouse server`` (SQLite store, durable writes, HTTPS with client
certificates) in a temporary data dir and measures, from a separate client process:

- creates/s of small ConfigMaps from 50 concurrent clients, as fast as they go
  (target >= 2,000/s), and GET latency p50/p99 while that load runs;
- the same 50 clients paced to 2,000 creates/s, and GET latency p50/p99 under that load
  (target p99 <= 10 ms);
- LIST of 10,000 pods, as JSON and as the Table kubectl asks for (target <= 300 ms);
- 1,000 concurrent watchers each receiving one change: delivery latency p50/p99 (target
  p99 <= 100 ms);
- the server's idle RSS right after start (target <= 120 MB), right after the load, and
  once it has settled (the server returns freed heap memory to the kernel every minute).

Usage: python bench/api.py [--creates N] [--pods N] [--watchers N] [--settle-seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))

from cluster import ServerProcess  # noqa: E402

from pilothouse.client import ClientConfig  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def session(config: ClientConfig, limit: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(ssl=config.ssl_context(), limit=limit)
    return aiohttp.ClientSession(base_url=config.server, connector=connector)


async def create_load(config: ClientConfig, total: int, clients: int,
                      rate: float | None = None) -> dict:
    """``total`` ConfigMap creates from ``clients`` concurrent clients (as fast as the server
    takes them, or paced to ``rate`` creates/s), with a prober measuring GET latency."""
    async with session(config, clients + 1) as http:
        await http.post("/api/v1/namespaces", json={"metadata": {"name": "bench"}})
        await http.post("/api/v1/namespaces/bench/configmaps",
                        json={"metadata": {"name": "probe"}, "data": {"k": "v"}})
        run = os.urandom(3).hex()
        counter = iter(range(total))
        get_latencies: list[float] = []
        done = asyncio.Event()
        start = time.perf_counter()

        async def creator() -> None:
            for i in counter:
                if rate:  # pace: create i is due at start + i/rate
                    delay = start + i / rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                body = orjson.dumps({"metadata": {"name": f"cm-{run}-{i}"},
                                     "data": {"key": "value" * 8}})
                async with http.post("/api/v1/namespaces/bench/configmaps", data=body,
                                     headers={"Content-Type": "application/json"}) as r:
                    await r.read()
                    if r.status != 201:
                        raise RuntimeError(f"create failed: {r.status} {await r.text()}")

        async def getter() -> None:
            while not done.is_set():
                begin = time.perf_counter()
                async with http.get("/api/v1/namespaces/bench/configmaps/probe") as r:
                    await r.read()
                get_latencies.append((time.perf_counter() - begin) * 1000)
                await asyncio.sleep(0.005)

        get_task = asyncio.create_task(getter())
        await asyncio.gather(*(creator() for _ in range(clients)))
        elapsed = time.perf_counter() - start
        done.set()
        await get_task
    return {
        "creates": total,
        "clients": clients,
        "paced_to_per_second": rate,
        "creates_per_second": round(total / elapsed),
        "get_ms": {
            "p50": round(percentile(get_latencies, 50), 2),
            "p99": round(percentile(get_latencies, 99), 2),
            "samples": len(get_latencies),
        },
    }


async def list_pods(config: ClientConfig, pods: int) -> dict:
    async with session(config, 50) as http:
        await http.post("/api/v1/namespaces", json={"metadata": {"name": "bench-pods"}})
        counter = iter(range(pods))

        async def creator() -> None:
            for i in counter:
                pod = {"metadata": {"name": f"pod-{i}", "labels": {"app": "bench"}},
                       "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
                async with http.post("/api/v1/namespaces/bench-pods/pods", json=pod) as r:
                    await r.read()

        await asyncio.gather(*(creator() for _ in range(50)))

        async def timed(headers: dict[str, str]) -> tuple[float, int]:
            best = float("inf")
            size = 0
            for _ in range(5):
                start = time.perf_counter()
                async with http.get("/api/v1/namespaces/bench-pods/pods", headers=headers) as r:
                    body = await r.read()
                best = min(best, (time.perf_counter() - start) * 1000)
                size = len(body)
            return best, size

        json_ms, json_size = await timed({"Accept": "application/json"})
        table_ms, _ = await timed(
            {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"})
    return {"pods": pods, "list_json_ms": round(json_ms, 1), "list_table_ms": round(table_ms, 1),
            "list_json_bytes": json_size}


async def watch_fanout(config: ClientConfig, watchers: int) -> dict:
    async with session(config, watchers + 5) as http:
        await http.post("/api/v1/namespaces", json={"metadata": {"name": "bench-watch"}})
        async with http.post("/api/v1/namespaces/bench-watch/configmaps",
                             json={"metadata": {"name": "target"}, "data": {"n": "0"}}) as r:
            rv = (await r.json())["metadata"]["resourceVersion"]
        ready = 0
        all_ready = asyncio.Event()
        received: list[float] = []
        all_received = asyncio.Event()

        async def watcher() -> None:
            nonlocal ready
            params = {"watch": "true", "resourceVersion": rv,
                      "fieldSelector": "metadata.name=target"}
            async with http.get("/api/v1/namespaces/bench-watch/configmaps", params=params,
                                timeout=aiohttp.ClientTimeout(total=None)) as response:
                ready += 1
                if ready == watchers:
                    all_ready.set()
                async for _line in response.content:
                    received.append(time.perf_counter())
                    if len(received) == watchers:
                        all_received.set()
                    return

        tasks = [asyncio.create_task(watcher()) for _ in range(watchers)]
        await asyncio.wait_for(all_ready.wait(), 120)
        await asyncio.sleep(0.5)  # let every server-side watch register
        start = time.perf_counter()
        async with http.patch("/api/v1/namespaces/bench-watch/configmaps/target",
                              data=b'{"data":{"n":"1"}}',
                              headers={"Content-Type": "application/merge-patch+json"}) as r:
            await r.read()
        await asyncio.wait_for(all_received.wait(), 60)
        delays = [(t - start) * 1000 for t in received]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {"watchers": watchers, "delivery_ms": {
        "p50": round(percentile(delays, 50), 1), "p99": round(percentile(delays, 99), 1),
        "max": round(max(delays), 1), "mean": round(statistics.mean(delays), 1)}}


async def run(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="pilothouse-bench-") as tmp:
        server = ServerProcess(Path(tmp) / "data")
        server.start()
        try:
            assert server.process is not None
            pid = server.process.pid
            await asyncio.sleep(1.0)
            idle_rss = rss_mb(pid)
            config = ClientConfig.from_kubeconfig(server.kubeconfig)
            results: dict = {"store": "sqlite (durable)", "transport": "https, client certificates",
                             "idle_rss_mb": round(idle_rss, 1)}
            results["create_max"] = await create_load(config, args.creates, 50)
            results["create_at_target"] = await create_load(config, args.creates, 50,
                                                            rate=args.rate)
            results["list"] = await list_pods(config, args.pods)
            results["watch"] = await watch_fanout(config, args.watchers)
            results["rss_after_load_mb"] = round(rss_mb(pid), 1)
            if args.settle_seconds > 0:  # the server hands freed heap memory back once a minute
                await asyncio.sleep(args.settle_seconds)
                results["rss_after_load_settled_mb"] = round(rss_mb(pid), 1)
            return results
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=10_000)
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--watchers", type=int, default=1_000)
    parser.add_argument("--rate", type=float, default=2_000.0,
                        help="creates/s of the paced run that GET latency is measured under")
    parser.add_argument("--settle-seconds", type=float, default=65.0,
                        help="wait after the load before measuring RSS again (0: skip)")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    print(json.dumps(asyncio.run(run(args)), indent=2))


if __name__ == "__main__":
    main()
