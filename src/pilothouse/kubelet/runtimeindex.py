"""Which sandboxes and containers belong to which pod, without listing the runtime per pod.

Listing the runtime costs as much as everything it holds, so a pod's state is read by id:
the relist (every second) adds what it finds under each pod UID label, and the kubelet adds
what it creates the moment it does. Ids leave when the runtime says they are gone
(NotFound on a read) or when the pod is forgotten; never because one listing missed them,
since a listing taken just before a creation would otherwise hide the new container.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class _PodIds:
    sandboxes: set[str] = field(default_factory=set)
    containers: dict[str, str] = field(default_factory=dict)  # container id -> its sandbox id


class RuntimeIndex:
    def __init__(self) -> None:
        self._pods: dict[str, _PodIds] = {}

    def add_sandbox(self, uid: str, sandbox_id: str) -> None:
        self._pods.setdefault(uid, _PodIds()).sandboxes.add(sandbox_id)

    def add_container(self, uid: str, container_id: str, sandbox_id: str) -> None:
        self._pods.setdefault(uid, _PodIds()).containers[container_id] = sandbox_id

    def sandboxes(self, uid: str) -> list[str]:
        ids = self._pods.get(uid)
        return sorted(ids.sandboxes) if ids else []

    def containers(self, uid: str) -> dict[str, str]:
        """The pod's container ids, each with its sandbox's id."""
        ids = self._pods.get(uid)
        return dict(ids.containers) if ids else {}

    def discard(self, uid: str, item_id: str) -> None:
        """The runtime no longer has this sandbox or container."""
        ids = self._pods.get(uid)
        if ids is not None:
            ids.sandboxes.discard(item_id)
            ids.containers.pop(item_id, None)

    def forget(self, uid: str) -> None:
        self._pods.pop(uid, None)

    def pods(self) -> set[str]:
        return set(self._pods)
