"""Content negotiation: decoding request bodies and choosing the response representation.

Request bodies may be JSON (also when no Content-Type is sent, as the Python client does),
YAML, or Kubernetes protobuf (kubectl 1.32+ sends ``create namespace|configmap|...`` that way).
Responses are JSON: the plain object, or, when the client's Accept header asks for it with
``as=Table`` / ``as=PartialObjectMetadata[List]`` (group meta.k8s.io, version v1), the server-side
printed or metadata-only form. YAML responses are offered to humans with curl.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import yaml

from pilothouse.api import errors

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH_YAML = "application/apply-patch+yaml"
APPLY_PATCH_CBOR = "application/apply-patch+cbor"

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

_UNKNOWN_FORMAT = (
    "the body of the request was in an unknown format - accepted media types include: "
    "application/json, application/yaml, application/vnd.kubernetes.protobuf"
)


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header ("" when absent)."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def decode_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise errors.BadRequest(f"error decoding JSON: {e}") from None


def decode_yaml(body: bytes) -> Any:
    try:
        documents = list(yaml.load_all(body, Loader=_YAML_LOADER))
    except yaml.YAMLError as e:
        raise errors.BadRequest(f"error converting YAML to JSON: {_yaml_problem(e)}") from None
    documents = [d for d in documents if d is not None]
    if len(documents) > 1:
        raise errors.BadRequest("error converting YAML to JSON: expected a single YAML document")
    doc = documents[0] if documents else None
    # Round-trip through JSON: YAML timestamps, sets and non-string keys are not JSON.
    try:
        return orjson.loads(orjson.dumps(doc, option=orjson.OPT_NON_STR_KEYS, default=str))
    except TypeError as e:
        raise errors.BadRequest(f"error converting YAML to JSON: {e}") from None


def _yaml_problem(e: yaml.YAMLError) -> str:
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e)
    if mark is not None:
        return f"yaml: line {mark.line + 1}: {problem}"
    return f"yaml: {problem}"


def decode_object(body: bytes, content_type: str | None) -> dict[str, Any]:
    """Decode a create/update body into a JSON object; 415 for unknown formats, 400 for
    malformed ones."""
    kind = media_type(content_type)
    if kind in ("", JSON, "*/*"):
        obj = decode_json(body)
    elif kind in (YAML, "application/x-yaml", "text/yaml"):
        obj = decode_yaml(body)
    elif kind == PROTOBUF:
        from pilothouse.api.protobuf import decode as decode_protobuf

        obj = decode_protobuf(body)
    else:
        raise errors.UnsupportedMediaType(_UNKNOWN_FORMAT)
    if not isinstance(obj, dict):
        raise errors.BadRequest(
            "the body of the request must be a JSON object, not " + type(obj).__name__
        )
    return obj


@dataclass(frozen=True)
class Representation:
    """How to render a response."""

    media_type: str = JSON  # JSON or YAML
    as_kind: str = ""  # "", "Table", "PartialObjectMetadata", "PartialObjectMetadataList"
    include_object: str = "Metadata"  # for Table rows: None, Metadata or Object


def negotiate(accept: str | None, *, include_object: str = "") -> Representation:
    """Pick the first representation in the Accept header that we can produce.

    406 when the client accepts nothing we produce (protobuf only, for instance).
    """
    if not accept:
        return Representation()
    for clause in accept.split(","):
        parts = [p.strip() for p in clause.split(";")]
        kind = parts[0].lower()
        params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        if kind not in (JSON, YAML, "*/*", "application/*"):
            continue
        if float(params.get("q", "1") or 1) == 0:
            continue
        as_kind = params.get("as", "")
        if as_kind:
            if params.get("g") != "meta.k8s.io" or params.get("v") not in ("v1", "v1beta1"):
                continue
            if as_kind not in ("Table", "PartialObjectMetadata", "PartialObjectMetadataList"):
                continue
        return Representation(
            YAML if kind == YAML else JSON,
            as_kind,
            include_object or "Metadata",
        )
    raise errors.NotAcceptable(
        "only the following media types are accepted: application/json, application/yaml"
    )


def dump(obj: Any, representation: Representation = Representation()) -> bytes:
    if representation.media_type == YAML:
        return yaml.dump(obj, Dumper=_YAML_DUMPER, sort_keys=False).encode()
    return orjson.dumps(obj)
