"""End-to-end fixtures: a real server process per test module, real kubectl, the official
Python client."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from cluster import ServerProcess, kubectl_versions  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("server") / "data")
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(params=kubectl_versions())
def kubectl_version(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def k8s(server: ServerProcess):  # type: ignore[no-untyped-def]
    """The official kubernetes Python client, configured from the admin kubeconfig."""
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=str(server.kubeconfig))
    yield client
    api_client.close()


@pytest.fixture(scope="module")
def api_client(server: ServerProcess):  # type: ignore[no-untyped-def]
    from kubernetes import config

    api_client = config.new_client_from_config(config_file=str(server.kubeconfig))
    yield api_client
    api_client.close()
