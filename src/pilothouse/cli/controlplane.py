"""The control plane of ``pilothouse server``, started in order: the API server first, then,
once it serves, the components that are its clients (controller manager; the scheduler and
the embedded agent join in later issues). Each component gets its own client identity."""

from __future__ import annotations

import logging

from pilothouse.apiserver.server import APIServer, ServerConfig
from pilothouse.client import APIClient, ClientConfig
from pilothouse.controllers.manager import ControllerManager

log = logging.getLogger(__name__)


class ControlPlane:
    def __init__(self, config: ServerConfig):
        self.config = config
        self.api_server = APIServer(config)
        self.controller_manager: ControllerManager | None = None

    def component_client(self, user: str, groups: tuple[str, ...] = ()) -> APIClient:
        pair = self.api_server.pki.client_credentials(user, groups)
        return APIClient(ClientConfig(
            server=self.config.url,
            ca_pem=self.api_server.pki.ca_cert.read_bytes(),
            cert_pem=pair.cert_pem,
            key_pem=pair.key_pem,
            user_agent=user.removeprefix("system:"),
        ))

    async def start(self) -> None:
        await self.api_server.start()
        self.controller_manager = ControllerManager(
            self.component_client("system:kube-controller-manager")
        )
        await self.controller_manager.start()

    async def stop(self) -> None:
        if self.controller_manager is not None:
            await self.controller_manager.stop()
        await self.api_server.stop()
