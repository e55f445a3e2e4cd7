"""``pilothouse server`` (the control plane and this machine's node, flags named as k3s
names them) and ``pilothouse kubectl`` (the installed kubectl with the admin kubeconfig)."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

DEFAULT_DATA_DIR = Path("/var/lib/pilothouse")

Command = TypeVar("Command", bound=Callable[..., Any])


def data_dir_option(command: Command) -> Command:
    return click.option(
        "--data-dir", "-d", type=click.Path(path_type=Path),
        default=lambda: Path(os.environ.get("PILOTHOUSE_DATA_DIR", DEFAULT_DATA_DIR)),
        show_default=str(DEFAULT_DATA_DIR), help="Folder holding state, certificates and the store.",
    )(command)


def node_options(command: Command) -> Command:
    """The options of a node, for ``agent`` and for the server's own node."""
    options = [
        click.option("--node-name", default=None,
                     help="Name of the node [default: this machine's host name]."),
        click.option("--node-ip", default="",
                     help="Address the node is reached at [default: the source address of "
                          "the route to the server, or of the default route]."),
        click.option("--node-label", multiple=True, metavar="KEY=VALUE",
                     help="Label the node at registration (repeatable)."),
        click.option("--node-taint", multiple=True, metavar="KEY=VALUE:EFFECT",
                     help="Taint the node at registration (repeatable)."),
        click.option("--kubelet-port", default=10250, show_default=True, type=int,
                     help="Port of the kubelet's HTTPS server (logs, exec, port-forward)."),
        click.option("--pod-bridge", default="ph0", show_default=True,
                     help="Name of the node's pod bridge (differ it for nodes sharing one "
                          "network namespace)."),
        click.option("--block-pod-egress", is_flag=True,
                     help="Drop pod traffic to destinations outside the cluster instead of "
                          "masquerading it."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command()
@data_dir_option
@click.option("--bind-address", default="127.0.0.1", show_default=True,
              help="Address the API server listens on.")
@click.option("--https-listen-port", default=6443, show_default=True, type=int,
              help="Port the API server listens on.")
@click.option("--write-kubeconfig", type=click.Path(path_type=Path), default=None,
              help="Where to write the admin kubeconfig [default: DATA_DIR/admin.kubeconfig].")
@click.option("--datastore-endpoint", default=None,
              help="Store URL; the scheme picks the backend [default: SQLite in DATA_DIR].")
@click.option("--disable-agent", is_flag=True,
              help="Run the control plane only, without a node on this machine.")
@click.option("--cluster-cidr", default="10.244.0.0/16", show_default=True,
              help="Pod addresses.")
@click.option("--service-cidr", default="10.96.0.0/12", show_default=True,
              help="Service virtual IP addresses.")
@click.option("--tls-san", multiple=True, help="Extra names or IPs for the serving certificate.")
@node_options
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]))
def server(
    data_dir: Path,
    bind_address: str,
    https_listen_port: int,
    write_kubeconfig: Path | None,
    datastore_endpoint: str | None,
    disable_agent: bool,
    cluster_cidr: str,
    service_cidr: str,
    tls_san: tuple[str, ...],
    log_level: str,
    **node: Any,
) -> None:
    """Run the control plane (API server over the store, controllers) and this machine's
    node, unless --disable-agent."""
    from pilothouse.apiserver.server import ServerConfig
    from pilothouse.cli.agent import configure_logging, kubelet_config, serve
    from pilothouse.cli.controlplane import ControlPlane
    from pilothouse.cli.memory import limit_malloc_arenas

    agent = None if disable_agent else kubelet_config(data_dir, control_plane=True, **node)
    configure_logging(log_level)
    limit_malloc_arenas()
    config = ServerConfig(
        data_dir=data_dir,
        bind_address=bind_address,
        port=https_listen_port,
        datastore_endpoint=datastore_endpoint,
        service_cidr=service_cidr,
        cluster_cidr=cluster_cidr,
        write_kubeconfig=write_kubeconfig,
        extra_sans=list(tls_san),
    )
    control_plane = ControlPlane(config, agent=agent)
    asyncio.run(serve(control_plane, on_started=lambda: _print_started(config)))


def _print_started(config) -> None:  # type: ignore[no-untyped-def]
    kubeconfig = config.write_kubeconfig or config.data_dir / "admin.kubeconfig"
    click.echo(
        f"pilothouse is serving the Kubernetes API at {config.url}\n"
        f"  export KUBECONFIG={kubeconfig}\n"
        f"  kubectl get nodes\n"
        f"(or: pilothouse kubectl --data-dir {config.data_dir} get nodes)\n"
        f"Another machine joins as a node with:\n"
        f"  pilothouse agent --server https://<this server's address>:{config.port} "
        f"--token <the token in {config.data_dir / 'token'}>",
        err=True,
    )


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False,
                      "help_option_names": []},
)
@data_dir_option
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def kubectl(data_dir: Path, args: tuple[str, ...]) -> None:
    """Run the installed kubectl against this cluster (admin credentials)."""
    binary = shutil.which("kubectl")
    if binary is None:
        raise click.ClickException("kubectl is not installed (looked on PATH)")
    kubeconfig = data_dir / "admin.kubeconfig"
    if not kubeconfig.exists():
        raise click.ClickException(
            f"{kubeconfig} does not exist: start the server first (pilothouse server)"
        )
    env = dict(os.environ, KUBECONFIG=str(kubeconfig))
    os.execve(binary, [binary, *args], env)
    sys.exit(127)
