"""``pilothouse agent``: join this machine (or network namespace) to a cluster as a node.

Flags are k3s': ``--server``, ``--token`` (or ``--token-file``), ``--node-name``,
``--node-ip``, ``--node-label k=v``, ``--node-taint k=v:Effect``. The node options are shared
with ``pilothouse server``, whose embedded agent takes the same ones.

Under ``--data-dir D`` the node keeps its state in D/agent (credentials, runtime, images,
pods, logs), static pod manifests in D/manifests and registry settings in D/registries.yaml:
the layout of the server's own node.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

import click

from pilothouse.cli.memory import limit_malloc_arenas, trim_periodically
from pilothouse.cli.server import data_dir_option, node_options

log = logging.getLogger(__name__)

TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def parse_label(text: str) -> tuple[str, str]:
    from pilothouse.api.validation import is_label_value, is_qualified_name

    key, sep, value = text.partition("=")
    problems = is_qualified_name(key) + is_label_value(value) if sep else ["expected key=value"]
    if problems:
        raise ValueError(f'invalid node label "{text}": {"; ".join(problems)}')
    return key, value


def parse_taint(text: str) -> dict[str, str]:
    """``key=value:Effect`` or ``key:Effect``, as the kubelet's --register-with-taints."""
    from pilothouse.api.validation import is_label_value, is_qualified_name

    spec, sep, effect = text.rpartition(":")
    key, _, value = spec.partition("=")
    problems = [] if sep else ["expected key=value:Effect"]
    if sep:
        problems += is_qualified_name(key) + is_label_value(value)
        if effect not in TAINT_EFFECTS:
            problems.append(f"effect must be one of {', '.join(TAINT_EFFECTS)}")
    if problems:
        raise ValueError(f'invalid node taint "{text}": {"; ".join(problems)}')
    taint = {"key": key, "effect": effect}
    if value:
        taint["value"] = value
    return taint


def default_node_name() -> str:
    return socket.gethostname().lower()


def kubelet_config(
    data_dir: Path,
    *,
    node_name: str | None,
    node_ip: str,
    node_label: tuple[str, ...],
    node_taint: tuple[str, ...],
    kubelet_port: int,
    pod_bridge: str,
    block_pod_egress: bool,
    control_plane: bool = False,
) -> Any:
    """The KubeletConfig of a node under ``data_dir``; ClickException for bad options."""
    from pilothouse.api.validation import is_dns1123_subdomain
    from pilothouse.kubelet.config import KubeletConfig

    name = node_name or default_node_name()
    problems = is_dns1123_subdomain(name)
    if problems:
        raise click.BadParameter(f'"{name}": {"; ".join(problems)}', param_hint="--node-name")
    try:
        labels = dict(parse_label(text) for text in node_label)
        taints = [parse_taint(text) for text in node_taint]
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    return KubeletConfig(
        node_name=name,
        data_dir=data_dir / "agent",
        node_ip=node_ip,
        node_labels=labels,
        node_taints=taints,
        control_plane=control_plane,
        port=kubelet_port,
        manifests_path=data_dir / "manifests",
        registries_path=data_dir / "registries.yaml",
        bridge=pod_bridge,
        block_pod_egress=block_pod_egress,
    )


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # pyroute2 logs every netlink message at debug level: too much even for debugging us.
    logging.getLogger("pyroute2").setLevel(max(logging.INFO, logging.getLogger().level))


@click.command()
@data_dir_option
@click.option("--server", "-s", envvar="PILOTHOUSE_URL", required=True,
              help="URL of the API server, e.g. https://10.0.0.1:6443.")
@click.option("--token", "-t", envvar="PILOTHOUSE_TOKEN", default=None,
              help="Join token (DATA_DIR/token on the server, or `pilothouse token create`); "
                   "needed only the first time.")
@click.option("--token-file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="File holding the join token.")
@node_options
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]))
def agent(
    data_dir: Path,
    server: str,
    token: str | None,
    token_file: Path | None,
    log_level: str,
    **node: Any,
) -> None:
    """Run a node that joins the cluster at --server."""
    from pilothouse.kubelet.agent import Agent
    from pilothouse.kubelet.bootstrap import JoinToken

    if token is None and token_file is not None:
        token = token_file.read_text().strip()
    if token is not None:
        try:
            JoinToken.parse(token)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--token") from None
    config = kubelet_config(data_dir, **node)
    configure_logging(log_level)
    limit_malloc_arenas()
    asyncio.run(serve(Agent(config, server=server.rstrip("/"), token=token)))


class Service(Protocol):
    async def start(self) -> None: ...
    async def wait(self) -> None: ...
    async def stop(self) -> None: ...


async def serve(service: Service, *, on_started: Callable[[], None] = lambda: None) -> None:
    """Starts ``service`` and runs it until SIGTERM or SIGINT (also while it is starting) or
    until it fails; stops it in every case. Failures become a ClickException (exit 1)."""
    from pilothouse.kubelet.agent import NodeAddressError
    from pilothouse.kubelet.bootstrap import BootstrapError

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        if await _first(service.start(), stopped) is stopped:
            return
        # What start-up built (schemas, registries, caches) lives as long as the process:
        # keep the cyclic collector from walking it again on every full collection.
        gc.freeze()
        trimming = asyncio.ensure_future(trim_periodically())
        on_started()
        try:
            await _first(service.wait(), stopped)
        finally:
            trimming.cancel()
    except (BootstrapError, NodeAddressError) as e:
        raise click.ClickException(str(e)) from None
    except Exception as e:
        log.exception("failed")
        raise click.ClickException(f"failed: {e!r}") from None
    finally:
        stopped.cancel()
        await service.stop()


async def _first(work: Awaitable[Any], stopped: asyncio.Future[Any]) -> asyncio.Future[Any]:
    """Waits for ``work`` or ``stopped``, whichever comes first; cancels ``work`` if it did
    not finish, raises its exception if it failed, and returns the one that finished."""
    task = asyncio.ensure_future(work)
    await asyncio.wait([task, stopped], return_when=asyncio.FIRST_COMPLETED)
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return stopped
    task.result()
    return task
