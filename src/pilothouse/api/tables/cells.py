"""How kube-apiserver's printers render values into table cells.

Each function is the counterpart of a helper in kubernetes/kubernetes
``pkg/printers/internalversion/printers.go`` or of the apimachinery function it calls, and
produces the same text: ages as ``duration.HumanDuration`` ("5s", "3m20s", "2d3h"), unset
timestamps as ``<unknown>``, quantities in canonical form, container lists comma-joined.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pilothouse.api.quantity import QuantityError, canonical

Obj = Mapping[str, Any]


def human_duration(seconds: float) -> str:
    """``duration.HumanDuration``: about two significant figures of a duration."""
    whole = int(seconds)  # truncates toward zero, as Go's int(d.Seconds())
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        # Up to two seconds in the future is clock skew: "now".
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        rest = hours % 24
        return f"{days}d{rest}h" if rest else f"{days}d"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    years = days // 365
    if hours < 24 * 365 * 8:
        rest = days % 365
        return f"{years}y{rest}d" if rest else f"{years}y"
    return f"{years}y"


def parse_time(text: str | None) -> datetime | None:
    """An RFC 3339 timestamp (``metav1.Time`` or ``MicroTime``); None when unset or bad."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def since(timestamp: str | None, now: datetime) -> str:
    """``translateTimestampSince``: the age of a timestamp, ``<unknown>`` when unset."""
    moment = parse_time(timestamp)
    if moment is None:
        return "<unknown>"
    return human_duration((now - moment).total_seconds())


def between(start: str | None, end: str | None) -> str:
    """HumanDuration of ``end - start`` (both set)."""
    first, last = parse_time(start), parse_time(end)
    if first is None or last is None:
        return "<unknown>"
    return human_duration((last - first).total_seconds())


def quantity(value: Any) -> str:
    """``Quantity.String()``: the canonical form; an absent quantity is "0"."""
    if value is None:
        return "0"
    try:
        return canonical(value)
    except QuantityError:
        return str(value)


def bool_pointer(value: bool | None) -> str:
    """``printBoolPtr``: True, False or <unset>."""
    if value is None:
        return "<unset>"
    return "True" if value else "False"


def containers_and_images(containers: Iterable[Obj] | None) -> tuple[str, str]:
    """``layoutContainerCells``: container names and their images, each comma-joined."""
    names: list[str] = []
    images: list[str] = []
    for container in containers or ():
        names.append(container.get("name", ""))
        images.append(container.get("image", ""))
    return ",".join(names), ",".join(images)


def pod_template_containers(template: Obj | None) -> tuple[str, str]:
    """Names and images of the containers of a pod template."""
    spec = (template or {}).get("spec") or {}
    return containers_and_images(spec.get("containers"))


def load_balancer_addresses(status: Obj | None) -> str:
    """``loadBalancerStatusStringer`` (wide, as the server always prints): the distinct IPs,
    or hostnames for entries without one, sorted and comma-joined."""
    addresses = set()
    for ingress in (status or {}).get("ingress") or ():
        address = ingress.get("ip") or ingress.get("hostname")
        if address:
            addresses.add(address)
    return ",".join(sorted(addresses))


def list_with_more(items: list[str], total: int, limit: int = 3) -> str:
    """``listWithMoreString``: at most ``limit`` items, then "+ N more...", or <unset>."""
    text = ",".join(items[:limit])
    if total > limit:
        return f"{text} + {total - limit} more..."
    return text or "<unset>"


def group_kind(api_version: str, kind: str) -> str:
    """``schema.GroupKind.String()`` of an apiVersion and kind: ``Kind.group`` or ``Kind``."""
    group = api_version.rpartition("/")[0]
    return f"{kind}.{group}" if group else kind
