"""``pilothouse server`` (the control plane, flags named as k3s names them) and
``pilothouse kubectl`` (the installed kubectl with the admin kubeconfig)."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import shutil
import signal
import sys
from pathlib import Path

import click

DEFAULT_DATA_DIR = Path("/var/lib/pilothouse")


def _data_dir_option(function):  # type: ignore[no-untyped-def]
    return click.option(
        "--data-dir", "-d", type=click.Path(path_type=Path),
        default=lambda: Path(os.environ.get("PILOTHOUSE_DATA_DIR", DEFAULT_DATA_DIR)),
        show_default=str(DEFAULT_DATA_DIR), help="Folder holding state, certificates and the store.",
    )(function)


@click.command()
@_data_dir_option
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
) -> None:
    """Run the control plane: API server over the store (more components join later)."""
    from pilothouse.apiserver.server import ServerConfig
    from pilothouse.cli.controlplane import ControlPlane

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
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
    asyncio.run(_serve(ControlPlane(config), config))


async def _serve(control_plane, config) -> None:  # type: ignore[no-untyped-def]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await control_plane.start()
    kubeconfig = config.write_kubeconfig or config.data_dir / "admin.kubeconfig"
    click.echo(
        f"pilothouse is serving the Kubernetes API at {config.url}\n"
        f"  export KUBECONFIG={kubeconfig}\n"
        f"  kubectl get namespaces\n"
        f"(or: pilothouse kubectl --data-dir {config.data_dir} get namespaces)",
        err=True,
    )
    try:
        await stop.wait()
    finally:
        await control_plane.stop()


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas (as MALLOC_ARENA_MAX=2 would) before threads start.

    Every thread that allocates (SQLite readers, the writer, executors) otherwise gets its
    own arena, and each keeps the memory it freed: a server that served a burst of large
    lists would keep hundreds of MB it no longer uses."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return  # not glibc: nothing to tune
    m_arena_max = -8
    libc.mallopt(m_arena_max, arenas)


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False,
                      "help_option_names": []},
)
@_data_dir_option
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
