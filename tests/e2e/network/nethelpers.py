"""Helpers of the network end-to-end tests: commands in namespaces, probes, free CIDRs."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from pilothouse.network.process import Completed, run

HERE = Path(__file__).parent
TCP_PEER = str(HERE / "tcp_peer.py")


async def sh(*argv: str, check: bool = True, time_limit: float = 30.0) -> Completed:
    completed = await run(list(argv), time_limit=time_limit)
    if check and completed.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed: {completed.stderr.decode()}")
    return completed


def in_netns(netns: str, *argv: str) -> tuple[str, ...]:
    return ("ip", "netns", "exec", netns, *argv)


async def ping(netns: str, address: IPv4Address | str) -> bool:
    completed = await sh(*in_netns(netns, "busybox", "ping", "-c1", "-W1", str(address)),
                         check=False)
    return completed.returncode == 0


async def ask(netns: str | None, host: IPv4Address | str, port: int) -> str | None:
    """The answer of a tcp_peer server (the peer address it saw), or None if unreachable."""
    argv = (sys.executable, TCP_PEER, "ask", str(host), str(port), "1")
    completed = await sh(*(in_netns(netns, *argv) if netns else argv), check=False)
    return completed.stdout.decode().strip() if completed.returncode == 0 else None


async def route_get(address: IPv4Address, *extra: str, netns: str | None = None) -> dict | None:
    """``ip route get``: the chosen route, or None if the kernel says unreachable."""
    argv = ("ip", "-j", "route", "get", str(address), *extra)
    completed = await sh(*(in_netns(netns, *argv) if netns else argv), check=False)
    if completed.returncode != 0:
        assert any(word in completed.stderr.lower() for word in (b"unreachable", b"no route")), completed.stderr
        return None
    return json.loads(completed.stdout)[0]


async def main_routes(netns: str | None = None) -> list[IPv4Network]:
    argv = ("ip", "-j", "-4", "route", "show", "table", "main")
    completed = await sh(*(in_netns(netns, *argv) if netns else argv))
    routes = []
    for route in json.loads(completed.stdout):
        dst = route["dst"]
        routes.append(IPv4Network("0.0.0.0/0" if dst == "default" else dst))
    return routes


def nth(network: IPv4Network, n: int) -> IPv4Address:
    return network.network_address + n


def free_subnet(candidates: Sequence[IPv4Network], routes: Sequence[IPv4Network]) -> IPv4Network:
    """The first candidate no route lies inside (routes that contain it are fine: a longer
    prefix of ours wins over them)."""
    for candidate in candidates:
        if not any(route.subnet_of(candidate) for route in routes):
            return candidate
    raise AssertionError(f"no free test subnet among {candidates[0]}...")


class Servers:
    """tcp_peer servers started in namespaces; stopped (by pid) at the end of the test."""

    def __init__(self) -> None:
        self._processes: list[asyncio.subprocess.Process] = []

    async def start(self, netns: str | None, port: int, address: str = "0.0.0.0") -> None:
        """Serves on ``port`` in ``netns``; in the host namespace (None) bind an address of
        a test interface, never all addresses."""
        argv = (sys.executable, TCP_PEER, "serve", str(port), address)
        process = await asyncio.create_subprocess_exec(
            *(in_netns(netns, *argv) if netns else argv), stdout=asyncio.subprocess.PIPE
        )
        self._processes.append(process)
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 10)
        assert line == b"ready\n", f"tcp server in {netns} did not start"

    async def stop(self) -> None:
        for process in self._processes:
            if process.returncode is None:
                process.kill()
            await process.wait()
