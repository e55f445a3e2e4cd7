"""Settings of the local runtime, and what it finds out about the machine once at start."""

from __future__ import annotations

import secrets
import shutil
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import OCIRuntimeError
from ..interface import PodNetwork
from .cgroups import Cgroups, detect
from .conmon import Conmon
from .ociruntime import OCIRuntime, select_runtime
from .state import StateStore

if TYPE_CHECKING:
    from ..images.snapshots import Snapshotter
    from ..images.store import ImageStore

CAP_SYS_RESOURCE = 24
MONITOR_CGROUP = "conmon"


@dataclass(frozen=True)
class RuntimeSettings:
    root: Path  # <data dir>/runtime
    cgroup_parent: str = "/pilothouse"  # every pod cgroup lives below it
    oci_runtime: str | None = None  # "crun" or "runc"; None picks crun if installed
    conmon: str = "conmon"
    infra_binary: str = "catatonit"  # run with -P as each sandbox's infra process
    log_size_max: int = 0  # bytes at which the monitor truncates a log; 0: never


@dataclass
class RuntimeContext:
    """Everything the sandbox and container code shares."""

    settings: RuntimeSettings
    state: StateStore
    cgroups: Cgroups
    oci: OCIRuntime
    conmon: Conmon
    images: ImageStore
    snapshots: Snapshotter
    network: PodNetwork | None
    min_oom_score_adj: int  # what this process may set (lower needs CAP_SYS_RESOURCE)

    def pod_cgroup(self, name: str) -> str:
        return cgroup_below(self.settings, name)


def open_context(
    settings: RuntimeSettings,
    *,
    images: ImageStore,
    snapshots: Snapshotter,
    network: PodNetwork | None,
) -> RuntimeContext:
    settings.root.mkdir(parents=True, exist_ok=True)
    cgroups = Cgroups(detect())
    oci = select_runtime(settings.oci_runtime, root=settings.root, hybrid_v2=cgroups.layout.hybrid_v2)
    conmon_binary = shutil.which(settings.conmon)
    if conmon_binary is None:
        raise OCIRuntimeError(f"{settings.conmon} not found: install Debian's conmon package")
    monitor_cgroup = cgroup_below(settings, MONITOR_CGROUP)
    cgroups.create(monitor_cgroup)
    return RuntimeContext(
        settings=settings,
        state=StateStore(settings.root),
        cgroups=cgroups,
        oci=oci,
        conmon=Conmon(Path(conmon_binary), oci, place_monitor=partial(cgroups.add_process, monitor_cgroup)),
        images=images,
        snapshots=snapshots,
        network=network,
        min_oom_score_adj=_oom_score_floor(),
    )


def cgroup_below(settings: RuntimeSettings, name: str) -> str:
    """The cgroup ``name`` under the runtime's parent (pod cgroups, the monitors' cgroup)."""
    return f"{settings.cgroup_parent.rstrip('/')}/{name.strip('/')}"


def new_id() -> str:
    return secrets.token_hex(32)


def now_ns() -> int:
    return time.time_ns()


def _oom_score_floor() -> int:
    """-1000 with CAP_SYS_RESOURCE, else our own score (a lower one would be refused)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:") and int(line.split()[1], 16) >> CAP_SYS_RESOURCE & 1:
            return -1000
    return int(Path("/proc/self/oom_score_adj").read_text())
