"""Helpers of the volume end-to-end tests."""

from __future__ import annotations

import os
from pathlib import Path

from pilothouse.kubelet.volumes.mounter import mount_points


def mounts_below(directory: Path) -> list[str]:
    """Mount points below ``directory`` in this process's mount table."""
    prefix = os.path.realpath(directory) + "/"
    return [p for p in mount_points() if p.startswith(prefix)]
