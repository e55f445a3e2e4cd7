"""Small netlink queries shared by the node setup and the namespace nodes (pyroute2)."""

from __future__ import annotations

import errno
from collections.abc import Awaitable
from ipaddress import IPv4Interface, IPv4Network
from socket import AF_INET
from typing import Any

from pyroute2 import AsyncIPRoute
from pyroute2.netlink.exceptions import NetlinkError

MAIN_TABLE = 254
# Errors meaning "already gone" when deleting a route or link.
_ABSENT = {errno.ESRCH, errno.ENOENT, errno.ENODEV}


async def link_index(ipr: AsyncIPRoute, name: str) -> int | None:
    indexes = await ipr.link_lookup(ifname=name)
    return indexes[0] if indexes else None


async def ipv4_addresses(ipr: AsyncIPRoute, index: int) -> list[IPv4Interface]:
    found = []
    async for message in await ipr.addr("dump", family=AF_INET, index=index):
        if message["index"] == index:
            found.append(IPv4Interface(f"{message.get('address')}/{message['prefixlen']}"))
    return found


async def main_routes(ipr: AsyncIPRoute) -> list[tuple[IPv4Network, Any]]:
    """Every IPv4 route of the main table, with its destination network."""
    found = []
    async for message in await ipr.route("dump", family=AF_INET):
        if message.get("table") == MAIN_TABLE:
            dst = IPv4Network(f"{message.get('dst') or '0.0.0.0'}/{message['dst_len']}")
            found.append((dst, message))
    return found


async def ignore_absent(operation: Awaitable[Any]) -> None:
    """Awaits a delete, treating "no such route/link" as success."""
    try:
        await operation
    except NetlinkError as exc:
        if exc.code not in _ABSENT:
            raise
