"""Admission: the checks and side effects of a write that need more than the object itself.

- Namespace lifecycle: objects may only be created in a namespace that exists and is not
  terminating, and the system namespaces may not be deleted.
- Service cluster IP and node port allocation (``allocators``), done before the Service is
  written and undone when the write fails.

This module is the seam where later plugins (ServiceAccount, LimitRange, ResourceQuota, Pod
Security, webhooks) join the chain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pilothouse.api import errors
from pilothouse.api.kinds import service
from pilothouse.api.resources import ResourceType
from pilothouse.apiserver.context import APIContext

if TYPE_CHECKING:
    from pilothouse.apiserver.rest import Request

Obj = dict[str, Any]
Taken = list[tuple[str, str]]

PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public")


async def admit_create(ctx: APIContext, resource: ResourceType, obj: Obj, req: Request) -> None:
    """Namespace lifecycle: refuse creating in a missing or terminating namespace."""
    if not resource.namespaced:
        return
    namespace = obj["metadata"].get("namespace", "")
    namespaces = ctx.registry.get("", "v1", "namespaces")
    assert namespaces is not None
    try:
        ns = await ctx.storage.get(namespaces, "", namespace)
    except errors.NotFound:
        raise errors.NotFound.of("namespaces", namespace) from None
    if (ns.get("status") or {}).get("phase") == "Terminating" or ns["metadata"].get(
        "deletionTimestamp"
    ):
        raise errors.Forbidden(
            f'{resource.plural} "{obj["metadata"].get("name", "")}" is forbidden: unable to '
            f"create new content in namespace {namespace} because it is being terminated",
            name=obj["metadata"].get("name", ""),
            group=resource.group,
            kind=resource.plural,
            causes=[
                errors.Cause(
                    "NamespaceTerminating",
                    f"namespace {namespace} is being terminated",
                    "metadata.namespace",
                )
            ],
        )


def admit_delete(resource: ResourceType, name: str) -> None:
    if resource.group == "" and resource.plural == "namespaces" and name in PROTECTED_NAMESPACES:
        raise errors.Forbidden(
            f'namespaces "{name}" is forbidden: this namespace may not be deleted',
            name=name,
            kind="namespaces",
        )


def _is_service(resource: ResourceType) -> bool:
    return resource.group == "" and resource.plural == "services"


async def allocate(
    ctx: APIContext, resource: ResourceType, obj: Obj, old: Obj | None, *, dry_run: bool
) -> Taken:
    """Take the cluster IP and node ports a Service needs (nothing for other kinds)."""
    if not _is_service(resource):
        return []
    problems = service.init_ip_family_fields(obj, old)
    if problems:
        raise errors.Invalid.of("Service", obj["metadata"]["name"], problems)
    if dry_run:
        return []
    return await ctx.allocations.allocate(obj, old)


async def release(ctx: APIContext, taken: Taken) -> None:
    if taken:
        await ctx.allocations.release(taken)


async def after_update(
    ctx: APIContext, resource: ResourceType, new: Obj, old: Obj, taken: Taken
) -> None:
    """Release what an updated Service no longer holds, and what attempts of the update that
    lost a race took."""
    if _is_service(resource):
        await ctx.allocations.release_service(old, keep=new)
        await ctx.allocations.release_unheld(taken, new)


async def after_delete(ctx: APIContext, resource: ResourceType, obj: Obj) -> None:
    if _is_service(resource):
        await ctx.allocations.release_service(obj)
