"""Deleting objects, as kube-apiserver's generic registry does.

A DELETE either removes the object at once or marks it for deletion and returns 202:

- Graceful deletion (pods bound to a node): ``deletionTimestamp`` is set ``grace`` seconds
  ahead and ``deletionGracePeriodSeconds`` recorded; the kubelet stops the containers and
  deletes again with grace 0. Pods never scheduled, or already finished, go at once.
- Finalizers: a propagation policy of Orphan or Foreground adds the ``orphan`` or
  ``foregroundDeletion`` finalizer. An object with finalizers gets ``deletionTimestamp`` and
  stays until controllers remove the last finalizer; the update that removes it completes
  the deletion (``finish_if_finalized``).
- Namespaces carry ``spec.finalizers: [kubernetes]``: deleting one marks it Terminating; the
  namespace controller empties it, clears the finalizer through ``/finalize`` and deletes it
  again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from pilothouse.api import errors
from pilothouse.api.resources import ResourceType
from pilothouse.apiserver import admission, conversion, objectmeta, rendering
from pilothouse.apiserver.body import read_body
from pilothouse.apiserver.context import APIContext
from pilothouse.apiserver.filters import compile_filter
from pilothouse.apiserver.negotiation import decode_object
from pilothouse.apiserver.options import DeleteOptions, ListOptions

if TYPE_CHECKING:
    from pilothouse.apiserver.rest import Request

Obj = dict[str, Any]

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
DEFAULT_POD_GRACE = 30


def _is(resource: ResourceType, group: str, plural: str) -> bool:
    return resource.group == group and resource.plural == plural


class Deleter:
    def __init__(self, ctx: APIContext):
        self.ctx = ctx

    async def delete(self, req: Request) -> web.Response:
        body = await read_body(req.http)
        options = DeleteOptions.parse(
            req.query, decode_object(body, req.http.headers.get("Content-Type")) if body else None
        )
        resource = self.ctx.registry.storage_resource(req.resource)
        admission.admit_delete(resource, req.info.name)
        obj, deleted = await self.delete_object(
            resource, req.info.namespace, req.info.name, options
        )
        obj = conversion.to_served(req.resource, self.ctx.registry, obj)
        return rendering.object_response(req, obj, status=200 if deleted else 202)

    async def delete_object(
        self, resource: ResourceType, namespace: str, name: str, options: DeleteOptions
    ) -> tuple[Obj, bool]:
        """Delete or mark for deletion. Returns the object and whether it is gone."""
        storage = self.ctx.storage
        marked: dict[str, bool] = {}

        async def mark(current: Obj | None) -> Obj:
            if current is None:
                raise errors.NotFound.of(resource.plural, name, resource.group)
            _check_preconditions(resource, name, current, options)
            marked["pending"] = self._mark_for_deletion(resource, current, options)
            return current

        current, _ = await storage.update(resource, namespace, name, mark,
                                          dry_run=options.dry_run)
        if marked.get("pending"):
            return current, False
        deleted = await storage.delete(
            resource, namespace, name, expected=current, dry_run=options.dry_run
        )
        if not options.dry_run:
            await admission.after_delete(self.ctx, resource, deleted)
        return deleted, True

    def _mark_for_deletion(self, resource: ResourceType, obj: Obj, options: DeleteOptions) -> bool:
        """Mark ``obj`` (in place) for deletion if it cannot go at once; True if marked."""
        meta = obj["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        policy = options.propagation_policy
        if policy == "Orphan" and ORPHAN not in finalizers:
            finalizers.append(ORPHAN)
        elif policy == "Foreground" and FOREGROUND not in finalizers:
            finalizers.append(FOREGROUND)
        if policy in ("Background", "Foreground"):
            finalizers = [f for f in finalizers if f != ORPHAN or policy != "Background"]
        if policy in ("Background", "Orphan"):
            finalizers = [f for f in finalizers if f != FOREGROUND]

        grace = self._grace_period(resource, obj, options)
        namespace_finalizers = (
            _is(resource, "", "namespaces") and (obj.get("spec") or {}).get("finalizers")
        )
        if not finalizers and not grace and not namespace_finalizers:
            return False
        if finalizers:
            meta["finalizers"] = finalizers
        if namespace_finalizers:
            obj.setdefault("status", {})["phase"] = "Terminating"
        if grace:
            deadline = objectmeta.timestamp(grace)
            # A second delete may shorten the grace period, never lengthen it.
            if not meta.get("deletionTimestamp") or deadline < meta["deletionTimestamp"]:
                meta["deletionTimestamp"] = deadline
                meta["deletionGracePeriodSeconds"] = grace
        else:
            meta.setdefault("deletionTimestamp", objectmeta.now())
            meta.setdefault("deletionGracePeriodSeconds", 0)
        return True

    def _grace_period(self, resource: ResourceType, obj: Obj, options: DeleteOptions) -> int:
        """Seconds a pod gets to stop; 0 for everything that is not graceful."""
        if not _is(resource, "", "pods"):
            return 0
        spec = obj.get("spec") or {}
        phase = (obj.get("status") or {}).get("phase")
        if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
            return 0
        grace = options.grace_period_seconds
        if grace is None:
            grace = spec.get("terminationGracePeriodSeconds", DEFAULT_POD_GRACE)
        return max(int(grace or 0), 0)

    async def finish_if_finalized(self, resource: ResourceType, obj: Obj) -> Obj:
        """Complete the deletion of an object whose last finalizer was just removed."""
        meta = obj["metadata"]
        if not meta.get("deletionTimestamp") or meta.get("finalizers"):
            return obj
        if _is(resource, "", "namespaces") and (obj.get("spec") or {}).get("finalizers"):
            return obj
        if meta.get("deletionGracePeriodSeconds", 0) and _is(resource, "", "pods"):
            return obj  # the kubelet completes graceful pod deletion
        try:
            deleted = await self.ctx.storage.delete(
                resource, meta.get("namespace", ""), meta["name"], expected=obj
            )
        except (errors.NotFound, errors.Conflict):
            return obj  # someone else finished (or changed) it first
        await admission.after_delete(self.ctx, resource, deleted)
        return deleted

    async def deletecollection(self, req: Request) -> web.Response:
        body = await read_body(req.http)
        options = DeleteOptions.parse(
            req.query, decode_object(body, req.http.headers.get("Content-Type")) if body else None
        )
        list_options = ListOptions.parse(req.query)
        resource = self.ctx.registry.storage_resource(req.resource)
        matches = compile_filter(resource, list_options.label_selector,
                                 list_options.field_selector)
        result = await self.ctx.storage.list(resource, req.info.namespace, matches=matches)
        items = []
        for cached in result.items:
            try:
                obj, _ = await self.delete_object(resource, cached.namespace, cached.name, options)
            except errors.NotFound:
                continue
            items.append(conversion.to_served(req.resource, self.ctx.registry, obj))
        body_obj = {
            "kind": req.resource.list_kind,
            "apiVersion": req.resource.api_version,
            "metadata": {"resourceVersion": result.resource_version},
            "items": items,
        }
        return rendering.json_response(req, body_obj)


def _check_preconditions(resource: ResourceType, name: str, obj: Obj, options: DeleteOptions) -> None:
    meta = obj["metadata"]
    if options.precondition_uid and options.precondition_uid != meta.get("uid"):
        raise errors.Conflict(
            f'Operation cannot be fulfilled on {resource.group_resource} "{name}": '
            f"Precondition failed: UID in precondition: {options.precondition_uid}, "
            f"UID in object meta: {meta.get('uid')}",
            name=name, group=resource.group, kind=resource.plural,
        )
    rv = options.precondition_resource_version
    if rv and rv != meta.get("resourceVersion"):
        raise errors.Conflict(
            f'Operation cannot be fulfilled on {resource.group_resource} "{name}": '
            f"Precondition failed: ResourceVersion in precondition: {rv}, "
            f"ResourceVersion in object meta: {meta.get('resourceVersion')}",
            name=name, group=resource.group, kind=resource.plural,
        )
