"""Removing what the portmap plugin leaves behind.

The reference portmap plugin (through iptables-nft) creates shared chains in the tables
``ip nat`` and ``ip6 nat`` (CNI-HOSTPORT-DNAT, -SETMARK, -MASQ, and jumps to them from the
base chains) the first time a sandbox has a hostPort, and never removes them: DEL only drops
the per-sandbox CNI-DN-* chains. When no sandbox with host ports is left on the machine,
``remove_shared_chains`` removes the shared ones too, and the table itself when portmap's
chains were all it held. Rules of anyone else in those tables are left alone.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..process import check_output, run

NFT = "nft"
TIME_LIMIT = 30.0
SHARED_PREFIX = "CNI-HOSTPORT-"
SANDBOX_PREFIX = "CNI-DN-"
BASE_CHAINS = ("PREROUTING", "OUTPUT", "POSTROUTING", "INPUT")


async def remove_shared_chains() -> bool:
    """Removes portmap's shared chains (IPv4 and IPv6) when no sandbox chain uses them.
    True if anything was removed."""
    removed = [await _remove_shared_chains(family) for family in ("ip", "ip6")]
    return any(removed)


async def _remove_shared_chains(family: str) -> bool:
    listed = await run([NFT, "-j", "list", "table", family, "nat"], time_limit=TIME_LIMIT)
    if listed.returncode != 0:
        return False  # no such table: nothing to remove
    chains, rules = _parse(orjson.loads(listed.stdout))
    if any(name.startswith(SANDBOX_PREFIX) for name in chains):
        return False  # a sandbox still maps a host port
    ours = [r for r in rules if _jumps_to_shared(r) or r["chain"].startswith(SHARED_PREFIX)]
    others = [r for r in rules if r not in ours]
    foreign_chains = [c for c in chains if not c.startswith(SHARED_PREFIX) and c not in BASE_CHAINS]
    if not others and not foreign_chains:
        await check_output([NFT, "delete", "table", family, "nat"], time_limit=TIME_LIMIT)
        return True
    if not ours:
        return False
    script = [f"delete rule {family} nat {r['chain']} handle {r['handle']}" for r in ours
              if not r["chain"].startswith(SHARED_PREFIX)]
    script += [f"delete chain {family} nat {c}" for c in chains if c.startswith(SHARED_PREFIX)]
    await check_output([NFT, "-f", "-"], stdin="\n".join(script).encode() + b"\n",
                       time_limit=TIME_LIMIT)
    return True


def _parse(document: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    chains, rules = [], []
    for item in document.get("nftables", []):
        if "chain" in item:
            chains.append(item["chain"]["name"])
        elif "rule" in item:
            rules.append(item["rule"])
    return chains, rules


def _jumps_to_shared(rule: dict[str, Any]) -> bool:
    for expression in rule.get("expr", []):
        target = (expression.get("jump") or expression.get("goto") or {}).get("target", "")
        if target.startswith(SHARED_PREFIX):
            return True
    return False
