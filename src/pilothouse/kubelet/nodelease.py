"""The node's heartbeat: the Lease ``kube-node-lease/<node>`` renewed every 10 seconds.

As the kubelet's node lease controller: the Lease is held by the node (holderIdentity = node
name, leaseDurationSeconds 40), owned by the Node object (so it goes when the node is
deleted), and renewed by an update of the last Lease written, without a read first; only
when that fails (conflict, deleted) is it read or created again. Failures are retried with a
back-off from 200 ms up to 7 s, and renewals then resume at the normal interval.
``renewTime`` is a MicroTime (``2024-01-01T00:00:00.000000Z``).

The clock and the sleep are injectable, so the schedule is testable without waiting.
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from pilothouse.api import errors
from pilothouse.client import APIClient

log = logging.getLogger(__name__)

Obj = dict[str, Any]

LEASE_NAMESPACE = "kube-node-lease"
BACKOFF_START = 0.2
BACKOFF_MAX = 7.0


def micro_time(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class NodeLease:
    def __init__(
        self,
        *,
        client: APIClient,
        node_name: str,
        node_uid: str,
        duration_seconds: int = 40,
        renew_seconds: float = 10.0,
        clock: Callable[[], datetime.datetime] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self.leases = client.resource("coordination.k8s.io", "v1", "leases")
        self.node_name = node_name
        self.node_uid = node_uid
        self.duration_seconds = duration_seconds
        self.renew_seconds = renew_seconds
        self.clock = clock or (lambda: datetime.datetime.now(datetime.UTC))
        self.sleep = sleep
        self.lease: Obj | None = None  # the last Lease written

    async def run(self) -> None:
        while True:
            await self.renew_with_backoff()
            await self.sleep(self.renew_seconds)

    async def renew_with_backoff(self) -> None:
        delay = BACKOFF_START
        while True:
            try:
                await self.renew()
                return
            except (aiohttp.ClientError, OSError, TimeoutError, errors.StatusError) as e:
                log.warning("renewing the lease of node %s failed: %s; retrying in %.1fs",
                            self.node_name, e, delay)
                self.lease = None  # read or create it afresh next time
                await self.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)

    async def renew(self) -> None:
        """One renewal: update the last Lease; on a conflict or when it is gone, read (or
        create) it and update that."""
        if self.lease is not None:
            try:
                self.lease = await self.leases.update(self._renewed(self.lease))
                return
            except (errors.Conflict, errors.NotFound):
                self.lease = None
        current = await self._get_or_create()
        if current is not None:
            self.lease = await self.leases.update(self._renewed(current))

    async def _get_or_create(self) -> Obj | None:
        """The stored Lease, or None after creating a fresh one (already renewed)."""
        try:
            return await self.leases.get(self.node_name, namespace=LEASE_NAMESPACE)
        except errors.NotFound:
            pass
        self.lease = await self.leases.create(self._renewed({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.node_name, "namespace": LEASE_NAMESPACE},
            "spec": {},
        }))
        return None

    def _renewed(self, lease: Obj) -> Obj:
        renewed = copy.deepcopy(lease)
        renewed["spec"] = dict(
            renewed.get("spec") or {},
            holderIdentity=self.node_name,
            leaseDurationSeconds=self.duration_seconds,
            renewTime=micro_time(self.clock()),
        )
        owners = renewed["metadata"].get("ownerReferences") or []
        if not any(o.get("kind") == "Node" and o.get("uid") == self.node_uid for o in owners):
            renewed["metadata"]["ownerReferences"] = [
                *(o for o in owners if o.get("kind") != "Node"),
                {"apiVersion": "v1", "kind": "Node", "name": self.node_name,
                 "uid": self.node_uid},
            ]
        return renewed
