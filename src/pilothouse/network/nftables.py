"""nftables through the ``nft`` command: atomic table loads and the node's own table.

A table is always replaced whole in one ``nft -f`` transaction (declare, delete, redefine),
so readers never see it half written and a reload is idempotent. Only tables this package
names are ever touched; nothing here lists, flushes or edits anyone else's rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network

from .process import CommandFailed, check_output, run

NFT = "nft"
TIME_LIMIT = 30.0


async def replace_table(family: str, name: str, body: str) -> None:
    """Creates or atomically replaces table ``family name`` with ``body`` (its contents)."""
    script = f"table {family} {name}\ndelete table {family} {name}\ntable {family} {name} {{\n{body}}}\n"
    await check_output([NFT, "-f", "-"], stdin=script.encode(), time_limit=TIME_LIMIT)


async def delete_table(family: str, name: str) -> None:
    """Deletes the table if it exists."""
    if await table_exists(family, name):
        await check_output([NFT, "delete", "table", family, name], time_limit=TIME_LIMIT)


async def table_exists(family: str, name: str) -> bool:
    completed = await run([NFT, "list", "table", family, name], time_limit=TIME_LIMIT)
    if completed.returncode == 0:
        return True
    if b"No such file or directory" in completed.stderr:
        return False
    raise CommandFailed(completed.argv, completed.returncode, completed.stderr)


def node_table_body(
    *,
    pod_cidr: IPv4Network,
    internal: Sequence[IPv4Network],
    block_pod_egress: bool,
) -> str:
    """The node's table: masquerade for pod egress, and the optional egress block.

    ``internal`` lists every destination that stays inside the cluster (cluster and service
    CIDRs, node networks); pod traffic to those keeps its source address.
    """
    elements = ", ".join(str(network) for network in internal)
    lines = [
        "  set internal {",
        "    type ipv4_addr; flags interval;",
        f"    elements = {{ {elements} }}",
        "  }",
        "  chain postrouting {",
        "    type nat hook postrouting priority srcnat; policy accept;",
        f'    ip saddr {pod_cidr} ip daddr != @internal masquerade comment "pod egress"',
        "  }",
    ]
    if block_pod_egress:
        lines += [
            "  chain forward {",
            "    type filter hook forward priority filter; policy accept;",
            f'    ip saddr {pod_cidr} ip daddr != @internal counter drop comment "pod egress blocked"',
            "  }",
        ]
    return "\n".join(lines) + "\n"
