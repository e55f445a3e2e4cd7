"""The controller manager: runs every controller against the API, sharing one set of
informers (one list+watch per resource for the whole process)."""

from __future__ import annotations

import asyncio
import logging

from pilothouse.client import APIClient, InformerFactory
from pilothouse.controllers.namespace import NamespaceController

log = logging.getLogger(__name__)

CONTROLLERS = {
    "namespace": NamespaceController,
}


class ControllerManager:
    def __init__(self, client: APIClient, *, enabled: list[str] | None = None):
        self.client = client
        self.informers = InformerFactory(client)
        names = enabled if enabled is not None else list(CONTROLLERS)
        self.controllers = [
            CONTROLLERS[n](client=client, informers=self.informers) for n in names
        ]
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
