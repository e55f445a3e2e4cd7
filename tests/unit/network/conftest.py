"""Fixtures of the network unit tests: fake plugins and stand-ins for network namespaces."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fakeplugins import FakePlugins  # noqa: E402

from pilothouse.network.cni import CNIInvoker  # noqa: E402


@pytest.fixture
def plugins(tmp_path: Path) -> FakePlugins:
    return FakePlugins(tmp_path / "plugins", ("bridge", "portmap", "loopback", "tuning"))


@pytest.fixture
def invoker(tmp_path: Path, plugins: FakePlugins) -> CNIInvoker:
    return CNIInvoker(plugin_dirs=[plugins.directory], cache_dir=tmp_path / "cache", timeout=10)


@pytest.fixture
def netns(tmp_path: Path) -> Path:
    """A file standing in for a sandbox's namespace: it has an identity of its own."""
    path = tmp_path / "netns-sandbox"
    path.touch()
    return path
