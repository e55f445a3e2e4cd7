"""The pod lifecycle event generator: relists the runtime and tells pods what changed.

Every ``period`` seconds it lists every sandbox and container, compares their states with
the previous listing, and calls ``on_change(pod_uid)`` once for every pod with a container
or sandbox that appeared, changed state (started, died) or disappeared. It also remembers
which pods the runtime holds (by their labels), for the housekeeping that finds orphans,
and records every sandbox and container under its pod in the index pod states are read by. A failed
relist is retried at the next period; the pods it would have woken are covered by their
periodic resync.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from pilothouse.runtime.errors import ContainerRuntimeError
from pilothouse.runtime.interface import RuntimeService

from . import labels
from .runtimeindex import RuntimeIndex

log = logging.getLogger(__name__)


class PodLifecycleEventGenerator:
    def __init__(
        self, runtime: RuntimeService, *, index: RuntimeIndex, period: float, on_change: Callable[[str], None]
    ):
        self.runtime = runtime
        self.index = index
        self.period = period
        self.on_change = on_change
        self._states: dict[str, tuple[str, int]] = {}  # sandbox or container id -> (pod uid, state)
        self.pods: dict[str, tuple[str, str]] = {}  # pod uid -> (name, namespace), at the last relist

    async def run(self) -> None:
        while True:
            try:
                await self.relist()
            except (ContainerRuntimeError, OSError) as error:
                log.warning("relisting the runtime failed: %s", error)
            await asyncio.sleep(self.period)

    async def relist(self) -> None:
        states: dict[str, tuple[str, int]] = {}
        pods: dict[str, tuple[str, str]] = {}
        for sandbox in await self.runtime.list_pod_sandbox():
            uid = sandbox.labels.get(labels.POD_UID)
            if uid:
                states["sandbox:" + sandbox.id] = (uid, int(sandbox.state))
                pods[uid] = _name(sandbox.labels)
                self.index.add_sandbox(uid, sandbox.id)
        for container in await self.runtime.list_containers():
            uid = container.labels.get(labels.POD_UID)
            if uid:
                states[container.id] = (uid, int(container.state))
                pods[uid] = _name(container.labels)
                self.index.add_container(uid, container.id, container.pod_sandbox_id)
        changed = {state[0] for key, state in states.items() if self._states.get(key) != state}
        changed |= {state[0] for key, state in self._states.items() if key not in states}
        self._states = states
        self.pods = pods
        for uid in changed:
            self.on_change(uid)


def _name(found: dict[str, str]) -> tuple[str, str]:
    return found.get(labels.POD_NAME, ""), found.get(labels.POD_NAMESPACE, "")
