"""ConfigMaps and Secrets.

* Secret ``stringData`` is folded into ``data`` (base64) and dropped, on create and on
  update, as the v1 -> internal conversion does; ``type`` defaults to Opaque.
* Binary values (``Secret.data``, ``ConfigMap.binaryData``) must be base64 as Go's
  encoding/json reads []byte: a bad value is a 400 decode error
  (``Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte
  4``), raised as ``BadRequest`` from the prepare step. Accepted values are re-encoded in
  canonical form, as the server re-serializes the bytes.
* Keys must be valid config keys; the decoded total is at most 1 MiB; type-specific keys are
  required (kubernetes.io/tls, dockerconfigjson, basic-auth, ssh-auth, service-account-token).
* With ``immutable: true`` the data and the flag itself can no longer change; a Secret's type
  never changes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from pilothouse.api.errors import BadRequest, FieldError, forbidden, invalid, required
from pilothouse.api.kinds.base import NoStatusStrategy
from pilothouse.api.strategy import Obj
from pilothouse.api.validation import is_config_map_key, too_long, validate_immutable

MAX_SIZE = 1024 * 1024
_ALPHABET = {
    c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
}
_SERVICE_ACCOUNT_NAME = "kubernetes.io/service-account.name"
_IMMUTABLE = "field is immutable when `immutable` is set"


def go_base64_error_offset(text: str) -> int | None:
    """Where Go's base64.StdEncoding.Decode fails on ``text`` (None when it decodes).
    Line breaks are ignored and padding is required, as in Go."""
    src = text.encode("utf-8", "surrogatepass")
    si, end = 0, len(src)
    while si < end:
        count = 0
        while count < 4:
            if si == end:
                return None if count == 0 else si - count
            char = src[si]
            si += 1
            if chr(char) in _ALPHABET:
                count += 1
                continue
            if char in (0x0A, 0x0D):
                continue
            if char != ord("=") or count < 2:
                return si - 1
            if count == 2:
                while si < end and src[si] in (0x0A, 0x0D):
                    si += 1
                if si == end:
                    return end
                if src[si] != ord("="):
                    return si - 1
                si += 1
            while si < end and src[si] in (0x0A, 0x0D):
                si += 1
            return si if si < end else None
    return None


def decode_binary_values(values: Mapping[str, Any] | None, kind: str) -> dict[str, bytes]:
    """The bytes of a map of base64 strings, or BadRequest as the decoder reports it."""
    decoded: dict[str, bytes] = {}
    for key, value in (values or {}).items():
        text = value if isinstance(value, str) else ""
        offset = go_base64_error_offset(text)
        if offset is not None:
            raise BadRequest(
                f'{kind} in version "v1" cannot be handled as a {kind}: '
                f"illegal base64 data at input byte {offset}"
            )
        decoded[key] = base64.b64decode(text.replace("\n", "").replace("\r", ""))
    return decoded


def _encode(values: Mapping[str, bytes]) -> dict[str, str]:
    return {key: base64.b64encode(value).decode() for key, value in values.items()}


def _validate_keys(values: Mapping[str, Any] | None, path: str) -> list[FieldError]:
    return [
        invalid(f"{path}[{key}]", key, msg)
        for key in (values or {})
        for msg in is_config_map_key(key)
    ]


def _validate_immutability(new: Obj, old: Obj, fields: tuple[str, ...]) -> list[FieldError]:
    if old.get("immutable") is not True:
        return []
    errs: list[FieldError] = []
    if new.get("immutable") is not True:
        errs.append(forbidden("immutable", _IMMUTABLE))
    for key in fields:
        if (new.get(key) or {}) != (old.get(key) or {}):
            errs.append(forbidden(key, _IMMUTABLE))
    return errs


class ConfigMapStrategy(NoStatusStrategy):
    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        self._canonicalize(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        self._canonicalize(new)

    @staticmethod
    def _canonicalize(obj: Obj) -> None:
        if obj.get("binaryData"):
            obj["binaryData"] = _encode(decode_binary_values(obj["binaryData"], "ConfigMap"))

    def validate(self, obj: Obj) -> list[FieldError]:
        data = obj.get("data") or {}
        binary = obj.get("binaryData") or {}
        errs: list[FieldError] = []
        total = 0
        for key, value in data.items():
            errs += [invalid(f"data[{key}]", key, msg) for msg in is_config_map_key(key)]
            if key in binary:
                errs.append(invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
            total += len(str(value).encode())
        errs += _validate_keys(binary, "binaryData")
        total += sum(len(v) for v in decode_binary_values(binary, "ConfigMap").values())
        if total > MAX_SIZE:
            # Upstream reports the whole object: its path renders as "[]".
            errs.append(too_long("[]", MAX_SIZE))
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return _validate_immutability(new, old, ("data", "binaryData"))


class SecretStrategy(NoStatusStrategy):
    field_label_names = ("type",)

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        fold_string_data(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        fold_string_data(new)

    def default(self, obj: Obj) -> None:
        if not obj.get("type"):
            obj["type"] = "Opaque"

    def validate(self, obj: Obj) -> list[FieldError]:
        data = decode_binary_values(obj.get("data"), "Secret")
        errs = _validate_keys(data, "data")
        if sum(len(v) for v in data.values()) > MAX_SIZE:
            errs.append(too_long("data", MAX_SIZE))
        return errs + _validate_type_keys(obj, data)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = validate_immutable(new.get("type"), old.get("type"), "type")
        return errs + _validate_immutability(new, old, ("data",))

    def field_labels(self, obj: Obj) -> dict[str, str]:
        return {"type": obj.get("type") or ""}


def fold_string_data(obj: Obj) -> None:
    """stringData overwrites data (as bytes); the result is canonical base64."""
    data = decode_binary_values(obj.get("data"), "Secret")
    string_data = obj.pop("stringData", None) or {}
    for key, value in string_data.items():
        data[key] = str(value).encode()
    if data or "data" in obj:
        obj["data"] = _encode(data)


def _validate_type_keys(obj: Obj, data: Mapping[str, bytes]) -> list[FieldError]:
    kind = obj.get("type") or ""
    if kind == "kubernetes.io/service-account-token":
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if not annotations.get(_SERVICE_ACCOUNT_NAME):
            return [required(f"metadata.annotations[{_SERVICE_ACCOUNT_NAME}]")]
    elif kind in ("kubernetes.io/dockercfg", "kubernetes.io/dockerconfigjson"):
        key = ".dockercfg" if kind == "kubernetes.io/dockercfg" else ".dockerconfigjson"
        if key not in data:
            return [required(f"data[{key}]")]
        error = _go_json_object_error(data[key])
        if error:
            return [invalid(f"data[{key}]", "<secret contents redacted>", error)]
    elif kind == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:
            return [required("data[username]"), required("data[password]")]
    elif kind == "kubernetes.io/ssh-auth":
        if not data.get("ssh-privatekey"):
            return [required("data[ssh-privatekey]")]
    elif kind == "kubernetes.io/tls":
        return [required(f"data[{key}]") for key in ("tls.crt", "tls.key") if key not in data]
    return []


def _go_json_object_error(raw: bytes) -> str:
    """The error Go's json.Unmarshal into map[string]interface{} gives, or ""."""
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        text = raw.decode("utf-8", "replace")
        stripped = text.strip()
        if not stripped:
            return "unexpected end of JSON input"
        position = getattr(err, "pos", 0)
        if position >= len(text):
            return "unexpected end of JSON input"
        return f"invalid character {text[position]!r} looking for beginning of value"
    if not isinstance(value, dict) and value is not None:
        kinds = {list: "array", str: "string", bool: "bool", int: "number", float: "number"}
        return f"json: cannot unmarshal {kinds[type(value)]} into Go value of type map[string]interface {{}}"
    return ""
