"""Field ownership and server-side apply, as kube-apiserver's field manager does them.

``FieldManager.update`` runs on create, update and patch requests; ``FieldManager.apply`` on
apply requests (PATCH with application/apply-patch+yaml). Both are pure functions of their
arguments, and follow upstream's manager chain (apimachinery/pkg/util/managedfields):

- the managedFields a request sends are used when they decode and are not empty (and the
  request is not to a subresource); ``[]`` or ``[{}]`` drops them all; otherwise the live
  object's are kept. An existing object with no managedFields is not tracked on update.
- update: the fields the request added or changed become the manager's (merged into its
  existing Update entry for the same apiVersion and subresource), and every other manager
  loses the fields it changed or removed; entries left empty disappear. The time of an entry
  changes only when its fields did.
- apply: the configuration is merged into the live object by the schema (structured merge
  diff); a field another manager owns and the configuration sets to a different value is a
  conflict (409, one cause per field) unless ``force`` moves it to the applier; fields the
  applier applied before and omits now are removed unless another manager owns them; the
  applier's entry becomes exactly the fields of the configuration. The first apply to an
  object without managedFields attributes its existing fields to "before-first-apply".
  "kubectl" may take over fields that its client-side last-applied-configuration annotation
  recorded, and keeps that annotation in sync.
- no manager owns apiVersion, kind, metadata, metadata.name, namespace, creationTimestamp,
  selfLink, uid, clusterName, generation, managedFields and resourceVersion; and none owns
  the ``reset_fields`` the caller passes (the registry strategy's GetResetFields: ``status``
  for the main resource of kinds with a status subresource, ``spec`` and the like for
  ``/status``). The strategy still resets those fields' values; we only keep them out of the
  entries.
- at most 10 Update entries are kept; the oldest merge into "ancient-changes".

Not modelled: conversion between API versions (every object here is in ``api_version``), and
Go's zero values of non-pointer structs (our objects are plain JSON, as custom resources are
in kube-apiserver, so a new struct field is owned as a whole: ``f:spec: {.: {}, ...}``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from pilothouse.api import errors
from pilothouse.api.patch import gojson, typed
from pilothouse.api.patch.fieldpath import (
    FieldSet,
    Path,
    iterate,
    path_of,
    path_string,
    recursive_difference,
)
from pilothouse.api.patch.managedfields import (
    APPLY,
    UPDATE,
    Managed,
    ManagedFieldsError,
    ManagerKey,
    VersionedSet,
    decode,
    encode,
    is_reset,
    seconds,
)
from pilothouse.api.patch.status import UnreasonedServerError
from pilothouse.api.schema import Schema

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
MAX_UPDATE_MANAGERS = 10
ANCIENT_CHANGES = "ancient-changes"
BEFORE_FIRST_APPLY = "before-first-apply"
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024
# The manager managedFieldsUpdater records an update under before merging it into the
# request's manager.
_CURRENT_OPERATION = ManagerKey("current-operation", "")

_STRIPPED: FieldSet = frozenset(
    [path_of("apiVersion"), path_of("kind"), path_of("metadata")]
    + [
        path_of("metadata", name)
        for name in (
            "name",
            "namespace",
            "creationTimestamp",
            "selfLink",
            "uid",
            "clusterName",
            "generation",
            "managedFields",
            "resourceVersion",
        )
    ]
)

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Conflict:
    manager: ManagerKey
    path: Path


class _Conflicts(Exception):
    def __init__(self, conflicts: list[_Conflict]):
        super().__init__(conflicts)
        self.conflicts = conflicts


@dataclass(frozen=True)
class FieldManager:
    """Tracks field ownership in ``metadata.managedFields``; one instance serves every kind."""

    max_update_managers: int = MAX_UPDATE_MANAGERS

    # --- update ---------------------------------------------------------------------------------

    def update(
        self,
        live: Obj | None,
        new: Obj,
        *,
        manager: str,
        api_version: str,
        schema: Schema | None,
        now: str,
        subresource: str = "",
        reset_fields: Iterable[tuple[str, ...]] = (),
    ) -> Obj:
        """``new`` with the managedFields a create (``live`` None), update or patch by
        ``manager`` leaves; ``new`` itself is not modified."""
        base = live if live is not None else {}
        managed = _managed_for_update(base, new, subresource)
        base, result = _without_managed_fields(base), _without_managed_fields(new)
        if not managed.fields and _metadata(base).get("uid"):
            # skipNonAppliedManager: objects nobody tracked stay untracked until applied.
            return result
        key = ManagerKey.of(manager, UPDATE, api_version, subresource)
        managed = self._record_update(
            base, result, managed, key, schema=schema, now=now, ignored=_prefixes(reset_fields)
        )
        return _with_managed_fields(result, managed)

    # --- apply ----------------------------------------------------------------------------------

    def apply(
        self,
        live: Obj | None,
        config: Obj,
        *,
        manager: str,
        force: bool,
        api_version: str,
        schema: Schema | None,
        now: str,
        subresource: str = "",
        reset_fields: Iterable[tuple[str, ...]] = (),
        kind: str | None = None,
    ) -> Obj:
        """The object a server-side apply of ``config`` by ``manager`` produces from ``live``
        (None when the apply creates the object), with its managedFields.

        ``kind`` defaults to the live object's kind or the schema's. Raises BadRequest for a
        configuration of another kind or version or one carrying managedFields, Conflict
        for conflicts, and a reasonless 500 for a configuration that does not fit the schema
        (as kube-apiserver 1.33 does)."""
        base = live if live is not None else {}
        try:
            managed = decode(_metadata(base).get("managedFields"))
        except ManagedFieldsError as error:
            raise UnreasonedServerError(f"failed to decode managed fields: {error}") from error
        base = _without_managed_fields(base)
        kind = kind or base.get("kind") or _schema_kind(schema, api_version)
        _check_configuration(config, api_version, kind)
        problems = typed.validate(config, schema)
        if problems:
            raise UnreasonedServerError(
                f"failed to create typed patch object ({_gvknn(config)}): "
                f"{typed.TypeErrors(problems)}"
            )
        context = _ApplyContext(
            manager=manager,
            api_version=api_version,
            subresource=subresource,
            schema=schema,
            now=now,
            ignored=_prefixes(reset_fields),
        )
        try:
            obj, managed = self._apply_taking_over_client_side(
                base, config, managed, context, force
            )
        except _Conflicts as conflicts:
            raise _conflict_error(conflicts.conflicts) from None
        obj = _drop_nulls(obj)
        if manager == "kubectl":
            _sync_last_applied(obj, config)
        return _with_managed_fields(obj, managed)

    def _apply_taking_over_client_side(
        self, live: Obj, config: Obj, managed: Managed, context: _ApplyContext, force: bool
    ) -> tuple[Obj, Managed]:
        """lastAppliedManager: kubectl's first server-side apply may take over, without a
        conflict, the fields its client-side last-applied-configuration set to the values
        they still have."""
        try:
            return self._apply(live, config, managed, context, force)
        except _Conflicts as conflicts:
            if context.manager != "kubectl":
                raise
            allowed = _fields_from_last_applied(live, context.schema, context.api_version)
            if allowed is None:
                raise
            remaining = [c for c in conflicts.conflicts if c.path not in allowed]
            if remaining:
                raise _Conflicts(remaining) from None
            return self._apply(live, config, managed, context, True)

    def _apply(
        self, live: Obj, config: Obj, managed: Managed, context: _ApplyContext, force: bool
    ) -> tuple[Obj, Managed]:
        managed = managed.copy()
        if not managed.fields:
            before = ManagerKey.of(
                BEFORE_FIRST_APPLY, UPDATE, context.api_version, context.subresource
            )
            managed = self._record_update(
                {},
                live,
                managed,
                before,
                schema=context.schema,
                now=context.now,
                ignored=context.ignored,
            )
        key = ManagerKey.of(context.manager, APPLY, context.api_version, context.subresource)
        merged, fields = _structured_apply(live, config, managed.fields, key, context, force)
        managed.fields = _strip(fields, key)
        if merged is None:
            merged = live
        else:
            managed.times[key] = context.now
        return merged, self._cap(managed)

    # --- shared ---------------------------------------------------------------------------------

    def _record_update(
        self,
        live: Obj,
        new: Obj,
        managed: Managed,
        key: ManagerKey,
        *,
        schema: Schema | None,
        now: str,
        ignored: FieldSet,
    ) -> Managed:
        """managedFieldsUpdater around the structured merge update: what the request changed
        joins ``key``'s entry, stamped ``now``."""
        managed = managed.copy()
        fields = _structured_update(
            live, new, managed.fields, _CURRENT_OPERATION, key.api_version, schema, ignored
        )
        fields = _strip(fields, _CURRENT_OPERATION)
        changed = fields.pop(_CURRENT_OPERATION, None)
        if changed is not None:
            previous = fields.get(key)
            paths = changed.paths | previous.paths if previous is not None else changed.paths
            fields[key] = VersionedSet(paths, key.api_version, False)
            managed.times[key] = now
        managed.fields = fields
        return self._cap(managed)

    def _cap(self, managed: Managed) -> Managed:
        """capManagersManager: merge the oldest Update entries into "ancient-changes" (one per
        apiVersion) until at most ``max_update_managers`` remain."""
        updaters = [k for k, v in managed.fields.items() if not v.applied]
        if len(updaters) <= self.max_update_managers:
            return managed
        updaters.sort(key=lambda k: (seconds(managed.times.get(k)), k.identifier()))
        first_of_version: dict[str, ManagerKey] = {}
        remaining = len(updaters)
        for key in updaters:
            if remaining <= self.max_update_managers:
                break
            versioned = managed.fields[key]
            version = versioned.api_version
            if version not in first_of_version:
                first_of_version[version] = key
                continue
            bucket = ManagerKey.of(ANCIENT_CHANGES, UPDATE, version, "")
            if bucket not in managed.fields:
                managed.fields[bucket] = managed.fields.pop(first_of_version[version])
            managed.fields[bucket] = VersionedSet(
                versioned.paths | managed.fields[bucket].paths, version, versioned.applied
            )
            del managed.fields[key]
            remaining -= 1
            time = managed.times.get(key)
            if time is not None and (
                managed.times.get(bucket) is None or seconds(managed.times[bucket]) < seconds(time)
            ):
                managed.times[bucket] = time
        return managed


@dataclass(frozen=True)
class _ApplyContext:
    manager: str
    api_version: str
    subresource: str
    schema: Schema | None
    now: str
    ignored: FieldSet


# --- structured merge diff: the Updater ------------------------------------------------------


def _structured_update(
    live: Obj,
    new: Obj,
    fields: dict[ManagerKey, VersionedSet],
    key: ManagerKey,
    api_version: str,
    schema: Schema | None,
    ignored: FieldSet,
) -> dict[ManagerKey, VersionedSet]:
    """Updater.Update: ``key`` gains what ``new`` adds or modifies; everyone loses what it
    removes, and the others what it changes."""
    fields, comparison = _take_changes(live, new, fields, key, schema, ignored, force=True)
    previous = fields.get(key)
    paths = (previous.paths if previous is not None else frozenset()) | comparison.modified
    paths = (paths | comparison.added) - comparison.removed
    paths = recursive_difference(paths, ignored)
    if paths:
        fields[key] = VersionedSet(paths, api_version, False)
    else:
        fields.pop(key, None)
    return fields


def _structured_apply(
    live: Obj,
    config: Obj,
    fields: dict[ManagerKey, VersionedSet],
    key: ManagerKey,
    context: _ApplyContext,
    force: bool,
) -> tuple[Obj | None, dict[ManagerKey, VersionedSet]]:
    """Updater.Apply: the merged object (None when it equals ``live``) and the entries."""
    schema = context.schema
    merged = typed.merge(live, config, schema)
    merged = {} if merged is typed.ABSENT else merged
    last = fields.get(key)
    applied = recursive_difference(typed.to_field_set(config, schema), context.ignored)
    fields = dict(fields)
    fields[key] = VersionedSet(applied, context.api_version, True)
    if last is not None and last.paths:
        merged = _prune(merged, fields, last.paths, schema)
    fields, _ = _take_changes(live, merged, fields, key, schema, context.ignored, force=force)
    return (None if typed.equal(live, merged) else merged), fields


def _take_changes(
    live: Obj,
    new: Obj,
    fields: dict[ManagerKey, VersionedSet],
    key: ManagerKey,
    schema: Schema | None,
    ignored: FieldSet,
    *,
    force: bool,
) -> tuple[dict[ManagerKey, VersionedSet], typed.Comparison]:
    """Updater.update: managers other than ``key`` lose the fields ``new`` changes (a
    conflict unless ``force``) or removes."""
    comparison = typed.compare(live, new, schema)
    relevant = comparison.excluding(ignored)
    changed = relevant.modified | relevant.added
    conflicts: dict[ManagerKey, FieldSet] = {}
    for other, versioned in fields.items():
        if other != key and versioned.paths & changed:
            conflicts[other] = versioned.paths & changed
    if conflicts and not force:
        raise _Conflicts(
            [
                _Conflict(manager, path)
                for manager in sorted(conflicts, key=ManagerKey.identifier)
                for path in iterate(conflicts[manager])
            ]
        )
    result = {}
    for other, versioned in fields.items():
        if other != key:
            paths = versioned.paths - conflicts.get(other, frozenset()) - relevant.removed
            if not paths:
                continue
            versioned = VersionedSet(paths, versioned.api_version, versioned.applied)
        if versioned.paths:
            result[other] = versioned
    return result, comparison


def _prune(
    merged: Obj, fields: dict[ManagerKey, VersionedSet], last: FieldSet, schema: Schema | None
) -> Obj:
    """Updater.prune: remove what the applier applied last time and not this time, unless
    another manager (or the new configuration) owns it, or it was never the applier's alone."""
    last_named = typed.named_fields(last, schema)
    pruned = _as_object(typed.remove_items(merged, last_named, schema))
    owned = frozenset().union(*(v.paths for v in fields.values()))
    merged_set = typed.to_field_set(merged, schema, named=True)
    pruned_set = typed.to_field_set(pruned, schema, named=True)
    owned_named = typed.named_fields(owned, schema)
    pruned = _as_object(typed.remove_items(merged, merged_set - (pruned_set | owned_named), schema))
    pruned_set = typed.to_field_set(pruned, schema, named=True)
    dangling = (merged_set - pruned_set) & last_named
    return _as_object(typed.remove_items(merged, dangling, schema))


def _as_object(value: Any) -> Obj:
    return {} if value is typed.ABSENT else value


def _strip(
    fields: dict[ManagerKey, VersionedSet], key: ManagerKey
) -> dict[ManagerKey, VersionedSet]:
    """stripMetaManager: the fields nobody owns leave ``key``'s entry."""
    versioned = fields.get(key)
    if versioned is None:
        return fields
    fields = dict(fields)
    paths = versioned.paths - _STRIPPED
    if paths:
        fields[key] = VersionedSet(paths, versioned.api_version, versioned.applied)
    else:
        del fields[key]
    return fields


# --- client-side apply -------------------------------------------------------------------------


def _fields_from_last_applied(
    live: Obj, schema: Schema | None, api_version: str
) -> FieldSet | None:
    """The fields of the live object's last-applied-configuration that still hold the values
    it recorded; None when there is no usable annotation."""
    annotations = _metadata(live).get("annotations")
    text = annotations.get(LAST_APPLIED) if isinstance(annotations, dict) else None
    if not isinstance(text, str) or not text:
        return None
    try:
        last = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(last, dict) or last.get("apiVersion") != api_version:
        return None
    if typed.validate(last, schema):
        return None
    comparison = typed.compare(last, live, schema)
    return (
        typed.to_field_set(last, schema)
        - comparison.modified
        - comparison.added
        - comparison.removed
    )


def _sync_last_applied(obj: Obj, config: Obj) -> None:
    """lastAppliedUpdater: kubectl's server-side applies keep an existing client-side
    last-applied-configuration annotation equal to the applied configuration."""
    annotations = _metadata(obj).get("annotations")
    if not isinstance(annotations, dict) or not annotations.get(LAST_APPLIED):
        return
    annotations[LAST_APPLIED] = _last_applied_value(config)
    size = sum(len(k.encode()) + len(str(v).encode()) for k, v in annotations.items())
    if size > TOTAL_ANNOTATION_SIZE_LIMIT:
        del annotations[LAST_APPLIED]


def _last_applied_value(config: Obj) -> str:
    """buildLastApplied: the configuration without the annotation, encoded by Go's
    json.Encoder (which ends the document with a newline)."""
    document = dict(config)
    meta = document.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict):
        annotations = {k: v for k, v in meta["annotations"].items() if k != LAST_APPLIED}
        document["metadata"] = {**meta, "annotations": annotations}
    return gojson.dumps(document) + "\n"


# --- objects -----------------------------------------------------------------------------------


def _metadata(obj: Obj) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _managed_for_update(live: Obj, new: Obj, subresource: str) -> Managed:
    """decodeManagedFields: the request's managedFields when they decode and are not empty
    (never for a subresource), else the live object's."""
    if not subresource:
        sent = _metadata(new).get("managedFields")
        if is_reset(sent):
            return Managed()
        try:
            managed = decode(sent)
        except ManagedFieldsError:
            managed = Managed()
        if managed.fields:
            return managed
    try:
        return decode(_metadata(live).get("managedFields"))
    except ManagedFieldsError:
        return Managed()


def _without_managed_fields(obj: Obj) -> Obj:
    """A shallow copy of ``obj`` whose (copied) metadata has no managedFields."""
    result = dict(obj)
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        meta = dict(meta)
        meta.pop("managedFields", None)
        result["metadata"] = meta
    return result


def _with_managed_fields(obj: Obj, managed: Managed) -> Obj:
    entries = encode(managed)
    if entries:
        obj.setdefault("metadata", {})["managedFields"] = entries
    return obj


def _drop_nulls(value: Any) -> Any:
    """Values set to null decode to Go's zero value, which the object then omits."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _prefixes(reset_fields: Iterable[tuple[str, ...]]) -> FieldSet:
    return frozenset(path_of(*names) for names in reset_fields)


# --- checks and errors -------------------------------------------------------------------------


def _schema_kind(schema: Schema | None, api_version: str) -> str:
    if schema is None:
        return ""
    group, _, version = api_version.rpartition("/")
    for gvk in schema.raw.get("x-kubernetes-group-version-kind", ()):
        if gvk.get("group", "") == group and gvk.get("version") == version:
            return str(gvk.get("kind", ""))
    return ""


def _gvk(api_version: Any, kind: Any) -> str:
    """schema.GroupVersionKind.String() of an object's apiVersion and kind."""
    text = api_version if isinstance(api_version, str) else ""
    if text.count("/") > 1:
        return "/, Kind="
    group, _, version = text.rpartition("/")
    return f"{group}/{version}, Kind={kind if isinstance(kind, str) else ''}"


def _gvknn(obj: Obj) -> str:
    meta = _metadata(obj)
    return (
        f"{meta.get('namespace') or ''}/{meta.get('name') or ''}; "
        f"{_gvk(obj.get('apiVersion'), obj.get('kind'))}"
    )


def _check_configuration(config: Obj, api_version: str, kind: str) -> None:
    """versionCheckManager and structuredMergeManager's checks of an apply configuration."""
    if _gvk(config.get("apiVersion"), config.get("kind")) != _gvk(api_version, kind):
        raise errors.BadRequest(
            f"invalid object type: {_gvk(config.get('apiVersion'), config.get('kind'))}"
        )
    if _metadata(config).get("managedFields") is not None:
        raise errors.BadRequest("metadata.managedFields must be nil")


def _conflict_error(conflicts: list[_Conflict]) -> errors.Conflict:
    """NewConflictError: one FieldManagerConflict cause per field."""
    causes = [
        errors.Cause(
            "FieldManagerConflict", f"conflict with {c.manager.describe()}", path_string(c.path)
        )
        for c in conflicts
    ]
    if len(conflicts) == 1:
        only = conflicts[0]
        message = (
            f"Apply failed with 1 conflict: conflict with {only.manager.describe()}: "
            f"{path_string(only.path)}"
        )
    else:
        lines: list[str] = []
        for manager in sorted({c.manager for c in conflicts}, key=ManagerKey.identifier):
            lines.append(f"conflicts with {manager.describe()}:")
            lines.extend(f"- {path_string(c.path)}" for c in conflicts if c.manager == manager)
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return errors.Conflict(message, causes=causes)
