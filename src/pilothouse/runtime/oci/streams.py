"""exec and attach sessions: the streams the kubelet bridges to its clients.

- exec runs ``crun exec`` (or runc's) as our child. Without a TTY its pipes are the
  session's streams; with one, crun hands us the pseudo-terminal's master through a console
  socket and resizes go to it directly. runc allows a console socket only when it detaches
  (and then its exit code is lost), so with runc the exec gets a pseudo-terminal of ours as
  stdio, runc relays it to the container's, and a resize is our terminal's size plus a
  SIGWINCH that runc passes on. The exec'd process's pid (from
  ``--pid-file``) is what gets killed on timeout or close: killing crun would leave it running.
- attach connects to the monitor's attach socket (SOCK_SEQPACKET, each packet tagged 2 for
  stdout or 3 for stderr; what we send is the container's stdin; shutting down our write side
  closes it when the container was made with ``stdin_once``), resizes through the monitor's
  control FIFO, and learns the exit code from the monitor's exit file.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import errno
import fcntl
import os
import secrets
import signal
import socket
import struct
import tempfile
import termios
from dataclasses import dataclass
from pathlib import Path

import orjson

from ..errors import ExecTimeout, OCIRuntimeError
from ..interface import ExecSyncResponse, StreamingSession
from .conmon import RESIZE_MESSAGE, BundleFiles, send_control
from .ociruntime import OCIRuntime, start_error
from .processes import ProcessRef, resolve

EXEC_OUTPUT_LIMIT = 16 << 20  # the CRI caps exec_sync output at 16 MiB per stream
READ_SIZE = 65536
STDIN_CHUNK = 8192  # the monitor reads stdin packets of up to 8 KiB
CONSOLE_TIMEOUT = 30.0  # seconds for the OCI runtime to send the terminal it made
STDERR_TAG = 3  # conmon tags each attach packet with its pipe: 2 for stdout, 3 for stderr


@dataclass(frozen=True)
class ExecFiles:
    """The scratch files of one exec: the process to run, and where its pid is written."""

    process: Path
    pid: Path

    @classmethod
    def prepare(
        cls, bundle: BundleFiles, cmd: list[str], *, tty: bool, size: tuple[int, int] | None = None
    ) -> ExecFiles:
        """The container's own process (user, environment, capabilities...) running ``cmd``,
        on a terminal of ``size`` (width, height) if given."""
        name = f"exec-{secrets.token_hex(8)}"
        files = cls(process=bundle.directory / f"{name}.json", pid=bundle.directory / f"{name}.pid")
        process = orjson.loads(bundle.config.read_bytes())["process"]
        process.update(args=cmd, terminal=tty)
        if tty and size is not None:
            process["consoleSize"] = {"width": size[0], "height": size[1]}
        files.process.write_bytes(orjson.dumps(process))
        return files

    def remove(self) -> None:
        for path in (self.process, self.pid):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def kill(self, process: asyncio.subprocess.Process) -> None:
        """Kills the exec'd command (killing the OCI runtime's process would not)."""
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            os.kill(int(self.pid.read_text()), signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            process.kill()


async def exec_sync(
    runtime: OCIRuntime,
    container_id: str,
    *,
    timeout: float,  # noqa: ASYNC109 (the CRI's: the command is killed when it expires)
    files: ExecFiles,
) -> ExecSyncResponse:
    process = await asyncio.create_subprocess_exec(
        *runtime.exec_argv(container_id, process_file=files.process, pid_file=files.pid),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    outputs = asyncio.gather(_read_capped(process.stdout), _read_capped(process.stderr), process.wait())
    try:
        stdout, stderr, code = await asyncio.wait_for(outputs, timeout or None)
    except TimeoutError:
        files.kill(process)
        await process.wait()
        raise ExecTimeout(f"the command timed out after {timeout}s") from None
    finally:
        files.remove()
    return ExecSyncResponse(stdout=stdout, stderr=stderr, exit_code=code)


async def start_exec(
    runtime: OCIRuntime,
    container_id: str,
    *,
    tty: bool,
    stdin: bool,
    stdout: bool,
    stderr: bool,
    files: ExecFiles,
    size: tuple[int, int] | None = None,
) -> StreamingSession:
    """An exec session; ``size`` is the TTY's (width, height) from the start, if known."""
    if tty:
        return await _start_tty_exec(runtime, container_id, stdin=stdin, files=files, size=size)
    pipe, null = asyncio.subprocess.PIPE, asyncio.subprocess.DEVNULL
    process = await asyncio.create_subprocess_exec(
        *runtime.exec_argv(container_id, process_file=files.process, pid_file=files.pid),
        stdin=pipe if stdin else null,
        stdout=pipe if stdout else null,
        stderr=pipe if stderr else null,
    )
    return PipeExecSession(process, files, stdin=stdin)


class PipeExecSession(StreamingSession):
    def __init__(self, process: asyncio.subprocess.Process, files: ExecFiles, *, stdin: bool):
        super().__init__(tty=False, stdin=stdin, stdout=process.stdout, stderr=process.stderr)
        self.process = process
        self.files = files

    async def write_stdin(self, data: bytes) -> None:
        if self.process.stdin is not None and not self.process.stdin.is_closing():
            self.process.stdin.write(data)
            with contextlib.suppress(ConnectionError):
                await self.process.stdin.drain()

    async def close_stdin(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()

    async def resize(self, width: int, height: int) -> None:
        """Nothing to resize without a TTY."""

    async def wait(self) -> int | None:
        code = await self.process.wait()
        self.files.remove()
        return code

    async def close(self) -> None:
        if self.process.returncode is None:
            self.files.kill(self.process)
        await self.wait()


class TtyExecSession(StreamingSession):
    def __init__(
        self,
        process: asyncio.subprocess.Process,
        master: int,
        files: ExecFiles,
        *,
        stdin: bool,
        relayed: bool = False,
    ):
        self.master = master
        output = _PtyReader(master)
        super().__init__(tty=True, stdin=stdin, stdout=output.reader, stderr=None)
        self.output = output
        self.process = process
        self.files = files
        self.relayed = relayed  # the runtime relays our terminal to the container's

    async def write_stdin(self, data: bytes) -> None:
        await _write_all(self.master, data)

    async def close_stdin(self) -> None:
        with contextlib.suppress(OSError):
            await _write_all(self.master, b"\x04")  # end of file, as a terminal types it

    async def resize(self, width: int, height: int) -> None:
        _set_size(self.master, width, height)
        if self.relayed and self.process.returncode is None:
            self.process.send_signal(signal.SIGWINCH)

    async def wait(self) -> int | None:
        code = await self.process.wait()
        await self.output.closed.wait()
        self.files.remove()
        return code

    async def close(self) -> None:
        if self.process.returncode is None:
            self.files.kill(self.process)
        await self.process.wait()
        self.output.stop()
        self.files.remove()


async def _start_tty_exec(
    runtime: OCIRuntime, container_id: str, *, stdin: bool, files: ExecFiles, size: tuple[int, int] | None
) -> StreamingSession:
    if runtime.name == "runc":
        return await _start_relayed_tty_exec(runtime, container_id, stdin=stdin, files=files, size=size)
    with tempfile.TemporaryDirectory(prefix="pilothouse-") as scratch:
        path = Path(scratch) / "console.sock"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        listener.listen(1)
        listener.setblocking(False)
        process = await asyncio.create_subprocess_exec(
            *runtime.exec_argv(
                container_id, process_file=files.process, pid_file=files.pid, tty=True, console_socket=path
            ),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            master = await _receive_console(listener, process)
        finally:
            listener.close()
    os.set_blocking(master, False)
    return TtyExecSession(process, master, files, stdin=stdin)


async def _start_relayed_tty_exec(
    runtime: OCIRuntime, container_id: str, *, stdin: bool, files: ExecFiles, size: tuple[int, int] | None
) -> StreamingSession:
    master, slave = os.openpty()
    if size is not None:  # runc gives the container our terminal's size
        _set_size(master, *size)
    try:
        process = await asyncio.create_subprocess_exec(
            *runtime.exec_argv(container_id, process_file=files.process, pid_file=files.pid, tty=True),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
        )
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    os.set_blocking(master, False)
    return TtyExecSession(process, master, files, stdin=stdin, relayed=True)


async def _receive_console(listener: socket.socket, process: asyncio.subprocess.Process) -> int:
    loop = asyncio.get_running_loop()
    accept = asyncio.ensure_future(loop.sock_accept(listener))
    exited = asyncio.ensure_future(process.wait())
    done, _ = await asyncio.wait({accept, exited}, return_when=asyncio.FIRST_COMPLETED)
    if accept not in done:
        accept.cancel()
        assert process.stderr is not None
        message = (await process.stderr.read()).decode(errors="replace").strip()
        raise start_error(message or f"exec failed with exit status {process.returncode}")
    exited.cancel()
    connection, _ = accept.result()
    with connection:
        connection.settimeout(CONSOLE_TIMEOUT)  # accepted non-blocking; the fd may follow
        fds = array.array("i")
        _, ancillary, _, _ = await loop.run_in_executor(
            None, lambda: connection.recvmsg(1024, socket.CMSG_SPACE(fds.itemsize))
        )
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    if not fds:
        raise OCIRuntimeError("the OCI runtime sent no terminal")
    return fds[0]


class AttachSession(StreamingSession):
    def __init__(
        self,
        sock: socket.socket,
        files: BundleFiles,
        monitor: ProcessRef | None,
        *,
        tty: bool,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ):
        out = asyncio.StreamReader(limit=1 << 24)
        err = asyncio.StreamReader(limit=1 << 24) if not tty else None
        super().__init__(tty=tty, stdin=stdin, stdout=out if stdout else None, stderr=err if stderr else None)
        self.sock = sock
        self.files = files
        self.monitor = monitor
        self.detached = False
        self._pump = asyncio.ensure_future(self._read_packets(out, err))

    async def _read_packets(self, out: asyncio.StreamReader, err: asyncio.StreamReader | None) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                packet = await loop.sock_recv(self.sock, READ_SIZE)
                if not packet:
                    break
                target = err if packet[0] == STDERR_TAG and err is not None else out
                target.feed_data(packet[1:])
        except OSError:
            pass
        finally:
            out.feed_eof()
            if err is not None:
                err.feed_eof()

    async def write_stdin(self, data: bytes) -> None:
        loop = asyncio.get_running_loop()
        for start in range(0, len(data), STDIN_CHUNK):
            await loop.sock_sendall(self.sock, data[start : start + STDIN_CHUNK])

    async def close_stdin(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)

    async def resize(self, width: int, height: int) -> None:
        send_control(self.files, RESIZE_MESSAGE, height, width)

    async def wait(self) -> int | None:
        await asyncio.shield(self._pump)
        if self.detached:
            return None
        if self.monitor is not None:
            await self.monitor.wait()
        try:
            text = self.files.exit_file.read_text().strip()
        except FileNotFoundError:
            return None
        return int(text) if text.lstrip("-").isdigit() else None

    async def close(self) -> None:
        self.detached = not self._pump.done()
        self.sock.close()
        self._pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._pump


async def attach(
    files: BundleFiles, monitor: ProcessRef | None, *, tty: bool, stdin: bool, stdout: bool, stderr: bool
) -> AttachSession:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sock.setblocking(False)
    directory = os.open(files.directory, os.O_PATH | os.O_CLOEXEC)
    try:
        # The path can be longer than a socket address allows; /proc/self/fd/N is short.
        await asyncio.get_running_loop().sock_connect(sock, f"/proc/self/fd/{directory}/{files.attach_socket.name}")
    except OSError:
        sock.close()
        raise
    finally:
        os.close(directory)
    return AttachSession(sock, files, monitor, tty=tty, stdin=stdin, stdout=stdout, stderr=stderr)


class _PtyReader:
    """Feeds what a pseudo-terminal master reads into a StreamReader (EIO is the end)."""

    def __init__(self, fd: int):
        self.fd = fd
        self.reader = asyncio.StreamReader(limit=1 << 24)
        self.closed = asyncio.Event()
        self.loop = asyncio.get_running_loop()
        self.loop.add_reader(fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError as error:
            if error.errno != errno.EIO:
                raise
            data = b""
        if data:
            self.reader.feed_data(data)
        else:
            self.stop()

    def stop(self) -> None:
        if self.closed.is_set():
            return
        self.loop.remove_reader(self.fd)
        self.reader.feed_eof()
        os.close(self.fd)
        self.closed.set()


def _set_size(terminal: int, width: int, height: int) -> None:
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


async def _write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            data = data[os.write(fd, data) :]
        except BlockingIOError:
            await _writable(fd)


async def _writable(fd: int) -> None:
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    loop.add_writer(fd, resolve, ready)
    try:
        await ready
    finally:
        loop.remove_writer(fd)


async def _read_capped(reader: asyncio.StreamReader) -> bytes:
    chunks, size = [], 0
    while chunk := await reader.read(READ_SIZE):
        if size < EXEC_OUTPUT_LIMIT:
            chunks.append(chunk[: EXEC_OUTPUT_LIMIT - size])
        size += len(chunk)
    return b"".join(chunks)

