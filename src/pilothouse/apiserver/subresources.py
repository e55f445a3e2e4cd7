"""Subresources: status, scale, pods/binding, pods/eviction, namespaces/finalize, and the
streaming pod subresources (log, exec, attach, portforward) that the kubelet serves.

``/status`` writes change only status; the main endpoint never changes status (the kind's
strategy enforces both). ``/scale`` reads and writes an autoscaling/v1 Scale that maps onto
``spec.replicas``, with the label selector as a string in ``status.selector``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from pilothouse.api import errors
from pilothouse.api.kinds import strategy_for
from pilothouse.api.kinds.namespace import NamespaceStrategy
from pilothouse.api.patch import apply_json_patch, apply_merge_patch
from pilothouse.api.selectors import LabelSelector
from pilothouse.apiserver import conversion, negotiation, objectmeta, rendering
from pilothouse.apiserver.body import deep_copy, read_body
from pilothouse.apiserver.context import APIContext
from pilothouse.apiserver.options import DeleteOptions

if TYPE_CHECKING:
    from pilothouse.apiserver.deletion import Deleter
    from pilothouse.apiserver.rest import Request, RestHandlers

Obj = dict[str, Any]
# Streams a pod subresource from the node running the pod (installed by the kubelet issue).
NodeStreamer = Callable[["Request", Obj], Awaitable[web.StreamResponse]]


class SubresourceHandlers:
    def __init__(self, ctx: APIContext, *, rest: RestHandlers, deleter: Deleter):
        self.ctx = ctx
        self.rest = rest
        self.deleter = deleter
        self.node_streamer: NodeStreamer | None = None

    async def handle(self, req: Request) -> web.StreamResponse:
        sub = req.info.subresource
        verb = req.info.verb
        if sub == "status":
            if verb == "get":
                return await self.rest.get(req)
            return await self.write(req, self._status_update)
        if sub == "scale":
            return await self.scale(req)
        if sub == "binding" and verb == "create":
            return await self.bind(req)
        if sub == "eviction" and verb == "create":
            return await self.evict(req)
        if sub == "finalize" and verb == "update":
            return await self.write(req, self._finalize_update)
        if sub in ("log", "exec", "attach", "portforward"):
            return await self.stream(req)
        raise errors.MethodNotAllowed(
            "the server does not allow this method on the requested resource"
        )

    # --- status and finalize: writes that change one part of the object ----------------------

    async def write(self, req: Request, merge: Callable[[Request, Obj, Obj], Obj]) -> web.Response:
        """PUT or PATCH of a subresource that shares the object's shape."""
        options = self.rest.write_options(req)
        content_type = negotiation.media_type(req.http.headers.get("Content-Type"))
        if req.info.verb == "update":
            body = await self.rest.decode_for_write(req, options)
            precondition = (body.get("metadata") or {}).get("resourceVersion", "")
        else:
            body = self.rest.decode_patch(content_type, await read_body(req.http))
            precondition = ""

        async def transform(current: Obj | None) -> Obj:
            if current is None:
                raise errors.NotFound.of(req.resource.plural, req.info.name, req.resource.group)
            served = conversion.to_served(req.resource, self.ctx.registry, current)
            if req.info.verb == "update":
                new = deep_copy(body)
            else:
                new = self.rest.apply_patch(req, content_type, deep_copy(served), body)
            self.rest.track_fields(req, served, new, options)
            return merge(req, current, conversion.to_storage(req.resource, self.ctx.registry, new))

        obj, _ = await self.ctx.storage.update(
            self.ctx.registry.storage_resource(req.resource), req.info.namespace, req.info.name,
            transform, precondition=precondition, dry_run=options.dry_run,
        )
        stored = self.ctx.registry.storage_resource(req.resource)
        if not options.dry_run:
            obj = await self.deleter.finish_if_finalized(stored, obj)
        return rendering.object_response(
            req, conversion.to_served(req.resource, self.ctx.registry, obj)
        )

    def _status_update(self, req: Request, current: Obj, new: Obj) -> Obj:
        stored = self.ctx.registry.storage_resource(req.resource)
        strategy = strategy_for(stored.group, stored.kind)
        managed = (new.get("metadata") or {}).get("managedFields")
        strategy.prepare_for_status_update(new, current)
        if managed is not None:
            new["metadata"]["managedFields"] = managed
        problems = strategy.validate_status_update(new, current)
        if problems:
            raise errors.Invalid.of(req.resource.kind, req.info.name, problems, req.resource.group)
        return new

    def _finalize_update(self, req: Request, current: Obj, new: Obj) -> Obj:
        """/finalize writes spec.finalizers only."""
        result = deep_copy(current)
        finalizers = (new.get("spec") or {}).get("finalizers") or []
        result.setdefault("spec", {})["finalizers"] = finalizers
        if not finalizers:
            del result["spec"]["finalizers"]
        strategy = NamespaceStrategy()
        strategy.prepare_for_finalize(result, current)
        problems = strategy.validate_finalize(result, current)
        if problems:
            raise errors.Invalid.of("Namespace", req.info.name, problems)
        return result

    # --- scale ---------------------------------------------------------------------------------

    async def scale(self, req: Request) -> web.Response:
        if req.info.verb == "get":
            obj = await self.ctx.storage.get(
                req.resource, req.info.namespace, req.info.name,
                resource_version=req.query.get("resourceVersion", ""),
            )
            return rendering.json_response(req, _scale_of(obj))
        options = self.rest.write_options(req)
        content_type = negotiation.media_type(req.http.headers.get("Content-Type"))
        raw = await read_body(req.http)
        if req.info.verb == "update":
            body = negotiation.decode_object(raw, content_type or None)
            precondition = (body.get("metadata") or {}).get("resourceVersion", "")
        else:
            body = self.rest.decode_patch(content_type, raw)
            precondition = ""

        async def transform(current: Obj | None) -> Obj:
            if current is None:
                raise errors.NotFound.of(req.resource.plural, req.info.name, req.resource.group)
            scale = _scale_of(current)
            if req.info.verb == "update":
                new_scale = deep_copy(body)
            elif content_type == negotiation.JSON_PATCH:
                new_scale = apply_json_patch(scale, body)
            else:
                new_scale = apply_merge_patch(scale, body)
            replicas = (new_scale.get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or replicas < 0:
                raise errors.Invalid.of(
                    "Scale", req.info.name,
                    [errors.invalid("spec.replicas", replicas, "must be greater than or equal to 0")],
                    "autoscaling",
                )
            pinned = (new_scale.get("metadata") or {}).get("resourceVersion")
            if pinned and pinned != current["metadata"]["resourceVersion"]:
                raise errors.Conflict.modified(req.resource.plural, req.info.name, req.resource.group)
            new = deep_copy(current)
            new.setdefault("spec", {})["replicas"] = replicas
            self.rest.track_fields(req, current, new, options)
            return self.rest.prepare_update(req, current, new)

        obj, _ = await self.ctx.storage.update(
            req.resource, req.info.namespace, req.info.name, transform,
            precondition=precondition, dry_run=options.dry_run,
        )
        return rendering.json_response(req, _scale_of(obj))

    # --- pods/binding and pods/eviction --------------------------------------------------------

    async def bind(self, req: Request) -> web.Response:
        body = await req.body_object()
        target = body.get("target") or {}
        node = target.get("name")
        if not node:
            raise errors.Invalid.of("Binding", req.info.name, [errors.required("target.name")])
        options = self.rest.write_options(req)

        async def transform(pod: Obj | None) -> Obj:
            if pod is None:
                raise errors.NotFound.of("pods", req.info.name)
            if pod["metadata"].get("deletionTimestamp"):
                raise errors.Conflict(f"pod {req.info.name} is being deleted, cannot be assigned to a host")
            current_node = (pod.get("spec") or {}).get("nodeName")
            if current_node:
                raise errors.Conflict(
                    f"pod {req.info.name} is already assigned to node \"{current_node}\""
                )
            pod["spec"]["nodeName"] = node
            annotations = (body.get("metadata") or {}).get("annotations")
            if annotations:
                pod["metadata"].setdefault("annotations", {}).update(annotations)
            _set_condition(pod, "PodScheduled", "True")
            return pod

        await self.ctx.storage.update(
            req.resource, req.info.namespace, req.info.name, transform, dry_run=options.dry_run
        )
        return rendering.success_status(status=201)

    async def evict(self, req: Request) -> web.Response:
        body = await req.body_object()
        pod = await self.ctx.storage.get(req.resource, req.info.namespace, req.info.name)
        await self._check_disruption_budgets(req, pod)
        options = DeleteOptions.parse(req.query, body.get("deleteOptions"))
        await self.deleter.delete_object(req.resource, req.info.namespace, req.info.name, options)
        return rendering.success_status(status=201)

    async def _check_disruption_budgets(self, req: Request, pod: Obj) -> None:
        """Refuse an eviction that a PodDisruptionBudget does not allow (429)."""
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed", "Pending"):
            return
        pdbs = self.ctx.registry.get("policy", "v1", "poddisruptionbudgets")
        assert pdbs is not None
        labels = pod["metadata"].get("labels") or {}
        budgets = await self.ctx.storage.list(pdbs, req.info.namespace)
        for cached in budgets.items:
            pdb = cached.decode()
            selector = LabelSelector.from_object((pdb.get("spec") or {}).get("selector"))
            if not selector.matches(labels):
                continue
            allowed = (pdb.get("status") or {}).get("disruptionsAllowed", 0)
            if allowed <= 0:
                raise errors.TooManyRequests(
                    "Cannot evict pod as it would violate the pod's disruption budget.",
                    causes=[errors.Cause(
                        "DisruptionBudget",
                        f"The disruption budget {pdb['metadata']['name']} needs "
                        f"{(pdb.get('status') or {}).get('desiredHealthy', 0)} healthy pods and "
                        f"has {(pdb.get('status') or {}).get('currentHealthy', 0)} currently",
                    )],
                )

    # --- streaming: served by the kubelet of the pod's node ------------------------------------

    async def stream(self, req: Request) -> web.StreamResponse:
        pod = await self.ctx.storage.get(req.resource, req.info.namespace, req.info.name)
        if not (pod.get("spec") or {}).get("nodeName"):
            raise errors.BadRequest(f"pod {req.info.name} does not have a host assigned")
        if self.node_streamer is None:
            raise errors.ServiceUnavailable(
                f"{req.info.subresource} is not available: no kubelet serves node "
                f"{pod['spec']['nodeName']}"
            )
        return await self.node_streamer(req, pod)


def _scale_of(obj: Obj) -> Obj:
    meta = obj["metadata"]
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    selector = spec.get("selector")
    if isinstance(selector, dict) and ("matchLabels" in selector or "matchExpressions" in selector):
        selector_text = str(LabelSelector.from_object(selector))
    elif isinstance(selector, dict):  # ReplicationController: a plain map
        selector_text = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    else:
        selector_text = ""
    scale_status: Obj = {"replicas": status.get("replicas", 0)}
    if selector_text:
        scale_status["selector"] = selector_text
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": spec.get("replicas", 0)},
        "status": scale_status,
    }


def _set_condition(pod: Obj, type_: str, status: str) -> None:
    conditions = pod.setdefault("status", {}).setdefault("conditions", [])
    for condition in conditions:
        if condition.get("type") == type_:
            condition["status"] = status
            condition["lastTransitionTime"] = objectmeta.now()
            return
    conditions.append(
        {"type": type_, "status": status, "lastProbeTime": None,
         "lastTransitionTime": objectmeta.now()}
    )
