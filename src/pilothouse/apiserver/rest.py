"""The verbs on resources: get, list, create, update and patch.

Every write runs the same pipeline, in kube-apiserver's order:

  decode -> check kind -> field validation (prune; Strict/Warn/Ignore) -> managed fields
  (on the object as sent, so defaults are owned by nobody) -> system metadata -> convert to
  the storage version -> strategy (prepare, default) -> validation -> admission ->
  allocations -> store -> convert to the served version -> respond

Objects from the cache are never mutated: every write starts from a freshly decoded copy.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from pilothouse.api import errors
from pilothouse.api.fieldvalidation import (
    check_fields,
    check_patched_fields,
    find_duplicate_fields_json,
    find_duplicate_fields_yaml,
)
from pilothouse.api.kinds import strategy_for
from pilothouse.api.patch import (
    FieldManager,
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
    gojson,
)
from pilothouse.api.quantity import QuantityError, canonicalize_quantities
from pilothouse.api.resources import ResourceType
from pilothouse.apiserver import admission, conversion, negotiation, objectmeta, rendering
from pilothouse.apiserver.authn import UserInfo
from pilothouse.apiserver.body import deep_copy, read_body
from pilothouse.apiserver.context import APIContext
from pilothouse.apiserver.deletion import Deleter
from pilothouse.apiserver.filters import compile_filter
from pilothouse.apiserver.negotiation import Representation
from pilothouse.apiserver.options import ListOptions, WriteOptions
from pilothouse.apiserver.reviews import Reviews, is_review
from pilothouse.apiserver.routing import RequestInfo

Obj = dict[str, Any]


@dataclass
class Request:
    """One resource request, decoded."""

    http: web.Request
    info: RequestInfo
    user: UserInfo | None
    query: dict[str, str]
    representation: Representation
    warnings: list[str] = field(default_factory=list)

    @property
    def resource(self) -> ResourceType:
        return self.info.resource

    async def body_object(self) -> Obj:
        body = await read_body(self.http)
        return negotiation.decode_object(body, self.http.headers.get("Content-Type"))


class RestHandlers:
    def __init__(self, ctx: APIContext, *, deleter: Deleter, reviews: Reviews):
        self.ctx = ctx
        self.deleter = deleter
        self.reviews = reviews
        self.field_manager = FieldManager()

    # --- reads ------------------------------------------------------------------------------

    async def get(self, req: Request) -> web.Response:
        info = req.info
        resource_version = req.query.get("resourceVersion", "")
        obj = await self.ctx.storage.get(
            info.resource, info.namespace, info.name, resource_version=resource_version
        )
        obj = conversion.to_served(info.resource, self.ctx.registry, obj)
        return rendering.object_response(req, obj)

    async def list(self, req: Request) -> web.Response:
        info = req.info
        options = ListOptions.parse(req.query)
        matches = compile_filter(info.resource, options.label_selector, options.field_selector)
        result = await self.ctx.storage.list(
            info.resource,
            info.namespace,
            matches=matches,
            limit=options.limit,
            continue_token=options.continue_token,
            resource_version=options.resource_version,
            resource_version_match=options.resource_version_match,
        )
        return rendering.list_response(req, self.ctx.registry, result)

    # --- create -----------------------------------------------------------------------------

    async def create(self, req: Request) -> web.Response:
        options = self.write_options(req)
        obj = await self.decode_for_write(req, options)
        if is_review(req.resource.group, req.resource.plural):
            assert req.user is not None
            answer = self.reviews.answer(req.resource.plural, obj, req.user, req.info.namespace)
            return rendering.json_response(req, answer, status=201)
        self.track_fields(req, None, obj, options)
        created = await self.create_object(req, obj, options)
        return rendering.object_response(req, created, status=201)

    async def create_object(self, req: Request, obj: Obj, options: WriteOptions) -> Obj:
        """Store a new object given in the served version; returns it as stored, in the served
        version."""
        stored_resource = self.ctx.registry.storage_resource(req.resource)
        obj = await self.prepare_create(req, obj)
        taken = await admission.allocate(self.ctx, stored_resource, obj, None, dry_run=options.dry_run)
        try:
            created = await self.ctx.storage.create(stored_resource, obj, dry_run=options.dry_run)
        except BaseException:
            await admission.release(self.ctx, taken)
            raise
        return conversion.to_served(req.resource, self.ctx.registry, created)

    async def prepare_create(self, req: Request, obj: Obj) -> Obj:
        """System metadata, conversion, strategy, validation and admission of a new object."""
        info = req.info
        resource = info.resource
        stored_resource = self.ctx.registry.storage_resource(resource)
        objectmeta.before_create(obj, namespace=info.namespace, namespaced=resource.namespaced)
        obj = self.to_storage(req, obj)
        strategy = strategy_for(stored_resource.group, stored_resource.kind)
        strategy.prepare_for_create(obj)
        strategy.default(obj)
        problems = strategy.validate_metadata(obj, namespaced=resource.namespaced)
        problems += strategy.validate_create(obj)
        if problems:
            meta = obj["metadata"]
            name = meta.get("name") or meta.get("generateName", "")
            raise errors.Invalid.of(resource.kind, name, problems, resource.group)
        await admission.admit_create(self.ctx, stored_resource, obj, req)
        return obj

    def prepare_update(self, req: Request, current: Obj, new: Obj) -> Obj:
        """``new`` (served version) replacing ``current`` (stored): system metadata,
        conversion, strategy and validation."""
        resource = req.resource
        stored_resource = self.ctx.registry.storage_resource(resource)
        objectmeta.before_update(
            new, current, namespace=req.info.namespace, name=req.info.name,
            namespaced=resource.namespaced,
        )
        new = self.to_storage(req, new)
        strategy = strategy_for(stored_resource.group, stored_resource.kind)
        strategy.prepare_for_update(new, current)
        strategy.default(new)
        problems = (
            strategy.validate_metadata(new, namespaced=resource.namespaced)
            + strategy.validate_metadata_update(new, current)
            + strategy.validate(new)
            + strategy.validate_update(new, current)
        )
        if problems:
            raise errors.Invalid.of(resource.kind, req.info.name, problems, resource.group)
        return new

    def to_storage(self, req: Request, obj: Obj) -> Obj:
        """The object in its stored version, quantities in canonical form ("0.5" -> "500m"),
        as a decode and encode through kube-apiserver leaves them."""
        obj = conversion.to_storage(req.resource, self.ctx.registry, obj)
        schema = self.ctx.storage_schema_for(req.resource)
        if schema is not None:
            try:
                obj = canonicalize_quantities(obj, schema)
            except QuantityError as e:
                raise errors.BadRequest(str(e)) from None
        return obj

    def write_options(self, req: Request) -> WriteOptions:
        return WriteOptions.parse(req.query, user_agent=req.http.headers.get("User-Agent", ""))

    async def decode_for_write(self, req: Request, options: WriteOptions) -> Obj:
        body = await read_body(req.http)
        content_type = req.http.headers.get("Content-Type")
        obj = negotiation.decode_object(body, content_type)
        self.check_type(req.info.resource, obj)
        self.validate_fields(req, obj, options, duplicate_fields(body, content_type, options))
        return obj

    def check_type(self, resource: ResourceType, obj: Obj) -> None:
        """The body must be the kind the path addresses; fill in kind and apiVersion when the
        client left them out (the Python client does)."""
        kind = obj.get("kind") or resource.kind
        api_version = obj.get("apiVersion") or resource.api_version
        if api_version != resource.api_version:
            raise errors.BadRequest(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({resource.api_version})"
            )
        if kind != resource.kind:
            raise errors.BadRequest(
                f"the kind in the data ({kind}) does not match the expected kind "
                f"({resource.kind})"
            )
        obj["kind"], obj["apiVersion"] = kind, api_version

    def validate_fields(
        self, req: Request, obj: Obj, options: WriteOptions,
        duplicates: builtins.list[str] | tuple[str, ...] = (),
    ) -> None:
        """Prune unknown fields and reject wrong types (always), and report unknown and
        duplicate fields as the request's fieldValidation directive says."""
        schema = self.ctx.schema_for(req.info.resource)
        if schema is None:
            return
        req.warnings.extend(
            check_fields(obj, schema, mode=options.field_validation, duplicates=duplicates)
        )

    def reset_fields(self, req: Request, obj: Obj) -> builtins.list[tuple[str, ...]]:
        """Fields a write does not own: status on the main resource (when a /status
        endpoint exists), everything but status on /status."""
        if req.info.subresource == "status":
            return [(k,) for k in obj if k not in ("status", "metadata", "kind", "apiVersion")]
        if req.resource.subresource("status") is not None:
            return [("status",)]
        return []

    def track_fields(
        self, req: Request, old: Obj | None, new: Obj, options: WriteOptions,
    ) -> None:
        """Record in ``new``'s managedFields what the request's manager set or changed.

        Runs on the object as the client sent it, before defaulting: fields the server
        defaults are owned by nobody, as in kube-apiserver."""
        tracked = self.field_manager.update(
            old,
            new,
            manager=options.field_manager,
            subresource=req.info.subresource,
            api_version=req.resource.api_version,
            schema=self.ctx.schema_for(req.resource),
            now=objectmeta.now(),
            reset_fields=self.reset_fields(req, new),
        )
        managed = tracked["metadata"].get("managedFields")
        meta = new.setdefault("metadata", {})
        if managed:
            meta["managedFields"] = managed
        else:
            # An empty list would read, on the next write, as "drop all managed fields".
            meta.pop("managedFields", None)

    # --- update and patch ---------------------------------------------------------------------

    async def update(self, req: Request) -> web.Response:
        options = self.write_options(req)
        body = await self.decode_for_write(req, options)
        precondition = (body.get("metadata") or {}).get("resourceVersion", "")

        async def transform(current: Obj | None) -> Obj:
            if current is None:
                raise errors.NotFound.of(req.resource.plural, req.info.name, req.resource.group)
            new = deep_copy(body)
            served = conversion.to_served(req.resource, self.ctx.registry, current)
            self.track_fields(req, served, new, options)
            return self.prepare_update(req, current, new)

        return await self._write(req, transform, precondition, options)

    async def patch(self, req: Request) -> web.Response:
        options = self.write_options(req)
        content_type = negotiation.media_type(req.http.headers.get("Content-Type"))
        body = await read_body(req.http)
        if content_type in (negotiation.APPLY_PATCH_YAML, negotiation.APPLY_PATCH_CBOR):
            return await self.apply(req, body, options)
        patch = self.decode_patch(content_type, body)
        duplicates = duplicate_fields(body, content_type, options)

        async def transform(current: Obj | None) -> Obj:
            if current is None:
                raise errors.NotFound.of(req.resource.plural, req.info.name, req.resource.group)
            served = conversion.to_served(req.resource, self.ctx.registry, current)
            patched = self.apply_patch(req, content_type, deep_copy(served), patch)
            self.validate_patched_fields(req, patched, patch, content_type, options, duplicates)
            self.track_fields(req, served, patched, options)
            return self.prepare_update(req, current, patched)

        return await self._write(req, transform, _patched_resource_version(patch), options)

    def validate_patched_fields(
        self, req: Request, patched: Obj, patch: Any, content_type: str, options: WriteOptions,
        duplicates: builtins.list[str],
    ) -> None:
        schema = self.ctx.schema_for(req.info.resource)
        if schema is None:
            return
        if content_type == negotiation.STRATEGIC_MERGE_PATCH:
            rendered = lambda: gojson.format_value(patch)  # noqa: E731
        else:
            rendered = lambda: gojson.dumps(patched)  # noqa: E731
        req.warnings.extend(check_patched_fields(
            patched, schema, mode=options.field_validation, patch_value=rendered,
            duplicates=duplicates,
        ))

    async def apply(self, req: Request, body: bytes, options: WriteOptions) -> web.Response:
        """Server-side apply: PATCH with application/apply-patch+yaml."""
        if not req.query.get("fieldManager"):
            raise errors.BadRequest(
                'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                "is required for apply patch"
            )
        config = negotiation.decode_yaml(body)
        if not isinstance(config, dict):
            raise errors.BadRequest("the apply patch must be a YAML or JSON object")
        self.check_type(req.resource, config)
        self.validate_fields(
            req, config, options, duplicate_fields(body, negotiation.YAML, options)
        )
        meta = config.setdefault("metadata", {})
        if meta.get("name", req.info.name) != req.info.name:
            raise errors.BadRequest(
                f"the name of the object ({meta.get('name')}) does not match the name on the "
                f"URL ({req.info.name})"
            )
        schema = self.ctx.schema_for(req.resource)

        async def transform(current: Obj | None) -> Obj:
            served = (
                None if current is None
                else conversion.to_served(req.resource, self.ctx.registry, current)
            )
            applied = self.field_manager.apply(
                served, deep_copy(config), manager=options.field_manager, force=options.force,
                api_version=req.resource.api_version, schema=schema, now=objectmeta.now(),
                reset_fields=self.reset_fields(req, config),
            )
            if current is None:
                return await self.prepare_create(req, applied)
            return self.prepare_update(req, current, applied)

        return await self._write(req, transform, meta.get("resourceVersion", ""), options)

    async def _write(
        self, req: Request, transform: Any, precondition: str, options: WriteOptions
    ) -> web.Response:
        """Run an update, patch or apply through the storage's optimistic update loop, with
        the Service allocations and the completion of finalized deletions around it."""
        stored_resource = self.ctx.registry.storage_resource(req.resource)
        started_from: list[Obj] = []
        taken: admission.Taken = []

        async def allocating(current: Obj | None) -> Obj:
            new = await transform(current)
            if current is not None:
                started_from.append(current)
            taken.extend(
                await admission.allocate(
                    self.ctx, stored_resource, new, current, dry_run=options.dry_run
                )
            )
            return new

        try:
            obj, created = await self.ctx.storage.update(
                stored_resource, req.info.namespace, req.info.name, allocating,
                precondition=precondition, dry_run=options.dry_run,
            )
        except BaseException:
            await admission.release(self.ctx, taken)
            raise
        if started_from and not options.dry_run:
            await admission.after_update(
                self.ctx, stored_resource, obj, started_from[-1], taken
            )
            obj = await self.deleter.finish_if_finalized(stored_resource, obj)
        return rendering.object_response(
            req,
            conversion.to_served(req.resource, self.ctx.registry, obj),
            status=201 if created else 200,
        )

    def decode_patch(self, content_type: str, body: bytes) -> Any:
        if content_type == negotiation.JSON_PATCH:
            patch = negotiation.decode_json(body)
            if not isinstance(patch, list):
                raise errors.BadRequest(
                    "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
                )
            return patch
        if content_type in (negotiation.MERGE_PATCH, negotiation.STRATEGIC_MERGE_PATCH):
            patch = negotiation.decode_json(body)
            if not isinstance(patch, dict):
                raise errors.BadRequest("the patch must be a JSON object")
            return patch
        raise errors.UnsupportedMediaType(
            f"the body of the request was in an unknown format - accepted media types include: "
            f"{negotiation.JSON_PATCH}, {negotiation.MERGE_PATCH}, "
            f"{negotiation.STRATEGIC_MERGE_PATCH}, {negotiation.APPLY_PATCH_YAML}"
        )

    def apply_patch(self, req: Request, content_type: str, obj: Obj, patch: Any) -> Obj:
        if content_type == negotiation.JSON_PATCH:
            return apply_json_patch(obj, patch)
        if content_type == negotiation.MERGE_PATCH:
            return apply_merge_patch(obj, patch)
        schema = self.ctx.schema_for(req.resource)
        if schema is None:
            raise errors.UnsupportedMediaType(
                "strategic merge patch is not supported for custom resources"
            )
        return apply_strategic_merge_patch(obj, patch, schema)


def duplicate_fields(body: bytes, content_type: str | None, options: WriteOptions) -> list[str]:
    """Keys repeated in a JSON or YAML body, looked for only when the directive reports them
    (it costs a second, slower parse)."""
    if options.field_validation not in ("Strict", "Warn") or not body:
        return []
    kind = negotiation.media_type(content_type)
    if kind in ("", negotiation.JSON, negotiation.MERGE_PATCH, negotiation.STRATEGIC_MERGE_PATCH):
        return find_duplicate_fields_json(body)
    if kind in (negotiation.YAML, negotiation.APPLY_PATCH_YAML):
        return find_duplicate_fields_yaml(body)
    return []


def _patched_resource_version(patch: Any) -> str:
    """A resourceVersion a merge patch pins (a precondition), or ""."""
    if isinstance(patch, dict):
        meta = patch.get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("resourceVersion"), str):
            return meta["resourceVersion"]
    return ""
