"""The control plane of ``pilothouse server``, started in order: the API server first, then,
once it serves, the components that are its clients: the join token (DATA_DIR/token and its
bootstrap token Secret), the controller manager, and the agent of the server's own node
(unless disabled), which joins with that token over loopback like any other node. Each
component gets its own client identity; the scheduler joins in a later issue."""

from __future__ import annotations

import asyncio
import logging

from pilothouse.apiserver.server import APIServer, ServerConfig
from pilothouse.cli.token import ensure_server_token
from pilothouse.client import APIClient, ClientConfig
from pilothouse.controllers.manager import ControllerManager, ControllerSettings
from pilothouse.kubelet.agent import Agent
from pilothouse.kubelet.bootstrap import JoinToken
from pilothouse.kubelet.config import KubeletConfig

log = logging.getLogger(__name__)


class ControlPlane:
    def __init__(self, config: ServerConfig, *, agent: KubeletConfig | None = None):
        self.config = config
        self.agent_config = agent
        self.api_server = APIServer(config)
        self.controller_manager: ControllerManager | None = None
        self.agent: Agent | None = None
        self.token: JoinToken | None = None

    def component_client(self, user: str, groups: tuple[str, ...] = ()) -> APIClient:
        pair = self.api_server.pki.client_credentials(user, groups)
        return APIClient(ClientConfig(
            server=self.config.url,
            ca_pem=self.api_server.pki.ca_cert.read_bytes(),
            cert_pem=pair.cert_pem,
            key_pem=pair.key_pem,
            user_agent=user.removeprefix("system:"),
        ))

    def admin_client(self) -> APIClient:
        pki = self.api_server.pki
        return APIClient(ClientConfig(
            server=self.config.url,
            ca_pem=pki.ca_cert.read_bytes(),
            cert_pem=pki.admin_cert.read_bytes(),
            key_pem=pki.admin_key.read_bytes(),
            user_agent="pilothouse-server",
        ))

    async def start(self) -> None:
        await self.api_server.start()
        async with self.admin_client() as admin:
            self.token = await ensure_server_token(
                admin, data_dir=self.config.data_dir,
                ca_bundle=self.api_server.pki.ca_cert.read_bytes(),
            )
        self.controller_manager = ControllerManager(
            self.component_client("system:kube-controller-manager"),
            settings=ControllerSettings(cluster_cidr=self.config.cluster_cidr),
        )
        await self.controller_manager.start()
        if self.agent_config is not None:
            self.agent = Agent(self.agent_config, server=self.config.url, token=str(self.token))
            await self.agent.start()

    async def wait(self) -> None:
        """Waits while the control plane runs; raises the error of the server's node if it
        fails for good."""
        if self.agent is None:
            await asyncio.Event().wait()  # until cancelled
        else:
            await self.agent.wait()

    async def stop(self) -> None:
        if self.agent is not None:
            await self.agent.stop()
        if self.controller_manager is not None:
            await self.controller_manager.stop()
        await self.api_server.stop()
