"""The API server in this process (memory store, real HTTPS), and clients of it.

Each test module gets one server (and event loop); tests in a module use their own
namespaces so they do not interfere. Test modules here set
``pytestmark = pytest.mark.asyncio(loop_scope="module")``.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from pilothouse.apiserver.server import APIServer, ServerConfig
from pilothouse.client import APIClient, ClientConfig


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[APIServer]:
    data_dir = tmp_path_factory.mktemp("apiserver") / "data"
    server = APIServer(ServerConfig(data_dir=data_dir, port=_free_port(),
                                   datastore_endpoint="memory://"))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(api_server: APIServer) -> AsyncIterator[APIClient]:
    config = ClientConfig.from_kubeconfig(api_server.config.data_dir / "admin.kubeconfig")
    async with APIClient(config) as api:
        yield api


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def http(api_server: APIServer) -> AsyncIterator[aiohttp.ClientSession]:
    """A raw HTTPS session with admin credentials, for requests clients would not make."""
    config = ClientConfig.from_kubeconfig(api_server.config.data_dir / "admin.kubeconfig")
    connector = aiohttp.TCPConnector(ssl=config.ssl_context())
    async with aiohttp.ClientSession(base_url=config.server, connector=connector) as session:
        yield session


@pytest_asyncio.fixture(loop_scope="module")
async def namespace(client: APIClient) -> str:
    name = f"test-{uuid.uuid4().hex[:8]}"
    await client["namespaces"].create({"metadata": {"name": name}})
    return name
