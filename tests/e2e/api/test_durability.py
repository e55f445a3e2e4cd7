"""Restarts and crashes: nothing acknowledged is lost, resourceVersions keep increasing,
certificates and allocations persist."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cluster import ServerProcess

from pilothouse.api import errors
from pilothouse.client import APIClient, ClientConfig

pytestmark = pytest.mark.slow  # the long scenarios: not in the quick tier


def client_for(server: ServerProcess) -> APIClient:
    return APIClient(ClientConfig.from_kubeconfig(server.kubeconfig))


async def _write_until_killed(server: ServerProcess, acknowledged: dict[str, int]) -> None:
    async with client_for(server) as api:
        await api["namespaces"].create({"metadata": {"name": "crash"}})
        stop = asyncio.Event()
        halfway = asyncio.Event()

        async def writer(worker: int) -> None:
            i = 0
            while not stop.is_set():
                name = f"w{worker}-{i}"
                try:
                    created = await api["configmaps"].create(
                        {"metadata": {"name": name}, "data": {"i": str(i)}}, namespace="crash")
                except Exception:
                    return  # the server died under us: this write was never acknowledged
                acknowledged[name] = int(created["metadata"]["resourceVersion"])
                if len(acknowledged) >= 150:
                    halfway.set()
                i += 1
                if len(acknowledged) >= 300:
                    stop.set()

        async def killer() -> None:
            await halfway.wait()
            server.crash()  # kill -9 in the middle of the stream of writes
            stop.set()

        await asyncio.gather(killer(), *(writer(w) for w in range(20)))


def test_kill_9_loses_no_acknowledged_write(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data")
    server.start()
    acknowledged: dict[str, int] = {}
    try:
        asyncio.run(_write_until_killed(server, acknowledged))
        assert server.process is not None and server.process.returncode == -9
        server.start()

        async def check() -> tuple[set[str], int]:
            async with client_for(server) as api:
                listed = await api["configmaps"].list(namespace="crash")
                after = await api["configmaps"].create({"metadata": {"name": "after"}},
                                                       namespace="crash")
                return ({o["metadata"]["name"] for o in listed.items},
                        int(after["metadata"]["resourceVersion"]))

        present, next_revision = asyncio.run(check())
        assert len(acknowledged) >= 150
        assert set(acknowledged) <= present
        assert next_revision > max(acknowledged.values())
    finally:
        server.stop()


def test_restart_keeps_objects_certificates_and_allocations(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data")
    server.start()
    try:
        kubeconfig_before = server.kubeconfig.read_text()

        async def first() -> str:
            async with client_for(server) as api:
                created = await api["services"].create(
                    {"metadata": {"name": "keep"}, "spec": {"ports": [{"port": 80}]}},
                    namespace="default")
                return created["spec"]["clusterIP"]

        ip = asyncio.run(first())
        server.stop()
        server.start()
        assert server.kubeconfig.read_text() == kubeconfig_before

        async def second() -> None:
            async with client_for(server) as api:
                kept = await api["services"].get("keep", namespace="default")
                assert kept["spec"]["clusterIP"] == ip
                with pytest.raises(errors.Invalid):
                    await api["services"].create(
                        {"metadata": {"name": "steal"},
                         "spec": {"clusterIP": ip, "ports": [{"port": 80}]}},
                        namespace="default")

        asyncio.run(second())
    finally:
        server.stop()
