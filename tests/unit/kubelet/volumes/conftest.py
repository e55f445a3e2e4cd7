"""Fixtures of the volume manager's unit tests: fakes for the API and for mounts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from volume_fakes import ALLOCATABLE, FakeClient, FakeMounter  # noqa: E402

from pilothouse.kubelet.volumes import VolumeManager  # noqa: E402
from pilothouse.kubelet.volumes.host import VolumeHost  # noqa: E402
from pilothouse.kubelet.volumes.layout import PodLayout  # noqa: E402
from pilothouse.kubelet.volumes.tokens import ServiceAccountTokens  # noqa: E402


@pytest.fixture
def client() -> FakeClient:
    return FakeClient()


@pytest.fixture
def mounter() -> FakeMounter:
    return FakeMounter()


@pytest.fixture
def pods_dir(tmp_path: Path) -> Path:
    return tmp_path / "pods"


@pytest.fixture
def manager(pods_dir: Path, client: FakeClient, mounter: FakeMounter) -> VolumeManager:
    return VolumeManager(pods_dir, client=client, mounter=mounter,  # type: ignore[arg-type]
                         allocatable=lambda: ALLOCATABLE)


@pytest.fixture
def host(pods_dir: Path, client: FakeClient, mounter: FakeMounter) -> VolumeHost:
    return VolumeHost(PodLayout(pods_dir), mounter, client,  # type: ignore[arg-type]
                      lambda: ALLOCATABLE, ServiceAccountTokens(client=client,  # type: ignore[arg-type]
                                                                 clock=client.clock))
