"""Published ports of a container outside pods (``pilothouse run -p``), by a userspace proxy.

A small process listens on the host address and port (127.0.0.1 unless another local
address is given) and, for each connection, opens one to the port on the loopback
interface of the container's network namespace, then copies bytes both ways. It touches
no interface, route or firewall rule of the host, so traffic stays on this machine. It
exits when the sandbox's infra monitor does (the container was stopped or removed).

Run as ``python -m pilothouse.runtime.portproxy NETNS PID STARTTIME IP:PORT:TARGET...``;
it prints ``ready`` once every port is bound, or an error and exits 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

from .errors import InvalidArgument
from .interface import PortMapping
from .oci import namespaces
from .oci.processes import ProcessRef

READY = b"ready\n"
START_TIMEOUT = 10.0
BUFFER = 65536


async def start_port_proxy(netns_path: Path, watch: ProcessRef, ports: list[PortMapping]) -> int:
    """Starts the proxy process; returns its pid once it listens (InvalidArgument if it cannot)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        __name__,
        str(netns_path),
        str(watch.pid),
        str(watch.start_time),
        *(f"{p.host_ip or '127.0.0.1'}:{p.host_port}:{p.container_port}" for p in ports),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stdout is not None and process.stderr is not None
    line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)
    if line != READY:
        message = (await process.stderr.read()).decode(errors="replace").strip()
        raise InvalidArgument(message or "the port proxy failed to start")
    return process.pid


async def serve(netns_path: Path, watch: ProcessRef, mappings: list[tuple[str, int, int]]) -> None:
    servers = []
    try:
        for host_ip, host_port, target in mappings:
            handler = partial(_forward, netns_path, target)
            servers.append(await asyncio.start_server(handler, host_ip, host_port, reuse_address=True))
    except OSError as error:
        sys.stderr.write(f"cannot publish port: {error.strerror or error}\n")
        sys.exit(1)
    sys.stdout.buffer.write(READY)
    sys.stdout.flush()
    _detach_stdio()
    await watch.wait()
    for server in servers:
        server.close()


async def _forward(netns_path: Path, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        sock = await asyncio.to_thread(namespaces.connect_socket, netns_path)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        inner_reader, inner_writer = await asyncio.open_connection(sock=sock)
    except OSError:
        writer.close()
        return
    await asyncio.gather(_copy(reader, inner_writer), _copy(inner_reader, writer))


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(BUFFER):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError):
        if writer.can_write_eof():
            writer.write_eof()
        else:
            writer.close()


def _detach_stdio() -> None:
    """Our starter stops reading once we are ready: write nothing more to its pipes."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def main(argv: list[str]) -> None:
    netns_path, pid, start_time, *specs = argv
    watch = ProcessRef(int(pid), int(start_time))
    mappings = []
    for spec in specs:
        host_ip, host_port, target = spec.rsplit(":", 2)
        mappings.append((host_ip, int(host_port), int(target)))
    asyncio.run(serve(Path(netns_path), watch, mappings))


if __name__ == "__main__":
    main(sys.argv[1:])
