"""Where a pod's volumes live on the node, laid out as the kubelet lays them out.

    <pods_dir>/<pod uid>/volumes/<plugin>/<volume name>     e.g. kubernetes.io~configmap/cfg
    <pods_dir>/<pod uid>/volume-subpaths/<volume>/<container>/<mount index>

Plugin directory names are the plugin's qualified name with "/" escaped as "~", as upstream
escapes them for disk (``kubernetes.io/empty-dir`` -> ``kubernetes.io~empty-dir``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

EMPTY_DIR = "kubernetes.io/empty-dir"
CONFIG_MAP = "kubernetes.io/configmap"
SECRET = "kubernetes.io/secret"
DOWNWARD_API = "kubernetes.io/downward-api"
PROJECTED = "kubernetes.io/projected"
HOST_PATH = "kubernetes.io/host-path"
LOCAL_VOLUME = "kubernetes.io/local-volume"


def escape_qualified_name(name: str) -> str:
    return name.replace("/", "~")


@dataclass(frozen=True)
class PodLayout:
    pods_dir: Path

    def pod_dir(self, pod_uid: str) -> Path:
        return self.pods_dir / pod_uid

    def volume_dir(self, pod_uid: str, plugin: str, volume_name: str) -> Path:
        return self.pod_dir(pod_uid) / "volumes" / escape_qualified_name(plugin) / volume_name

    def subpath_dir(self, pod_uid: str, volume_name: str, container_name: str, index: int) -> Path:
        return self.pod_dir(pod_uid) / "volume-subpaths" / volume_name / container_name / str(index)

    def pod_uids(self) -> list[str]:
        """Every pod with a directory here (running, or left behind by a crash)."""
        if not self.pods_dir.is_dir():
            return []
        return sorted(entry.name for entry in self.pods_dir.iterdir() if entry.is_dir())
