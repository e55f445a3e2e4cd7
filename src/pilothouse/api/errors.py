"""API errors: each one is a Kubernetes ``Status`` with the reason and code clients expect.

Raise these anywhere in the request path; the API server turns them into the JSON body
``{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",...}`` with the HTTP
code. Messages follow the wording of kube-apiserver so that kubectl prints the same text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Cause:
    """One reason an object is invalid (``details.causes[]``)."""

    reason: str  # FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, ...
    message: str
    field: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"reason": self.reason, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out


@dataclass
class FieldError:
    """A validation finding, rendered as kube-apiserver renders field.Error."""

    type: str  # "Required value", "Invalid value", "Unsupported value", "Forbidden", ...
    field: str  # path such as spec.containers[0].image
    detail: str = ""
    value: Any = None
    has_value: bool = False

    REASONS = {
        "Required value": "FieldValueRequired",
        "Invalid value": "FieldValueInvalid",
        "Unsupported value": "FieldValueNotSupported",
        "Forbidden": "FieldValueForbidden",
        "Duplicate value": "FieldValueDuplicate",
        "Too long": "FieldValueTooLong",
        "Too many": "FieldValueTooMany",
        "Not found": "FieldValueNotFound",
        "Internal error": "InternalError",
    }

    @property
    def reason(self) -> str:
        return self.REASONS.get(self.type, "FieldValueInvalid")

    def message(self) -> str:
        text = f"{self.field}: {self.type}"
        if self.has_value:
            text += f": {_render_value(self.value)}"
        if self.detail:
            text += f": {self.detail}"
        return text

    def cause(self) -> Cause:
        body = self.type
        if self.has_value:
            body += f": {_render_value(self.value)}"
        if self.detail:
            body += f": {self.detail}"
        return Cause(self.reason, body, self.field)


def required(path: str, detail: str = "") -> FieldError:
    return FieldError("Required value", path, detail)


def invalid(path: str, value: Any, detail: str = "") -> FieldError:
    return FieldError("Invalid value", path, detail, value, True)


def not_supported(path: str, value: Any, supported: list[str]) -> FieldError:
    detail = "supported values: " + ", ".join(f'"{s}"' for s in supported)
    return FieldError("Unsupported value", path, detail, value, True)


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError("Forbidden", path, detail)


def duplicate(path: str, value: Any) -> FieldError:
    return FieldError("Duplicate value", path, "", value, True)


def too_long(path: str, max_length: int) -> FieldError:
    return FieldError("Too long", path, f"may not be more than {max_length} bytes")


def _render_value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    # Go's %#v of string slices and maps, which is how kube-apiserver prints such values.
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "[]string{" + ", ".join(_render_value(v) for v in value) + "}"
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        items = ", ".join(f"{_render_value(k)}:{_render_value(v)}" for k, v in sorted(value.items()))
        return "map[string]string{" + items + "}"
    return str(value)


class StatusError(Exception):
    """An API error. ``status()`` is the body sent to the client."""

    code = 500
    reason = "InternalError"

    def __init__(
        self,
        message: str,
        *,
        name: str = "",
        group: str = "",
        kind: str = "",
        causes: list[Cause] | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.name = name
        self.group = group
        self.kind = kind
        self.causes = causes or []
        self.retry_after = retry_after

    def status(self) -> dict[str, Any]:
        details: dict[str, Any] = {}
        if self.name:
            details["name"] = self.name
        if self.group:
            details["group"] = self.group
        if self.kind:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = [c.to_dict() for c in self.causes]
        if self.retry_after is not None:
            details["retryAfterSeconds"] = self.retry_after
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if details:
            body["details"] = details
        if self.reason == "":
            del body["reason"]
        return body


def _resource_ref(resource: str, group: str) -> str:
    """``pods`` or ``deployments.apps``, as kube-apiserver names resources in messages."""
    return f"{resource}.{group}" if group else resource


class BadRequest(StatusError):
    code = 400
    reason = "BadRequest"


class Unauthorized(StatusError):
    code = 401
    reason = "Unauthorized"


class Forbidden(StatusError):
    code = 403
    reason = "Forbidden"


class NotFound(StatusError):
    code = 404
    reason = "NotFound"

    @classmethod
    def of(cls, resource: str, name: str, group: str = "") -> NotFound:
        return cls(
            f'{_resource_ref(resource, group)} "{name}" not found',
            name=name,
            group=group,
            kind=resource,
        )


class MethodNotAllowed(StatusError):
    code = 405
    reason = "MethodNotAllowed"


class NotAcceptable(StatusError):
    code = 406
    reason = "NotAcceptable"


class AlreadyExists(StatusError):
    code = 409
    reason = "AlreadyExists"

    @classmethod
    def of(cls, resource: str, name: str, group: str = "") -> AlreadyExists:
        return cls(
            f'{_resource_ref(resource, group)} "{name}" already exists',
            name=name,
            group=group,
            kind=resource,
        )


class Conflict(StatusError):
    code = 409
    reason = "Conflict"

    @classmethod
    def modified(cls, resource: str, name: str, group: str = "") -> Conflict:
        return cls(
            f'Operation cannot be fulfilled on {_resource_ref(resource, group)} "{name}": '
            "the object has been modified; please apply your changes to the latest version "
            "and try again",
            name=name,
            group=group,
            kind=resource,
        )


class Gone(StatusError):
    code = 410
    reason = "Gone"


class Expired(StatusError):
    code = 410
    reason = "Expired"


class RequestEntityTooLarge(StatusError):
    code = 413
    reason = "RequestEntityTooLarge"


class UnsupportedMediaType(StatusError):
    code = 415
    reason = "UnsupportedMediaType"


class Invalid(StatusError):
    code = 422
    reason = "Invalid"

    @classmethod
    def of(cls, kind: str, name: str, errors: list[FieldError], group: str = "") -> Invalid:
        """The aggregate message kube-apiserver builds from field errors."""
        messages = [e.message() for e in errors]
        if len(messages) == 1:
            summary = messages[0]
        else:
            summary = "[" + ", ".join(messages) + "]"
        return cls(
            f'{kind}{"." + group if group else ""} "{name}" is invalid: {summary}',
            name=name,
            group=group,
            kind=kind,
            causes=[e.cause() for e in errors],
        )


class UnprocessableEntity(StatusError):
    """422 without the Invalid reason (e.g. a JSON patch test operation that failed)."""

    code = 422
    reason = ""


class TooManyRequests(StatusError):
    code = 429
    reason = "TooManyRequests"


class InternalError(StatusError):
    code = 500
    reason = "InternalError"


class ServiceUnavailable(StatusError):
    code = 503
    reason = "ServiceUnavailable"


class Timeout(StatusError):
    code = 504
    reason = "Timeout"
