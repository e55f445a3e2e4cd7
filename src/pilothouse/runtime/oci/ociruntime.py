"""The OCI runtime binary: crun (preferred) or runc, and the verbs pilothouse uses.

``create`` is run by the container monitor (conmon) through :attr:`OCIRuntime.create_path`;
the other verbs (start, kill, delete, state, update, exec) are run from here. Every call
passes ``--root`` so that pilothouse's containers live in their own state directory.

crun refuses to create containers on a hybrid cgroup layout (cgroup v1 controllers plus a
cgroup2 tree holding some controller). :func:`write_hybrid_wrapper` makes a small script
that runs ``crun create``/``run`` in a mount namespace of its own where the cgroup2 tree is
unmounted; its mounts are slaves of the host's, so nothing it does reaches the host, and
the namespace vanishes when crun exits (the container has its own by then). runc needs no
wrapper.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import (
    CommandNotExecutable,
    CommandNotFound,
    ContainerRuntimeError,
    NotFound,
    OCIRuntimeError,
)
from ..interface import LinuxContainerResources

SUPPORTED = ("crun", "runc")


@dataclass(frozen=True)
class OCIRuntime:
    name: str  # "crun" or "runc"
    binary: Path
    state_root: Path
    create_path: Path  # what runs ``create`` and ``run``: the binary or the hybrid wrapper

    def global_args(self) -> list[str]:
        return ["--root", str(self.state_root)]

    async def start(self, container_id: str) -> None:
        await self._run("start", container_id)

    async def kill(self, container_id: str, signal: int, *, all_processes: bool = False) -> None:
        """Sends ``signal``; a container that is already stopped is not an error."""
        try:
            await self._run("kill", *(["--all"] if all_processes else []), container_id, str(signal))
        except OCIRuntimeError as error:
            if not _means_stopped(str(error)):
                raise

    async def delete(self, container_id: str, *, force: bool = True) -> None:
        """Deletes the container (and its cgroup); one that does not exist is not an error."""
        try:
            await self._run("delete", *(["--force"] if force else []), container_id)
        except OCIRuntimeError as error:
            if not _means_missing(str(error)):
                raise

    async def state(self, container_id: str) -> dict[str, Any]:
        try:
            return json.loads(await self._run("state", container_id))
        except OCIRuntimeError as error:
            if _means_missing(str(error)):
                raise NotFound(f"container {container_id} is not known to {self.name}") from None
            raise

    async def update(self, container_id: str, resources: LinuxContainerResources) -> None:
        """Changes CPU, cpuset, memory and pids limits (not raw cgroup v2 files)."""
        flags = {
            "--cpu-share": resources.cpu_shares,
            "--cpu-period": resources.cpu_period,
            "--cpu-quota": resources.cpu_quota,
            "--cpuset-cpus": resources.cpuset_cpus,
            "--cpuset-mems": resources.cpuset_mems,
            "--memory": resources.memory_limit_in_bytes,
            "--memory-swap": resources.memory_swap_limit_in_bytes,
            "--pids-limit": resources.pids_limit,
        }
        args = [f"{flag}={value}" for flag, value in flags.items() if value]
        if args:
            await self._run("update", *args, container_id)

    def exec_argv(
        self,
        container_id: str,
        *,
        process_file: Path,
        pid_file: Path,
        tty: bool = False,
        console_socket: Path | None = None,
    ) -> list[str]:
        """``exec`` of the process described in ``process_file``; with a TTY, its master goes
        to ``console_socket`` if given (crun), else the runtime relays it to its own stdio."""
        argv = [str(self.binary), *self.global_args(), "exec", "--process", str(process_file)]
        argv += ["--pid-file", str(pid_file)]
        if tty:
            argv.append("--tty")
        if console_socket is not None:
            argv += ["--console-socket", str(console_socket)]
        return [*argv, container_id]

    def run_argv(self, bundle: Path, container_id: str) -> list[str]:
        """``run`` in the foreground, for one-shot containers and benchmarks."""
        return [str(self.create_path), *self.global_args(), "run", "--bundle", str(bundle), container_id]

    async def _run(self, *args: str) -> str:
        process = await asyncio.create_subprocess_exec(
            str(self.binary),
            *self.global_args(),
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        if process.returncode != 0:
            message = err.decode(errors="replace").strip() or f"exit status {process.returncode}"
            raise OCIRuntimeError(f"{self.name} {args[0]}: {message}")
        return out.decode()


def select_runtime(preferred: str | None, *, root: Path, hybrid_v2: Path | None) -> OCIRuntime:
    """crun, else runc (or the one asked for); crun on hybrid cgroups gets the wrapper.

    A root keeps the runtime it was first used with (``root/oci-runtime``): its containers
    are known only to that one. Its state lives in ``root/<name>``, the wrapper in ``root/bin``.
    """
    chosen_file = root / "oci-runtime"
    chosen = chosen_file.read_text().strip() if chosen_file.exists() else ""
    if chosen and preferred and preferred != chosen:
        raise OCIRuntimeError(f"{root} holds containers of {chosen}; it cannot be used with {preferred}")
    wanted = chosen or preferred
    names = [wanted] if wanted else list(SUPPORTED)
    for name in names:
        if name not in SUPPORTED:
            raise OCIRuntimeError(f"unsupported OCI runtime {name!r}: choose crun or runc")
        found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
        if found is None:
            continue
        binary = Path(found)
        state_root = root / name
        state_root.mkdir(parents=True, exist_ok=True)
        if not chosen:
            chosen_file.write_text(name)
        create_path = binary
        if name == "crun" and hybrid_v2 is not None:
            create_path = write_hybrid_wrapper(root / "bin" / "crun-hybrid", binary, hybrid_v2)
        return OCIRuntime(name=name, binary=binary, state_root=state_root, create_path=create_path)
    raise OCIRuntimeError(f"no OCI runtime found: install {' or '.join(names)}")


def write_hybrid_wrapper(path: Path, crun: Path, hybrid_v2: Path) -> Path:
    script = (
        "#!/bin/sh\n"
        "# Written by pilothouse: crun refuses to create containers while a cgroup2 tree with\n"
        "# controllers is mounted beside cgroup v1. Hide it in a throwaway mount namespace.\n"
        f"exec unshare --mount --propagation slave -- /bin/sh -c "
        f"'umount {hybrid_v2} && exec \"$0\" \"$@\"' {crun} \"$@\"\n"
    )
    if not path.exists() or path.read_text() != script:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{os.getpid()}")
        temp.write_text(script)
        temp.chmod(0o755)
        temp.rename(path)
    return path


def start_error(message: str) -> ContainerRuntimeError:
    """The error for a process that could not be started, by what crun or runc said."""
    text = message.lower()
    if "not found" in text or "no such file" in text:
        return CommandNotFound(message)
    if "permission denied" in text:
        return CommandNotExecutable(message)
    return OCIRuntimeError(message)


def _means_missing(message: str) -> bool:
    text = message.lower()
    return "does not exist" in text or "no such file" in text or "not found" in text


def _means_stopped(message: str) -> bool:
    text = message.lower()
    return _means_missing(message) or "not running" in text or "process already" in text or "no such process" in text
