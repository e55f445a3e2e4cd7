"""How a container ended: its exit code, time and reason, from what its monitor left behind.

The monitor writes ``exit`` (the code; its modification time is the finish time) and, when
the OOM killer struck in the container's cgroup, ``oom``. The cgroup's own OOM kill count
is checked too, since the monitor watches only while it runs. A container whose monitor is
gone without an exit file (killed, or the machine rebooted) ended in an unknown way: exit
code 255, reason ``Unknown``, as containerd reports it.
"""

from __future__ import annotations

from collections.abc import Callable

from .conmon import BundleFiles
from .state import ContainerRecord

UNKNOWN_EXIT_CODE = 255


def record_exit(record: ContainerRecord, files: BundleFiles, *, oom_kills: Callable[[], int]) -> bool:
    """Copies the exit into ``record`` if the container has ended; True if it changed."""
    if record.finished_at:
        return False
    try:
        text = files.exit_file.read_text().strip()
        finished_at = files.exit_file.stat().st_mtime_ns
    except FileNotFoundError:
        if _monitor_alive(record) or files.exit_file.exists():
            return False
        record.exit_code = UNKNOWN_EXIT_CODE
        record.finished_at = max(record.started_at, record.created_at) or 1
        record.reason = "Unknown"
        record.message = "the container's monitor exited without recording how the container ended"
        return True
    record.exit_code = int(text) if text.lstrip("-").isdigit() else UNKNOWN_EXIT_CODE
    # File times come from a coarse clock (one tick late at most): never before the start.
    record.finished_at = max(finished_at, record.started_at)
    if files.oom_file.exists() or oom_kills() > 0:
        record.reason = "OOMKilled"
    else:
        record.reason = "Completed" if record.exit_code == 0 else "Error"
    return True


def _monitor_alive(record: ContainerRecord) -> bool:
    return record.monitor is not None and record.monitor.alive()
