"""Events about pods, as the kubelet records them (core/v1 Events in the pod's namespace).

:meth:`EventRecorder.record` never blocks the caller: events are queued and written in order
by :meth:`EventRecorder.run`. A repeat of an event (same object, field path, type, reason and
message) bumps the first one's ``count`` and ``lastTimestamp`` instead of creating another,
like client-go's event correlator. Write failures are dropped after a log line: events are
best effort, and a kubelet must not fall behind because the API server is slow.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

from pilothouse.api import errors
from pilothouse.client import APIClient

from . import podutil
from .timestamps import rfc3339

log = logging.getLogger(__name__)

Obj = dict[str, Any]
NORMAL = "Normal"
WARNING = "Warning"
COMPONENT = "kubelet"
MAX_REMEMBERED = 4096
MAX_QUEUED = 10000


class EventSink(Protocol):
    """Where the kubelet's components report events (the recorder, or a test's list)."""

    def record(self, pod: Obj, type: str, reason: str, message: str, *, container: str = "") -> None: ...


@dataclass(frozen=True)
class _Pending:
    namespace: str
    involved: Obj
    type: str
    reason: str
    message: str
    time_ns: int


@dataclass
class _Written:
    name: str
    namespace: str
    count: int


class EventRecorder:
    def __init__(self, client: APIClient, *, node_name: str):
        self.events = client["events"]
        self.node_name = node_name
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue(MAX_QUEUED)
        self._written: OrderedDict[tuple[str, ...], _Written] = OrderedDict()

    def record(self, pod: Obj, type: str, reason: str, message: str, *, container: str = "") -> None:
        """Queues an event about ``pod`` (or one of its containers)."""
        involved: Obj = {
            "kind": "Pod",
            "namespace": podutil.namespace(pod),
            "name": podutil.name(pod),
            "uid": podutil.uid(pod),
            "apiVersion": "v1",
        }
        version = podutil.meta(pod).get("resourceVersion")
        if version:
            involved["resourceVersion"] = version
        if container:
            involved["fieldPath"] = podutil.field_path(pod, container)
        pending = _Pending(podutil.namespace(pod), involved, type, reason, message, time.time_ns())
        try:
            self._queue.put_nowait(pending)
        except asyncio.QueueFull:
            log.warning("event queue full; dropping %s %s", reason, message)

    async def run(self) -> None:
        while True:
            pending = await self._queue.get()
            try:
                await self._write(pending)
            except (errors.StatusError, OSError, TimeoutError) as error:
                log.warning("could not write event %s for %s: %s", pending.reason, pending.involved["name"], error)
            finally:
                self._queue.task_done()

    async def flush(self) -> None:
        """Waits until every event queued so far is written (or dropped)."""
        await self._queue.join()

    async def _write(self, pending: _Pending) -> None:
        key = (
            pending.namespace, pending.involved["uid"], pending.involved.get("fieldPath", ""),
            pending.type, pending.reason, pending.message,
        )
        stamp = rfc3339(pending.time_ns)
        written = self._written.get(key)
        if written is not None:
            try:
                await self.events.patch(
                    written.name,
                    {"count": written.count + 1, "lastTimestamp": stamp},
                    namespace=written.namespace,
                )
                written.count += 1
                self._written.move_to_end(key)
                return
            except errors.NotFound:
                del self._written[key]  # deleted (expired): start a new one
        name = f"{pending.involved['name']}.{pending.time_ns:x}"
        await self.events.create(self._event(name, pending, stamp), namespace=pending.namespace)
        self._written[key] = _Written(name, pending.namespace, 1)
        if len(self._written) > MAX_REMEMBERED:
            self._written.popitem(last=False)

    def _event(self, name: str, pending: _Pending, stamp: str | None) -> Obj:
        return {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": pending.namespace},
            "involvedObject": pending.involved,
            "reason": pending.reason,
            "message": pending.message,
            "source": {"component": COMPONENT, "host": self.node_name},
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "type": pending.type,
            "eventTime": None,
            "reportingComponent": COMPONENT,
            "reportingInstance": self.node_name,
        }
