"""What the Docker-style options accept: quantities, ports, volumes, users."""

from __future__ import annotations

from pathlib import Path

import pytest

from pilothouse.cli.containers import parse_memory
from pilothouse.runtime.errors import ContainerRuntimeError, InvalidArgument
from pilothouse.runtime.interface import Mount, PortMapping
from pilothouse.runtime.standalone import parse_port, parse_volume, security_context_for


@pytest.mark.parametrize(
    ("text", "expected"),
    [("64Mi", 64 << 20), ("1G", 10**9), ("64m", 64 << 20), ("512k", 512 << 10), ("1e6", 10**6), ("100", 100)],
)
def test_memory_quantities(text: str, expected: int) -> None:
    assert parse_memory(text) == expected


@pytest.mark.parametrize("text", ["lots", "-1Mi", "0"])
def test_bad_memory_quantities(text: str) -> None:
    with pytest.raises(ContainerRuntimeError, match="invalid memory quantity"):
        parse_memory(text)


def test_ports_default_to_loopback() -> None:
    assert parse_port("8080:80") == PortMapping(container_port=80, host_port=8080, host_ip="127.0.0.1")
    assert parse_port("127.0.0.2:81:80/tcp") == PortMapping(container_port=80, host_port=81, host_ip="127.0.0.2")
    for bad in ("80", "a:b", "1:2/udp", "70000:80", "0.0.0.0:80:80", "10.0.0.1:80:80"):
        with pytest.raises(InvalidArgument):
            parse_port(bad)


def test_volumes(tmp_path: Path) -> None:
    host = tmp_path / "made"
    assert parse_volume(f"{host}:/data:ro") == Mount(container_path="/data", host_path=str(host), readonly=True)
    assert host.is_dir()  # created, as Docker does
    for bad in ("/a", "/a:relative", "/a:/b:rx"):
        with pytest.raises(InvalidArgument):
            parse_volume(bad)


def test_users() -> None:
    assert (security_context_for("1000:10").run_as_user, security_context_for("1000:10").run_as_group) == (1000, 10)
    assert security_context_for("app").run_as_username == "app"
    with pytest.raises(InvalidArgument, match="gid"):
        security_context_for("app:wheel")
