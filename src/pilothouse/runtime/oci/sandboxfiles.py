"""The files a sandbox shares with its containers: hostname, hosts, resolv.conf and /dev/shm.

- ``hostname``: the sandbox's hostname (the host's for a host-network sandbox).
- ``hosts``: the host's for a host-network sandbox, else localhost entries and the hostname
  (the kubelet mounts its own managed file over it once the pod has an IP).
- ``resolv.conf``: from the DNS config (servers, searches, options), else the host's.
- ``shm``: a 64 MiB tmpfs shared by the pod's containers, unless the pod uses the host's IPC
  namespace (then the host's /dev/shm).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from pathlib import Path

from ..interface import DNSConfig, NamespaceMode, PodSandboxConfig
from .spec import SandboxFiles
from .syscalls import MNT_DETACH, mount, umount

HOST_HOSTS = Path("/etc/hosts")
HOST_RESOLV_CONF = Path("/etc/resolv.conf")
HOST_SHM = Path("/dev/shm")
SHM_SIZE = "65536k"
MS_NOSUID, MS_NODEV, MS_NOEXEC = 2, 4, 8


def shared_files(directory: Path, config: PodSandboxConfig) -> SandboxFiles:
    """Where the files of the sandbox in ``directory`` are."""
    own_ipc = config.linux.security_context.namespace_options.ipc != NamespaceMode.NODE
    return SandboxFiles(
        hostname=directory / "hostname",
        hosts=directory / "hosts",
        resolv_conf=directory / "resolv.conf",
        shm=directory / "shm" if own_ipc else HOST_SHM,
    )


def write_sandbox_files(directory: Path, config: PodSandboxConfig) -> SandboxFiles:
    files = shared_files(directory, config)
    assert files.hostname and files.hosts and files.resolv_conf and files.shm
    host_network = config.linux.security_context.namespace_options.network == NamespaceMode.NODE
    hostname = os.uname().nodename if host_network else config.hostname
    files.hostname.write_text(f"{hostname}\n")
    if host_network:
        shutil.copyfile(HOST_HOSTS, files.hosts)
    else:
        files.hosts.write_text(default_hosts(hostname))
    if config.dns_config is None:
        shutil.copyfile(HOST_RESOLV_CONF, files.resolv_conf)
    else:
        files.resolv_conf.write_text(resolv_conf(config.dns_config))
    if files.shm != HOST_SHM:
        files.shm.mkdir(exist_ok=True)
        mount("shm", str(files.shm), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, f"mode=1777,size={SHM_SIZE}")
    return files


def release_sandbox_files(directory: Path) -> None:
    """Unmounts the sandbox's /dev/shm (the files go with the directory)."""
    with contextlib.suppress(FileNotFoundError):
        try:
            umount(str(directory / "shm"), MNT_DETACH)
        except OSError as error:
            if error.errno != errno.EINVAL:  # not mounted
                raise


def default_hosts(hostname: str) -> str:
    lines = [
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "fe00::0\tip6-localnet",
        "ff00::0\tip6-mcastprefix",
        "ff02::1\tip6-allnodes",
        "ff02::2\tip6-allrouters",
    ]
    if hostname:
        lines.append(f"127.0.1.1\t{hostname}")
    return "\n".join(lines) + "\n"


def resolv_conf(dns: DNSConfig) -> str:
    lines = []
    if dns.searches:
        lines.append("search " + " ".join(dns.searches))
    lines += [f"nameserver {server}" for server in dns.servers]
    if dns.options:
        lines.append("options " + " ".join(dns.options))
    return "\n".join(lines) + "\n"
