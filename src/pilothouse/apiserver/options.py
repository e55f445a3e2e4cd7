"""Query parameters of resource requests, parsed and checked once per request.

Names and meanings are kube-apiserver's (ListOptions, CreateOptions, UpdateOptions,
PatchOptions, DeleteOptions). Bad values are 400 BadRequest naming the parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pilothouse.api import errors


def _bool(query: Mapping[str, str], name: str) -> bool:
    value = query.get(name)
    if value is None or value == "":
        return False
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise errors.BadRequest(f'invalid boolean value for {name}: "{value}"')


def _int(query: Mapping[str, str], name: str, default: int | None = None) -> int | None:
    value = query.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise errors.BadRequest(f'invalid integer value for {name}: "{value}"') from None


def _dry_run(query: Mapping[str, str], values: list[str] | None = None) -> bool:
    values = values if values is not None else ([query["dryRun"]] if "dryRun" in query else [])
    for value in values:
        if value != "All":
            raise errors.BadRequest(
                f'Invalid value: "{value}": supported values: "All"'
            )
    return bool(values)


@dataclass(frozen=True)
class ListOptions:
    label_selector: str = ""
    field_selector: str = ""
    limit: int = 0
    continue_token: str = ""
    resource_version: str = ""
    resource_version_match: str = ""
    timeout_seconds: int | None = None
    allow_bookmarks: bool = False
    send_initial_events: bool | None = None

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> ListOptions:
        limit = _int(query, "limit", 0) or 0
        if limit < 0:
            raise errors.BadRequest(f"limit: Invalid value: {limit}: must be non-negative")
        timeout = _int(query, "timeoutSeconds")
        send_initial = query.get("sendInitialEvents")
        options = cls(
            label_selector=query.get("labelSelector", ""),
            field_selector=query.get("fieldSelector", ""),
            limit=limit,
            continue_token=query.get("continue", ""),
            resource_version=query.get("resourceVersion", ""),
            resource_version_match=query.get("resourceVersionMatch", ""),
            timeout_seconds=timeout,
            allow_bookmarks=_bool(query, "allowWatchBookmarks"),
            send_initial_events=None if send_initial is None else _bool(query, "sendInitialEvents"),
        )
        if options.continue_token and options.resource_version not in ("", "0"):
            raise errors.BadRequest(
                "specifying resource version is not allowed when using continue"
            )
        # As ValidateListOptions: a watch-list (sendInitialEvents) checks its own rules.
        if (options.send_initial_events is None and options.resource_version_match
                and not options.resource_version):
            raise errors.BadRequest(
                "resourceVersionMatch is forbidden unless resourceVersion is provided"
            )
        return options


@dataclass(frozen=True)
class WriteOptions:
    """Options of create, update and patch requests."""

    dry_run: bool = False
    field_manager: str = ""
    field_validation: str = "Warn"  # Strict, Warn or Ignore (kube-apiserver's default: Warn)
    force: bool = False

    @classmethod
    def parse(cls, query: Mapping[str, str], *, user_agent: str = "") -> WriteOptions:
        validation = query.get("fieldValidation", "") or "Warn"
        if validation not in ("Strict", "Warn", "Ignore"):
            raise errors.BadRequest(
                f'fieldValidation: Unsupported value: "{validation}": supported values: '
                '"Ignore", "Strict", "Warn"'
            )
        manager = query.get("fieldManager", "")
        if len(manager) > 128:
            raise errors.BadRequest(
                "fieldManager: Too long: may not be longer than 128 characters"
            )
        return cls(
            dry_run=_dry_run(query),
            field_manager=manager or manager_from_user_agent(user_agent),
            field_validation=validation,
            force=_bool(query, "force"),
        )


def manager_from_user_agent(user_agent: str) -> str:
    """kube-apiserver's default field manager: the user agent up to its first '/'."""
    return user_agent.split("/", 1)[0][:128] or "unknown"


@dataclass(frozen=True)
class DeleteOptions:
    grace_period_seconds: int | None = None
    propagation_policy: str = ""  # "", Orphan, Background, Foreground
    precondition_uid: str = ""
    precondition_resource_version: str = ""
    dry_run: bool = False

    @classmethod
    def parse(cls, query: Mapping[str, str], body: dict[str, Any] | None) -> DeleteOptions:
        body = body or {}
        kind = body.get("kind")
        if kind not in (None, "DeleteOptions"):
            raise errors.BadRequest(f"expected DeleteOptions, got {kind}")
        grace = body.get("gracePeriodSeconds", _int(query, "gracePeriodSeconds"))
        if grace is not None and not isinstance(grace, int):
            raise errors.BadRequest("gracePeriodSeconds must be an integer")
        policy = body.get("propagationPolicy") or query.get("propagationPolicy", "")
        orphan = body.get("orphanDependents")
        if orphan is None and "orphanDependents" in query:
            orphan = _bool(query, "orphanDependents")
        if orphan is not None:
            if policy:
                raise errors.Invalid(
                    "DeleteOptions is invalid: propagationPolicy: Invalid value: "
                    f'"{policy}": orphanDependents and deletionPropagation cannot be both set',
                    kind="DeleteOptions",
                )
            policy = "Orphan" if orphan else "Background"
        if policy not in ("", "Orphan", "Background", "Foreground"):
            raise errors.Invalid(
                f'DeleteOptions is invalid: propagationPolicy: Unsupported value: "{policy}": '
                'supported values: "Foreground", "Background", "Orphan", "nil"',
                kind="DeleteOptions",
            )
        preconditions = body.get("preconditions") or {}
        dry_run_values = body.get("dryRun")
        return cls(
            grace_period_seconds=grace,
            propagation_policy=policy,
            precondition_uid=preconditions.get("uid") or "",
            precondition_resource_version=preconditions.get("resourceVersion") or "",
            dry_run=_dry_run(query, dry_run_values if dry_run_values is not None else None),
        )
