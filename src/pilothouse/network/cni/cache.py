"""The attachment cache: what was ADDed, so DEL and CHECK work after the caller restarts.

One file per attachment, ``<dir>/results/<network>-<container>-<ifname>``, in libcni's
``cniCacheV1`` layout (base64 network configuration, CNI_ARGS, capability arguments, result)
plus the identity of the network namespace, so tools that read libcni's cache read ours.

Unlike libcni, an entry is written *before* the ADD runs (with no result) and completed
after it: a caller killed in the middle of an ADD still finds the exact configuration
(with the same port mappings) to DEL with. Writes are atomic (temporary file, fsync,
rename), so a crash leaves the old entry or the new one, never half of one.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .errors import InvalidConfig
from .netns import NetnsIdentity

CACHE_KIND = "cniCacheV1"
# CNI spec 1.0: a container ID is alphanumeric plus underscore, dot and hyphen.
_CONTAINER_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_IFNAME_RE = re.compile(r"^[^/:\s]{1,15}$")


@dataclass(frozen=True)
class CachedAttachment:
    network_name: str
    container_id: str
    ifname: str
    netns: str
    netns_identity: NetnsIdentity | None
    config: bytes
    cni_args: tuple[tuple[str, str], ...] = ()
    capability_args: Mapping[str, Any] = field(default_factory=dict)
    # The final result of the ADD; None while the ADD runs or after it failed.
    result: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": CACHE_KIND,
            "containerId": self.container_id,
            "config": base64.b64encode(self.config).decode(),
            "ifName": self.ifname,
            "networkName": self.network_name,
            "netns": self.netns,
            "cniArgs": [list(pair) for pair in self.cni_args],
            "capabilityArgs": dict(self.capability_args),
        }
        if self.netns_identity is not None:
            data["netnsIdentity"] = list(self.netns_identity)
        if self.result is not None:
            data["result"] = self.result
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CachedAttachment:
        if data.get("kind") != CACHE_KIND:
            raise InvalidConfig(f"unknown CNI cache kind {data.get('kind')!r}")
        identity = data.get("netnsIdentity")
        return cls(
            network_name=data["networkName"],
            container_id=data["containerId"],
            ifname=data["ifName"],
            netns=data.get("netns", ""),
            netns_identity=(int(identity[0]), int(identity[1])) if identity else None,
            config=base64.b64decode(data["config"]),
            cni_args=tuple((str(key), str(value)) for key, value in data.get("cniArgs") or ()),
            capability_args=data.get("capabilityArgs") or {},
            result=data.get("result"),
        )


class AttachmentCache:
    """Attachment entries under ``directory/results``. Blocking: call from a worker thread."""

    def __init__(self, directory: Path):
        self.directory = directory / "results"

    def path(self, network_name: str, container_id: str, ifname: str) -> Path:
        validate_attachment_key(container_id, ifname)
        return self.directory / f"{network_name}-{container_id}-{ifname}"

    def load(self, network_name: str, container_id: str, ifname: str) -> CachedAttachment | None:
        path = self.path(network_name, container_id, ifname)
        try:
            data = orjson.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except orjson.JSONDecodeError as exc:
            raise InvalidConfig(f"corrupt CNI cache entry {path}: {exc}") from exc
        try:
            return CachedAttachment.from_json(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidConfig(f"corrupt CNI cache entry {path}: {exc!r}") from exc

    def store(self, attachment: CachedAttachment) -> None:
        path = self.path(attachment.network_name, attachment.container_id, attachment.ifname)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_name(f".{path.name}.tmp")
        with open(temporary, "wb") as file:
            file.write(orjson.dumps(attachment.to_json()))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)

    def remove(self, network_name: str, container_id: str, ifname: str) -> None:
        self.path(network_name, container_id, ifname).unlink(missing_ok=True)

    def entries(self, network_name: str) -> list[CachedAttachment]:
        """Every readable entry of ``network_name`` (unreadable ones are skipped)."""
        found = []
        for path in sorted(self.directory.glob(f"{network_name}-*")):
            try:
                found.append(CachedAttachment.from_json(orjson.loads(path.read_bytes())))
            except (OSError, orjson.JSONDecodeError, InvalidConfig, KeyError, TypeError):
                continue
            if found[-1].network_name != network_name:
                found.pop()  # a longer network name sharing our prefix
        return found


def validate_attachment_key(container_id: str, ifname: str) -> None:
    if not _CONTAINER_ID_RE.match(container_id):
        raise InvalidConfig(f"invalid container ID {container_id!r}")
    if not _IFNAME_RE.match(ifname) or ifname in (".", ".."):
        raise InvalidConfig(f"invalid interface name {ifname!r}")
