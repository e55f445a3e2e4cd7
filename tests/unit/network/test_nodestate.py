"""The record of what the node setup created."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from pilothouse.network.nodestate import (
    RTN_UNICAST,
    RTN_UNREACHABLE,
    NodeState,
    OwnedRoute,
    load_state,
    save_state,
)

UNREACHABLE = OwnedRoute(IPv4Network("10.244.0.0/16"), "unreachable")
SERVICES = OwnedRoute(IPv4Network("10.96.0.0/12"), "link", device="ph0")
PEER = OwnedRoute(IPv4Network("10.244.1.0/24"), "via", via=IPv4Address("172.31.255.2"))


def test_state_round_trips_through_its_file(tmp_path: Path) -> None:
    state = NodeState(bridge="ph0", nft_table="pilothouse_ph0", routes=[UNREACHABLE, SERVICES, PEER])
    save_state(tmp_path / "state.json", state)
    assert load_state(tmp_path / "state.json") == state


def test_a_missing_file_is_an_empty_state(tmp_path: Path) -> None:
    assert load_state(tmp_path / "absent.json") == NodeState()


def test_recording_a_route_replaces_the_one_to_the_same_destination() -> None:
    state = NodeState(routes=[UNREACHABLE, PEER])
    moved = OwnedRoute(PEER.dst, "via", via=IPv4Address("172.31.255.3"))

    state.record_route(moved)

    assert state.routes == [UNREACHABLE, moved]
    assert state.node_routes() == {PEER.dst: IPv4Address("172.31.255.3")}
    state.forget_route(PEER.dst)
    assert state.node_routes() == {}


@pytest.mark.parametrize(
    ("route", "index", "expected"),
    [
        (UNREACHABLE, None, {"dst": "10.244.0.0/16", "table": 254, "type": "unreachable"}),
        (SERVICES, 7, {"dst": "10.96.0.0/12", "table": 254, "oif": 7, "scope": "link"}),
        (PEER, None, {"dst": "10.244.1.0/24", "table": 254, "gateway": "172.31.255.2"}),
    ],
    ids=["unreachable", "link", "via"],
)
def test_netlink_arguments(route: OwnedRoute, index: int | None, expected: dict[str, object]) -> None:
    assert route.netlink_args(index) == expected


def test_matching_dumped_routes() -> None:
    assert UNREACHABLE.matches({"type": RTN_UNREACHABLE}, None)
    assert not UNREACHABLE.matches({"type": RTN_UNICAST, "oif": 7}, None)
    assert SERVICES.matches({"type": RTN_UNICAST, "oif": 7}, 7)
    assert not SERVICES.matches({"type": RTN_UNICAST, "oif": 8}, 7)
    assert not SERVICES.matches({"type": RTN_UNICAST, "oif": 7, "gateway": "10.0.0.1"}, 7)
    assert PEER.matches({"type": RTN_UNICAST, "gateway": "172.31.255.2"}, None)
    assert not PEER.matches({"type": RTN_UNICAST, "gateway": "172.31.255.9"}, None)


def test_unknown_route_kinds_are_rejected() -> None:
    with pytest.raises(ValueError):
        OwnedRoute.from_json({"dst": "10.0.0.0/8", "kind": "blackhole"})
