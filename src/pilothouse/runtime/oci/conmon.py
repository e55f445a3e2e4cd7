"""The container monitor: conmon, CRI-O's and podman's, one small C process per container.

conmon runs the OCI runtime's ``create``, then stays the parent of the container's first
process for its whole life. It holds the container's stdio, writes it to the log in the CRI
format, serves attach connections on a socket in the bundle, resizes the TTY and reopens the
log on request (the ``ctl`` FIFO), notices OOM kills (an ``oom`` file), and writes the exit
code to the ``exit`` file when the container ends. Because it double-forks away from us, the
runtime process can exit or crash and restart while containers keep running.

The protocol (as CRI-O speaks it): conmon reports on a *sync* pipe ``{"data": <pid>}`` or
``{"data": -1, "message": ...}`` once ``create`` has finished. The long-lived conmon process
(its pid file) is then moved into the monitors' cgroup, out of the caller's, whose teardown
(a stopped service, a closed session) must not kill it.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ..errors import FailedPrecondition, OCIRuntimeError
from .ociruntime import OCIRuntime, start_error
from .processes import ProcessRef

CREATE_TIMEOUT = 120.0
RESIZE_MESSAGE = 1
REOPEN_LOG_MESSAGE = 2


@dataclass(frozen=True)
class BundleFiles:
    """A container's directory: its OCI bundle and what conmon keeps beside it."""

    directory: Path

    @property
    def config(self) -> Path:
        return self.directory / "config.json"

    def write_config(self, spec: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.config.write_bytes(orjson.dumps(spec))

    @property
    def pid_file(self) -> Path:
        return self.directory / "pidfile"

    @property
    def monitor_pid_file(self) -> Path:
        return self.directory / "conmon.pid"

    @property
    def exit_file(self) -> Path:
        return self.directory / "exit"

    @property
    def oom_file(self) -> Path:
        return self.directory / "oom"

    @property
    def attach_socket(self) -> Path:
        return self.directory / "attach"

    @property
    def control_fifo(self) -> Path:
        return self.directory / "ctl"


@dataclass(frozen=True)
class MonitorOptions:
    log_path: Path | None  # None: output is discarded
    tty: bool = False
    stdin: bool = False
    stdin_once: bool = False
    log_size_max: int = 0  # bytes; conmon truncates the log beyond it (0: no limit)
    exit_command: list[str] = field(default_factory=list)  # run by conmon after the exit


@dataclass(frozen=True)
class Launched:
    process: ProcessRef  # the container's first process
    monitor: ProcessRef


class Conmon:
    def __init__(self, binary: Path, runtime: OCIRuntime, *, place_monitor: Callable[[int], None]):
        self.binary = binary
        self.runtime = runtime
        self.place_monitor = place_monitor  # moves the monitor into its cgroup

    async def launch(self, container_id: str, files: BundleFiles, options: MonitorOptions) -> Launched:
        """Creates the container (not yet started) under a new monitor."""
        sync_read, sync_write = os.pipe2(os.O_CLOEXEC)
        try:
            process = await asyncio.create_subprocess_exec(
                str(self.binary),
                *self._args(container_id, files, options),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                pass_fds=(sync_write,),
                env=_environment(sync_write),
                cwd=files.directory,
            )
        except BaseException:
            os.close(sync_read)
            raise
        finally:
            os.close(sync_write)
        _, stderr = await process.communicate()
        if process.returncode != 0:
            os.close(sync_read)
            raise OCIRuntimeError(f"conmon: {stderr.decode(errors='replace').strip()}")
        pid = await _read_sync_pipe(sync_read)
        monitor = _ref(int(files.monitor_pid_file.read_text()))
        # Moved once the OCI runtime has moved the container: a cgroup v1 migration waits for
        # an RCU grace period, which the runtime's migration has just paid for both.
        self.place_monitor(monitor.pid)
        return Launched(process=_ref(pid), monitor=monitor)

    def _args(self, container_id: str, files: BundleFiles, options: MonitorOptions) -> list[str]:
        runtime = self.runtime
        args = ["--api-version", "1", "-c", container_id, "-u", container_id, "-n", container_id]
        args += ["-b", str(files.directory), "-r", str(runtime.create_path)]
        for arg in runtime.global_args():
            args += ["--runtime-arg", arg]
        args += ["-p", str(files.pid_file), "-P", str(files.monitor_pid_file)]
        args += ["--persist-dir", str(files.directory), "--full-attach", "--socket-dir-path", str(files.directory)]
        args += ["-l", f"k8s-file:{options.log_path}" if options.log_path else "none"]
        if options.tty:
            args.append("--terminal")
        if options.stdin:
            args.append("--stdin")
            if not options.stdin_once:
                args.append("--leave-stdin-open")
        if options.log_size_max:
            args += ["--log-size-max", str(options.log_size_max)]
        if options.exit_command:
            args += ["--exit-command", options.exit_command[0]]
            for arg in options.exit_command[1:]:
                args += ["--exit-command-arg", arg]
        return args


def send_control(files: BundleFiles, message: int, height: int = 0, width: int = 0) -> None:
    """Asks a container's monitor to resize the TTY or to reopen the log file."""
    try:
        fd = os.open(files.control_fifo, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        if error.errno in (errno.ENXIO, errno.ENOENT):
            raise FailedPrecondition("the container is not running") from None
        raise
    try:
        os.write(fd, f"{message} {height} {width}\n".encode())
    finally:
        os.close(fd)


def _environment(sync_fd: int) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        "TZ": "UTC",  # log timestamps in UTC
        "_OCI_SYNCPIPE": str(sync_fd),
    }


async def _read_sync_pipe(fd: int) -> int:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", buffering=0)
    )
    try:
        line = await asyncio.wait_for(reader.readline(), CREATE_TIMEOUT)
    finally:
        transport.close()
    if not line:
        raise OCIRuntimeError("conmon exited without reporting the container's process")
    report = json.loads(line)
    if report.get("data", -1) <= 0:
        raise start_error(report.get("message", "container creation failed").strip())
    return int(report["data"])


def _ref(pid: int) -> ProcessRef:
    ref = ProcessRef.of(pid)
    if ref is None:
        raise OCIRuntimeError(f"process {pid} vanished right after it was created")
    return ref
