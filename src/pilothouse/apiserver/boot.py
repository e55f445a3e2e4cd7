"""Objects every cluster has from its first start: the system namespaces and the
``kubernetes`` Service, with Endpoints and an EndpointSlice pointing at this server.

Each boot reconciles them (creates what is missing, corrects the endpoints) through the same
strategies the API applies to clients' writes, so they are defaulted and valid like any other
object.
"""

from __future__ import annotations

from typing import Any

from pilothouse.api import errors
from pilothouse.api.kinds import strategy_for
from pilothouse.apiserver import objectmeta
from pilothouse.apiserver.context import APIContext

Obj = dict[str, Any]

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


async def bootstrap(ctx: APIContext) -> None:
    for name in SYSTEM_NAMESPACES:
        await _ensure(ctx, "", "namespaces", {
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        })
    await _ensure_kubernetes_service(ctx)
    await _repair_allocations(ctx)


async def _repair_allocations(ctx: APIContext) -> None:
    services = ctx.registry.get("", "v1", "services")
    assert services is not None
    listed = await ctx.storage.list(services, "")
    await ctx.allocations.repair([cached.decode() for cached in listed.items])


async def _ensure_kubernetes_service(ctx: APIContext) -> None:
    settings = ctx.settings
    ip = ctx.allocations.ips.first
    service = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {
            "name": "kubernetes", "namespace": "default",
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": ip,
            "clusterIPs": [ip],
            "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                       "targetPort": settings.port}],
            "sessionAffinity": "None",
        },
    }
    await _ensure(ctx, "", "services", service)
    address = settings.advertise_address
    await _ensure(ctx, "", "endpoints", {
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": [{"addresses": [{"ip": address}],
                     "ports": [{"name": "https", "port": settings.port, "protocol": "TCP"}]}],
    }, reconcile=("subsets",))
    await _ensure(ctx, "discovery.k8s.io", "endpointslices", {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": "kubernetes"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": settings.port, "protocol": "TCP"}],
    }, reconcile=("endpoints", "ports"))


async def _ensure(
    ctx: APIContext, group: str, plural: str, obj: Obj, *, reconcile: tuple[str, ...] = ()
) -> bool:
    """Create ``obj`` if missing (True when created); otherwise correct the ``reconcile``
    top-level fields when they drifted."""
    resource = next(r for r in ctx.registry if r.group == group and r.plural == plural
                    and r.preferred)
    meta = obj["metadata"]
    namespace = meta.get("namespace", "")
    try:
        current = await ctx.storage.get(resource, namespace, meta["name"])
    except errors.NotFound:
        current = None
    if current is None:
        strategy = strategy_for(group, resource.kind)
        objectmeta.before_create(obj, namespace=namespace, namespaced=resource.namespaced)
        status = obj.pop("status", None)
        strategy.prepare_for_create(obj)
        strategy.default(obj)
        if status is not None:
            obj["status"] = status
        try:
            await ctx.storage.create(resource, obj)
        except errors.AlreadyExists:
            return False
        return True
    if reconcile and any(current.get(f) != obj.get(f) for f in reconcile):
        async def correct(existing: Obj | None) -> Obj:
            assert existing is not None
            for f in reconcile:
                existing[f] = obj[f]
            return existing

        await ctx.storage.update(resource, namespace, meta["name"], correct)
    return False
