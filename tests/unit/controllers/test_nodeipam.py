"""Node IPAM: /24s of the cluster CIDR, never one twice, round-robin, released with the node,
rebuilt from the nodes after a restart; the controller's sync against a fake API."""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Any

import pytest

from pilothouse.api import errors
from pilothouse.client import Handlers
from pilothouse.controllers.nodeipam import CIDRExhausted, NodeCIDRs, NodeIPAMController

Obj = dict[str, Any]
N = IPv4Network


def test_subnets_are_handed_out_round_robin_and_skip_used_ones() -> None:
    cidrs = NodeCIDRs(N("10.244.0.0/22"), 24)
    assert cidrs.count == 4
    first = cidrs.allocate(set())
    second = cidrs.allocate({first})
    assert (first, second) == (N("10.244.0.0/24"), N("10.244.1.0/24"))
    # The first is free again, but the next candidate comes after the last one given.
    assert cidrs.allocate({second}) == N("10.244.2.0/24")
    assert cidrs.allocate({N("10.244.3.0/24")}) == N("10.244.0.0/24")
    with pytest.raises(CIDRExhausted):
        cidrs.allocate({cidrs.subnet(i) for i in range(4)})


def test_the_mask_must_fit() -> None:
    with pytest.raises(ValueError):
        NodeCIDRs(N("10.244.0.0/24"), 16)


class FakeNodes:
    """The node informer: a cache the test fills, handlers called as the informer would."""

    def __init__(self) -> None:
        self.objects: dict[str, Obj] = {}
        self.handlers: list[Handlers] = []

    def add_handlers(self, handlers: Handlers) -> None:
        self.handlers.append(handlers)

    def get(self, name: str) -> Obj | None:
        return self.objects.get(name)

    def list(self) -> list[Obj]:
        return list(self.objects.values())

    def put(self, node: Obj) -> None:
        self.objects[node["metadata"]["name"]] = node


class FakeInformers:
    def __init__(self, nodes: FakeNodes) -> None:
        self.nodes = nodes

    def informer(self, group: str, version: str, plural: str) -> FakeNodes:
        assert plural == "nodes"
        return self.nodes


class FakeNodeAPI:
    def __init__(self, nodes: FakeNodes) -> None:
        self.nodes = nodes
        self.patches: list[tuple[str, Obj]] = []
        self.events: list[Obj] = []
        self.fail_with: Exception | None = None

    def __getitem__(self, plural: str) -> FakeNodeAPI:
        self.plural = plural
        return self

    async def patch(self, name: str, patch: Obj, *, patch_type: str) -> Obj:
        if self.fail_with is not None:
            error, self.fail_with = self.fail_with, None
            raise error
        if name not in self.nodes.objects:
            raise errors.NotFound(f'nodes "{name}" not found')
        self.patches.append((name, patch))
        return patch

    async def create(self, obj: Obj) -> Obj:
        self.events.append(obj)
        return obj


def node(name: str, cidr: str = "") -> Obj:
    spec = {"podCIDR": cidr, "podCIDRs": [cidr]} if cidr else {}
    return {"metadata": {"name": name}, "spec": spec}


def controller(cluster_cidr: str = "10.244.0.0/16") -> tuple[NodeIPAMController, FakeNodes, FakeNodeAPI]:
    nodes = FakeNodes()
    api = FakeNodeAPI(nodes)
    ipam = NodeIPAMController(client=api, informers=FakeInformers(nodes),  # type: ignore[arg-type]
                              cluster_cidr=cluster_cidr)
    return ipam, nodes, api


async def test_a_new_node_gets_the_first_free_cidr() -> None:
    ipam, nodes, api = controller()
    nodes.put(node("a"))
    await ipam.sync("a")
    assert api.patches == [("a", {"spec": {"podCIDR": "10.244.0.0/24",
                                           "podCIDRs": ["10.244.0.0/24"]}})]


async def test_no_cidr_is_given_twice_even_before_the_cache_shows_it() -> None:
    ipam, nodes, api = controller()
    nodes.put(node("a"))
    nodes.put(node("b"))
    await ipam.sync("a")
    await ipam.sync("b")  # the cache does not show a's CIDR yet
    await ipam.sync("a")  # an old event for a: no second CIDR
    given = [p["spec"]["podCIDR"] for _, p in api.patches]
    assert given == ["10.244.0.0/24", "10.244.1.0/24", "10.244.0.0/24"]


async def test_nodes_with_a_cidr_keep_it_and_their_cidrs_are_used() -> None:
    ipam, nodes, api = controller()
    nodes.put(node("manual", "10.244.0.0/24"))
    nodes.put(node("wide", "10.244.2.0/23"))  # set by hand: covers .2 and .3
    nodes.put(node("new-1"))
    nodes.put(node("new-2"))
    await ipam.sync("manual")
    await ipam.sync("wide")
    await ipam.sync("new-1")
    await ipam.sync("new-2")
    assert [(n, p["spec"]["podCIDR"]) for n, p in api.patches] == [
        ("new-1", "10.244.1.0/24"), ("new-2", "10.244.4.0/24")]


async def test_a_restarted_controller_rebuilds_from_the_nodes() -> None:
    ipam, nodes, api = controller()  # knows nothing but what its informer holds
    for i in range(3):
        nodes.put(node(f"old-{i}", f"10.244.{i}.0/24"))
    nodes.put(node("new"))
    await ipam.sync("new")
    assert api.patches[0][1]["spec"]["podCIDR"] == "10.244.3.0/24"


async def test_a_deleted_nodes_cidr_is_free_again() -> None:
    ipam, nodes, api = controller("10.244.0.0/23")
    nodes.put(node("a"))
    await ipam.sync("a")
    nodes.put(node("a", "10.244.0.0/24"))
    await ipam.sync("a")
    del nodes.objects["a"]
    await ipam.sync("a")
    assert ipam.assigned == {}
    nodes.put(node("b"))
    nodes.put(node("c"))
    await ipam.sync("b")
    await ipam.sync("c")
    given = [p["spec"]["podCIDR"] for _, p in api.patches]
    assert given == ["10.244.0.0/24", "10.244.1.0/24", "10.244.0.0/24"]


async def test_a_failed_patch_is_retried_with_the_same_cidr() -> None:
    ipam, nodes, api = controller()
    nodes.put(node("a"))
    nodes.put(node("b"))
    api.fail_with = errors.ServiceUnavailable("busy")
    with pytest.raises(errors.ServiceUnavailable):
        await ipam.sync("a")
    await ipam.sync("b")
    await ipam.sync("a")
    assert [(n, p["spec"]["podCIDR"]) for n, p in api.patches] == [
        ("b", "10.244.1.0/24"), ("a", "10.244.0.0/24")]


async def test_exhaustion_is_an_event_and_an_error() -> None:
    ipam, nodes, api = controller("10.244.0.0/24")
    nodes.put(node("a", "10.244.0.0/24"))
    nodes.put(node("b"))
    with pytest.raises(CIDRExhausted):
        await ipam.sync("b")
    assert api.patches == []
    event = api.events[0]
    assert (event["reason"], event["message"]) == (
        "CIDRNotAvailable", "Node b status is now: CIDRNotAvailable")
    assert event["involvedObject"] == {"kind": "Node", "name": "b", "uid": "b"}


async def test_a_node_deleted_before_its_patch_is_forgotten() -> None:
    ipam, nodes, api = controller()
    nodes.put(node("a"))
    api.nodes = FakeNodes()  # the API no longer has it
    await ipam.sync("a")
    assert ipam.assigned == {}
