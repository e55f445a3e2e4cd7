"""The controller manager: runs every controller against the API, sharing one set of
informers (one list+watch per resource for the whole process)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from pilothouse.client import APIClient, InformerFactory
from pilothouse.controllers.namespace import NamespaceController
from pilothouse.controllers.nodeipam import NodeIPAMController

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ControllerSettings:
    """Cluster settings controllers need (kube-controller-manager's flags)."""

    cluster_cidr: str = "10.244.0.0/16"
    node_cidr_mask_size: int = 24


@dataclass(frozen=True)
class ControllerContext:
    """What every controller is built from."""

    client: APIClient
    informers: InformerFactory
    settings: ControllerSettings


class Controller(Protocol):
    name: str

    async def run(self) -> None: ...


def _namespace(ctx: ControllerContext) -> Controller:
    return NamespaceController(client=ctx.client, informers=ctx.informers)


def _node_ipam(ctx: ControllerContext) -> Controller:
    return NodeIPAMController(
        client=ctx.client, informers=ctx.informers, cluster_cidr=ctx.settings.cluster_cidr,
        node_cidr_mask_size=ctx.settings.node_cidr_mask_size,
    )


CONTROLLERS: dict[str, Callable[[ControllerContext], Controller]] = {
    "namespace": _namespace,
    "nodeipam": _node_ipam,
}


class ControllerManager:
    def __init__(self, client: APIClient, *, settings: ControllerSettings | None = None,
                 enabled: list[str] | None = None):
        self.client = client
        self.informers = InformerFactory(client)
        context = ControllerContext(client, self.informers, settings or ControllerSettings())
        names = enabled if enabled is not None else list(CONTROLLERS)
        self.controllers = [CONTROLLERS[n](context) for n in names]
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self.informers.start()
        for controller in self.controllers:
            self._tasks.append(
                asyncio.create_task(controller.run(), name=f"controller {controller.name}")
            )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.informers.stop()
        await self.client.close()
