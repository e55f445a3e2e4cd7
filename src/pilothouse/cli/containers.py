"""Docker-style container commands: ``run``, ``ps``, ``logs``, ``exec``, ``stop``, ``rm``.

Daemonless like podman: each command opens the runtime under ``--root`` (or
``$PILOTHOUSE_ROOT``: containers in ``<root>/runtime``, images in ``<root>/images``) and
drives it directly; containers keep running under their monitors after the command exits,
and the runtime's file locks let concurrent commands and a kubelet share the root.

Exit codes are Docker's: ``run`` exits with the container's code (``exec`` with the
command's), 125 when pilothouse itself fails, 126 when the command cannot be invoked, 127
when it is not found; the other commands exit 1 on errors. Errors print ``Error: ...``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shlex
import signal
import sys
import termios
import threading
import time
import tty
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from pilothouse.cli.images import format_table, human_duration, open_store, root_option
from pilothouse.runtime.errors import (
    CommandNotExecutable,
    CommandNotFound,
    ContainerRuntimeError,
    InvalidArgument,
)
from pilothouse.runtime.images.errors import ImageError, ImageNotFound
from pilothouse.runtime.images.snapshots import Snapshotter
from pilothouse.runtime.interface import ContainerState, StreamingSession
from pilothouse.runtime.oci.context import RuntimeSettings
from pilothouse.runtime.oci.runtime import LocalRuntime
from pilothouse.runtime.standalone import (
    ContainerView,
    RunRequest,
    StandaloneContainers,
    parse_port,
    parse_volume,
)

Command = TypeVar("Command", bound=Callable[..., Any])
RUNTIME_FAILED, CANNOT_INVOKE, NOT_FOUND = 125, 126, 127
COMMAND_WIDTH = 20
MEMORY_UNITS = {"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}  # Docker's, lowercase


# -- plumbing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuntimeLocation:
    """Which runtime a command works on: its data directory, OCI runtime and cgroup parent."""

    root: Path
    oci_runtime: str | None
    cgroup_parent: str

    def open(self) -> tuple[LocalRuntime, StandaloneContainers]:
        store = open_store(self.root)
        snapshots = Snapshotter(self.root / "runtime" / "snapshots", store)
        settings = RuntimeSettings(
            root=self.root / "runtime", oci_runtime=self.oci_runtime, cgroup_parent=self.cgroup_parent
        )
        runtime = LocalRuntime(settings, images=store, snapshots=snapshots)
        return runtime, StandaloneContainers(runtime, store)

    def options(self) -> list[str]:
        """The command-line options that select this runtime again."""
        chosen = ["--root", str(self.root), "--cgroup-parent", self.cgroup_parent]
        return chosen + (["--oci-runtime", self.oci_runtime] if self.oci_runtime else [])


def runtime_options(command: Command) -> Command:
    """``--root``, ``--oci-runtime`` and ``--cgroup-parent``, handed over as ``location``."""

    @functools.wraps(command)
    def wrapper(*args: Any, root: Path, oci_runtime: str | None, cgroup_parent: str, **kwargs: Any) -> Any:
        return command(*args, location=RuntimeLocation(root, oci_runtime, cgroup_parent), **kwargs)

    wrapped = click.option(
        "--oci-runtime",
        type=click.Choice(["crun", "runc"]),
        envvar="PILOTHOUSE_OCI_RUNTIME",
        help="OCI runtime (default: crun if installed, else runc)",
    )(wrapper)
    wrapped = click.option(
        "--cgroup-parent",
        envvar="PILOTHOUSE_CGROUP_PARENT",
        default=RuntimeSettings.cgroup_parent,
        show_default=True,
        help="cgroup under which containers run",
    )(wrapped)
    return root_option(wrapped)  # type: ignore[return-value]


def exits_on_errors(code: int) -> Callable[[Command], Command]:
    """Prints runtime and image errors as Docker does and exits with ``code`` (126/127 kept)."""

    def decorate(command: Command) -> Command:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return command(*args, **kwargs)
            except (ContainerRuntimeError, ImageError, OSError) as error:
                click.echo(f"Error: {error}", err=True)
                if code == RUNTIME_FAILED and isinstance(error, CommandNotFound):
                    sys.exit(NOT_FOUND)
                if code == RUNTIME_FAILED and isinstance(error, CommandNotExecutable):
                    sys.exit(CANNOT_INVOKE)
                sys.exit(code)

        return wrapper  # type: ignore[return-value]

    return decorate


def run_async(coroutine: Coroutine[Any, Any, int | None]) -> None:
    code = asyncio.run(coroutine)
    if code:
        sys.exit(code)


# -- run ---------------------------------------------------------------------------------------


@click.command(context_settings={"ignore_unknown_options": False, "allow_interspersed_args": False})
@runtime_options
@click.option("--rm", "auto_remove", is_flag=True, help="remove the container when it exits")
@click.option("-d", "--detach", is_flag=True, help="run in the background and print the container id")
@click.option("-i", "--interactive", is_flag=True, help="keep stdin open and attached")
@click.option("-t", "--tty", is_flag=True, help="allocate a pseudo-terminal")
@click.option("--name", default="", help="container name")
@click.option("-e", "--env", multiple=True, metavar="KEY=VALUE", help="environment variable")
@click.option("-v", "--volume", multiple=True, metavar="HOST:CONTAINER[:ro]", help="bind mount")
@click.option("-p", "--publish", multiple=True, metavar="[IP:]HOST:CONTAINER", help="publish a TCP port on a loopback address (default 127.0.0.1)")
@click.option("--memory", "-m", default=None, metavar="QUANTITY", help="memory limit: 64Mi, 1G or Docker's 64m")
@click.option("--cpus", default=None, type=float, help="CPU limit, in CPUs (0.5)")
@click.option("--pids-limit", default=0, type=int, help="maximum number of processes")
@click.option("-u", "--user", default="", help="user: name, uid, uid:gid or name:gid")
@click.option("-w", "--workdir", default="", help="working directory in the container")
@click.option("--entrypoint", default=None, help="override the image's ENTRYPOINT")
@click.argument("image")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@exits_on_errors(RUNTIME_FAILED)
def run(
    location: RuntimeLocation,
    auto_remove: bool,
    detach: bool,
    interactive: bool,
    tty: bool,
    name: str,
    env: tuple[str, ...],
    volume: tuple[str, ...],
    publish: tuple[str, ...],
    memory: str | None,
    cpus: float | None,
    pids_limit: int,
    user: str,
    workdir: str,
    entrypoint: str | None,
    image: str,
    command: tuple[str, ...],
) -> None:
    """Run a command in a new container."""
    request = RunRequest(
        image=image,
        args=list(command) or None,
        entrypoint=shlex.split(entrypoint) if entrypoint is not None else None,
        name=name,
        env=list(env),
        mounts=[parse_volume(v) for v in volume],
        ports=[parse_port(p) for p in publish],
        memory=parse_memory(memory) if memory else 0,
        cpus=parse_cpus(cpus),
        pids_limit=pids_limit,
        user=user,
        workdir=workdir,
        tty=tty,
        stdin=interactive,
    )
    run_async(_run(location, request, detach=detach, auto_remove=auto_remove))


async def _run(location: RuntimeLocation, request: RunRequest, *, detach: bool, auto_remove: bool) -> int:
    runtime, containers = location.open()
    await _ensure_image(containers, request.image)
    exit_command = _remove_command(location) if auto_remove and detach else None
    container_id = await containers.create(request, exit_command=exit_command)
    if detach:
        try:
            await runtime.start_container(container_id)
        except BaseException:
            await containers.remove(containers.find(container_id), force=True)
            raise
        click.echo(container_id)
        return 0
    try:
        session = await runtime.attach(container_id, stdin=request.stdin)
        with _forwarded_signals(runtime, container_id, enabled=not request.tty):
            await pump(
                session,
                stdin=request.stdin,
                tty=request.tty,
                start=functools.partial(runtime.start_container, container_id),
            )
        return await runtime.wait_container(container_id)
    finally:
        if auto_remove:
            await containers.remove(containers.find(container_id), force=True)


async def _ensure_image(containers: StandaloneContainers, reference: str) -> None:
    try:
        containers.images.resolve(reference)
    except ImageNotFound:
        from pilothouse.runtime.images.progress import TerminalProgress  # only when pulling

        click.echo(f"Unable to find image '{reference}' locally", err=True)
        await containers.ensure_image(reference, progress=TerminalProgress(sys.stderr))


def _remove_command(location: RuntimeLocation) -> Callable[[str], list[str]]:
    """What the monitor runs after a ``run -d --rm`` container exits: ``pilothouse rm -f``."""
    program = "from pilothouse.cli.main import main; main()"
    return lambda container_id: [sys.executable, "-c", program, "rm", "--force", *location.options(), container_id]


@contextlib.contextmanager
def _forwarded_signals(runtime: LocalRuntime, container_id: str, *, enabled: bool) -> Iterator[None]:
    """Ctrl-C and SIGTERM go to the container, as Docker's --sig-proxy does."""
    if not enabled:
        yield
        return
    loop = asyncio.get_running_loop()
    forwarded = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def forward(number: int) -> None:
        asyncio.ensure_future(_kill_quietly(runtime, container_id, number))

    for number in forwarded:
        loop.add_signal_handler(number, forward, number)
    try:
        yield
    finally:
        for number in forwarded:
            loop.remove_signal_handler(number)


async def _kill_quietly(runtime: LocalRuntime, container_id: str, number: int) -> None:
    with contextlib.suppress(ContainerRuntimeError):
        await runtime.kill_container(container_id, number)


def parse_memory(text: str) -> int:
    """Kubernetes quantities (``64Mi``, ``1G``, ``1e9``) or Docker's (``64m``, ``1g``)."""
    from pilothouse.api.quantity import parse_quantity

    value = text.strip()
    if value[-1:] in MEMORY_UNITS and value[:-1].isdigit():
        amount = int(value[:-1]) * MEMORY_UNITS[value[-1]]
    else:
        try:
            amount = parse_quantity(value).value()
        except ValueError:
            raise InvalidArgument(f"invalid memory quantity {text!r}") from None
    if amount <= 0:
        raise InvalidArgument(f"invalid memory quantity {text!r}: it must be positive")
    return amount


def parse_cpus(cpus: float | None) -> float:
    if cpus is None:
        return 0.0
    available = os.cpu_count() or 1
    if not 0 < cpus <= available:
        raise InvalidArgument(f"invalid --cpus {cpus}: the range is 0.01 to {available}")
    return cpus


# -- streams to this terminal ------------------------------------------------------------------


async def pump(
    session: StreamingSession,
    *,
    stdin: bool,
    tty: bool,
    start: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Copies the session's output to ours and our stdin to it, until its output ends.

    ``start`` (starting an attached container) is awaited once the terminal is set up and
    its size sent, so that the container's first output already sees the right size.
    """
    copies = []
    if session.stdout is not None:
        copies.append(asyncio.ensure_future(_copy_out(session.stdout, sys.stdout.fileno())))
    if session.stderr is not None:
        copies.append(asyncio.ensure_future(_copy_out(session.stderr, sys.stderr.fileno())))
    async with _window_size(session, enabled=tty):
        with _raw_terminal(enabled=tty and sys.stdin.isatty()):
            if start is not None:
                await start()
            feeding = asyncio.ensure_future(_copy_in(session)) if stdin else None
            await asyncio.gather(*copies)
            if feeding is not None:
                feeding.cancel()


async def _copy_out(reader: asyncio.StreamReader, fd: int) -> None:
    while data := await reader.read(65536):
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]


async def _copy_in(session: StreamingSession) -> None:
    """Our stdin to the session; a daemon thread reads, so a blocked read never holds exit."""
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes] = asyncio.Queue()

    def read() -> None:
        while True:
            try:
                data = os.read(sys.stdin.fileno(), 65536)
            except OSError:
                data = b""
            loop.call_soon_threadsafe(chunks.put_nowait, data)
            if not data:
                return

    threading.Thread(target=read, name="stdin", daemon=True).start()
    while data := await chunks.get():
        await session.write_stdin(data)
    await session.close_stdin()


def _terminal_size() -> tuple[int, int] | None:
    if not sys.stdout.isatty():
        return None
    size = os.get_terminal_size(sys.stdout.fileno())
    return size.columns, size.lines


@contextlib.contextmanager
def _raw_terminal(*, enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@contextlib.asynccontextmanager
async def _window_size(session: StreamingSession, *, enabled: bool) -> AsyncIterator[None]:
    """Gives the session our terminal's size now and whenever it changes."""
    if not enabled or _terminal_size() is None:
        yield
        return

    async def resize() -> None:
        size = _terminal_size()
        if size is not None:
            await session.resize(*size)

    loop = asyncio.get_running_loop()
    await resize()
    loop.add_signal_handler(signal.SIGWINCH, lambda: asyncio.ensure_future(resize()))
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGWINCH)


# -- ps ----------------------------------------------------------------------------------------


@click.command()
@runtime_options
@click.option("-a", "--all", "show_all", is_flag=True, help="show all containers (default: running only)")
@click.option("-q", "--quiet", is_flag=True, help="only display container ids")
@click.option("--no-trunc", is_flag=True, help="do not truncate ids and commands")
@exits_on_errors(1)
def ps(location: RuntimeLocation, show_all: bool, quiet: bool, no_trunc: bool) -> None:
    """List containers."""
    _, containers = location.open()
    views = [v for v in containers.list() if show_all or v.state == ContainerState.RUNNING]
    if quiet:
        for view in views:
            click.echo(view.id if no_trunc else view.id[:12])
        return
    header = ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    now = time.time_ns()
    click.echo(format_table([header] + [_ps_row(v, now, no_trunc) for v in views]))


def _ps_row(view: ContainerView, now: int, no_trunc: bool) -> list[str]:
    command = '"' + " ".join(view.argv).replace('"', '\\"') + '"'
    if not no_trunc and len(command) > COMMAND_WIDTH:
        command = command[: COMMAND_WIDTH - 1] + "…"
    ports = ", ".join(f"{p.host_ip or '127.0.0.1'}:{p.host_port}->{p.container_port}/tcp" for p in view.ports)
    return [
        view.id if no_trunc else view.id[:12],
        view.image,
        command,
        _ago(now, view.created_at),
        _status(view, now),
        ports,
        view.name,
    ]


def _status(view: ContainerView, now: int) -> str:
    if view.state == ContainerState.RUNNING:
        return f"Up {human_duration((now - view.started_at) / 1e9)}"
    if view.state == ContainerState.EXITED:
        return f"Exited ({view.exit_code}) {_ago(now, view.finished_at)}"
    return "Created"


def _ago(now: int, then: int) -> str:
    return f"{human_duration(max(now - then, 0) / 1e9)} ago"


# -- logs --------------------------------------------------------------------------------------


@click.command()
@runtime_options
@click.option("-f", "--follow", is_flag=True, help="follow the output")
@click.option("-n", "--tail", default="all", help="number of lines from the end (default: all)")
@click.option("-t", "--timestamps", is_flag=True, help="show timestamps")
@click.argument("container")
@exits_on_errors(1)
def logs(location: RuntimeLocation, follow: bool, tail: str, timestamps: bool, container: str) -> None:
    """Show a container's output."""
    if tail != "all" and not tail.isdigit():
        raise ContainerRuntimeError(f"invalid --tail {tail!r}: a number of lines or all")
    run_async(_logs(location, container, follow=follow, tail=tail, timestamps=timestamps))


async def _logs(location: RuntimeLocation, reference: str, *, follow: bool, tail: str, timestamps: bool) -> int:
    from pilothouse.runtime.logs import (  # kept off the other commands' start-up
        LogOptions,
        read_logs,
    )

    runtime, containers = location.open()
    view = containers.find(reference)
    status = await runtime.container_status(view.id)
    options = LogOptions(follow=follow, tail_lines=None if tail == "all" else int(tail), timestamps=timestamps)

    def running() -> bool:
        return runtime.containers.load(view.id).finished_at == 0

    async for stream, data in read_logs(Path(status.log_path), options, running=running):
        os.write(sys.stdout.fileno() if stream == "stdout" else sys.stderr.fileno(), data)
    return 0


# -- exec --------------------------------------------------------------------------------------


@click.command("exec", context_settings={"allow_interspersed_args": False})
@runtime_options
@click.option("-i", "--interactive", is_flag=True, help="keep stdin open")
@click.option("-t", "--tty", is_flag=True, help="allocate a pseudo-terminal")
@click.argument("container")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@exits_on_errors(RUNTIME_FAILED)
def exec_(location: RuntimeLocation, interactive: bool, tty: bool, container: str, command: tuple[str, ...]) -> None:
    """Run a command in a running container."""
    run_async(_exec(location, container, list(command), interactive=interactive, tty=tty))


async def _exec(location: RuntimeLocation, reference: str, command: list[str], *, interactive: bool, tty: bool) -> int | None:
    runtime, containers = location.open()
    view = containers.find(reference)
    size = _terminal_size() if tty else None
    session = await runtime.exec(view.id, command, tty=tty, stdin=interactive, terminal_size=size)
    await pump(session, stdin=interactive, tty=tty)
    return await session.wait()


# -- stop and rm -------------------------------------------------------------------------------


@click.command()
@runtime_options
@click.option("-t", "--time", "timeout", default=10, show_default=True, help="seconds to wait before killing")
@click.argument("containers", nargs=-1, required=True)
@exits_on_errors(1)
def stop(location: RuntimeLocation, timeout: int, containers: tuple[str, ...]) -> None:
    """Stop running containers: their stop signal, then SIGKILL after the timeout."""
    run_async(_each(location, containers, lambda c, view: c.stop(view, timeout)))


@click.command()
@runtime_options
@click.option("-f", "--force", is_flag=True, help="kill and remove running containers")
@click.argument("containers", nargs=-1, required=True)
@exits_on_errors(1)
def rm(location: RuntimeLocation, force: bool, containers: tuple[str, ...]) -> None:
    """Remove containers."""
    run_async(_each(location, containers, lambda c, view: c.remove(view, force=force)))


async def _each(
    location: RuntimeLocation,
    references: tuple[str, ...],
    action: Callable[[StandaloneContainers, ContainerView], Coroutine[Any, Any, None]],
) -> int:
    """Applies ``action`` to each container, echoing its reference as Docker does."""
    _, containers = location.open()
    failed = 0
    for reference in references:
        try:
            await action(containers, containers.find(reference))
        except ContainerRuntimeError as error:
            click.echo(f"Error: {error}", err=True)
            failed = 1
            continue
        click.echo(reference)
    return failed
