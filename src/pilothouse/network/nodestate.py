"""The record of what a node's network setup created, kept so teardown removes exactly that.

Entries are written *before* the kernel object is created: after a crash at any point the
record lists everything that may exist, and removing something already absent is a no-op.
Things the setup found already in place (an identical route somebody else made) are never
recorded, so never removed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any, Literal

import orjson

from .netlink import MAIN_TABLE

RouteKind = Literal["unreachable", "link", "via"]
RTN_UNICAST = 1
RTN_UNREACHABLE = 7


@dataclass(frozen=True)
class OwnedRoute:
    """An IPv4 route in the main table: unreachable, out of a device, or through a gateway."""

    dst: IPv4Network
    kind: RouteKind
    device: str = ""
    via: IPv4Address | None = None

    def netlink_args(self, device_index: int | None) -> dict[str, Any]:
        args: dict[str, Any] = {"dst": str(self.dst), "table": MAIN_TABLE}
        if self.kind == "unreachable":
            args["type"] = "unreachable"
        elif self.kind == "link":
            args.update(oif=device_index, scope="link")
        else:
            args["gateway"] = str(self.via)
        return args

    def matches(self, message: Any, device_index: int | None) -> bool:
        """Whether a dumped route message is this route."""
        if self.kind == "unreachable":
            return message["type"] == RTN_UNREACHABLE
        if message["type"] != RTN_UNICAST:
            return False
        if self.kind == "link":
            return message.get("oif") == device_index and message.get("gateway") is None
        return message.get("gateway") == str(self.via)

    def describe(self) -> str:
        if self.kind == "unreachable":
            return f"unreachable {self.dst}"
        if self.kind == "link":
            return f"{self.dst} dev {self.device}"
        return f"{self.dst} via {self.via}"

    def to_json(self) -> dict[str, str]:
        data = {"dst": str(self.dst), "kind": self.kind}
        if self.device:
            data["device"] = self.device
        if self.via is not None:
            data["via"] = str(self.via)
        return data

    @classmethod
    def from_json(cls, data: dict[str, str]) -> OwnedRoute:
        kind = data["kind"]
        if kind not in ("unreachable", "link", "via"):
            raise ValueError(f"unknown route kind {kind!r}")
        via = data.get("via")
        return cls(
            dst=IPv4Network(data["dst"]),
            kind=kind,  # type: ignore[arg-type]  # checked above
            device=data.get("device", ""),
            via=IPv4Address(via) if via else None,
        )


@dataclass
class NodeState:
    bridge: str | None = None
    nft_table: str | None = None
    routes: list[OwnedRoute] = field(default_factory=list)

    def route_to(self, dst: IPv4Network) -> OwnedRoute | None:
        return next((route for route in self.routes if route.dst == dst), None)

    def record_route(self, route: OwnedRoute) -> None:
        self.forget_route(route.dst)
        self.routes.append(route)

    def forget_route(self, dst: IPv4Network) -> None:
        self.routes = [route for route in self.routes if route.dst != dst]

    def node_routes(self) -> dict[IPv4Network, IPv4Address]:
        return {r.dst: r.via for r in self.routes if r.kind == "via" and r.via is not None}

    def to_json(self) -> dict[str, Any]:
        return {
            "bridge": self.bridge,
            "nftTable": self.nft_table,
            "routes": [route.to_json() for route in self.routes],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NodeState:
        return cls(
            bridge=data.get("bridge"),
            nft_table=data.get("nftTable"),
            routes=[OwnedRoute.from_json(item) for item in data.get("routes") or ()],
        )


def load_state(path: Path) -> NodeState:
    try:
        return NodeState.from_json(orjson.loads(path.read_bytes()))
    except FileNotFoundError:
        return NodeState()


def save_state(path: Path, state: NodeState) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as file:
        file.write(orjson.dumps(state.to_json(), option=orjson.OPT_INDENT_2))
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
