"""Decode ``application/vnd.kubernetes.protobuf`` request bodies into their JSON form.

A body is the four bytes ``k8s\\x00`` followed by a ``runtime.Unknown``: ``typeMeta``
(apiVersion, kind), ``raw`` (the object's message), ``contentEncoding`` and ``contentType``.
``decode`` returns exactly the dict the same object has in JSON, as kube-apiserver's
conversion would produce it: JSON field names, ``kind``/``apiVersion`` first, zero values of
``omitempty`` fields left out, int-or-string as int or str, quantities as strings, times as
RFC 3339 strings (``null`` for a zero time), bytes as base64, named slices as arrays.

Decoding follows protobuf rules: unknown fields are skipped, a repeated occurrence of a
singular message merges into it (we decode the concatenated bytes), packed and unpacked
repeated scalars are both accepted. Any malformed input raises ``errors.BadRequest``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from pilothouse.api import errors
from pilothouse.api.protobuf import wire
from pilothouse.api.protobuf.descriptors import Descriptors, Field

MAGIC = b"k8s\x00"
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"

_META = "k8s.io.apimachinery.pkg.apis.meta.v1."


class _Malformed(Exception):
    """Internal: the bytes do not match the message layout (becomes a BadRequest)."""


def decode(body: bytes, *, api_version: str = "", kind: str = "") -> dict[str, Any]:
    """The JSON form of a protobuf-encoded object.

    ``api_version`` and ``kind`` are used when the envelope leaves them empty (kube-apiserver
    defaults them from the request path the same way).
    """
    if not body.startswith(MAGIC):
        raise errors.BadRequest("protobuf body does not start with the k8s\\x00 prefix")
    try:
        envelope = _unknown(body[len(MAGIC) :])
    except (wire.WireError, _Malformed) as exc:
        raise errors.BadRequest(f"invalid protobuf envelope: {exc}") from None
    api_version = envelope["apiVersion"] or api_version
    kind = envelope["kind"] or kind
    if envelope["contentEncoding"]:
        raise errors.BadRequest(
            f'unsupported protobuf content encoding "{envelope["contentEncoding"]}"'
        )
    if envelope["contentType"] not in ("", MEDIA_TYPE):
        raise errors.BadRequest(f'unsupported protobuf content type "{envelope["contentType"]}"')
    descriptors = Descriptors.load()
    message = descriptors.message_for_kind(api_version, kind)
    if message is None:
        raise errors.BadRequest(
            f'no kind "{kind}" is registered for version "{api_version}" in protobuf'
        )
    try:
        obj = _Decoder(descriptors).message(message, envelope["raw"])
    except (wire.WireError, _Malformed) as exc:
        raise errors.BadRequest(f"invalid protobuf {kind}: {exc}") from None
    except RecursionError:
        raise errors.BadRequest(f"invalid protobuf {kind}: nested too deeply") from None
    return {"kind": kind, "apiVersion": api_version, **obj}


def _unknown(data: bytes) -> dict[str, Any]:
    """The fields of a ``runtime.Unknown`` (strings decoded, raw left as bytes)."""
    out: dict[str, Any] = {
        "apiVersion": "", "kind": "", "raw": b"", "contentEncoding": "", "contentType": "",
    }
    names = {2: "raw", 3: "contentEncoding", 4: "contentType"}
    for number, wire_type, value in wire.fields(data):
        if number not in (1, 2, 3, 4):
            continue
        if not isinstance(value, bytes):
            raise _Malformed(f"field {number} has wire type {wire_type}")
        if number == 1:  # typeMeta
            for meta_number, _, meta_value in wire.fields(value):
                if meta_number in (1, 2) and isinstance(meta_value, bytes):
                    out["apiVersion" if meta_number == 1 else "kind"] = _text(meta_value)
        else:
            out[names[number]] = value if number == 2 else _text(value)
    return out


def _text(data: bytes) -> str:
    # Go keeps invalid UTF-8 as is and its JSON encoder writes U+FFFD for it.
    return data.decode("utf-8", "replace")


def _rfc3339(seconds: int, micros: int | None) -> str:
    try:
        moment = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise _Malformed(f"time {seconds}s is out of range") from None
    if micros is None:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{micros:06d}Z"


# Scalars: (wire type they arrive in, conversion of the raw value).
_SCALARS: dict[str, tuple[int, Callable[[Any], Any]]] = {
    "string": (wire.LEN, _text),
    "bytes": (wire.LEN, lambda v: base64.b64encode(v).decode()),
    "bool": (wire.VARINT, bool),
    "int32": (wire.VARINT, lambda v: wire.signed(v, 32)),
    "int64": (wire.VARINT, wire.signed),
    "uint32": (wire.VARINT, lambda v: v & 0xFFFFFFFF),
    "uint64": (wire.VARINT, int),
    "double": (wire.I64, wire.double),
    "float": (wire.I32, wire.single),
}
_ZERO = ("", 0, False, 0.0)
_ZERO_OF = {
    "string": "", "bytes": "", "bool": False, "int32": 0, "int64": 0, "uint32": 0, "uint64": 0,
    "double": 0.0, "float": 0.0,
}
_MISSING = object()


class _Decoder:
    def __init__(self, descriptors: Descriptors):
        self._descriptors = descriptors
        # Messages whose JSON form is not an object of their fields.
        self._special: dict[str, Callable[[str, bytes], Any]] = {
            _META + "Time": self._time,
            _META + "MicroTime": self._time,
            _META + "FieldsV1": self._raw_json,
            "k8s.io.apimachinery.pkg.runtime.RawExtension": self._raw_json,
            "k8s.io.apimachinery.pkg.api.resource.Quantity": self._quantity,
            "k8s.io.apimachinery.pkg.util.intstr.IntOrString": self._int_or_string,
        }

    def message(self, name: str, data: bytes) -> dict[str, Any]:
        fields = self._descriptors.message(name)
        seen: dict[int, list[tuple[int, int | bytes]]] = {}
        for number, wire_type, value in wire.fields(data):
            if number in fields:
                seen.setdefault(number, []).append((wire_type, value))
        out: dict[str, Any] = {}
        for number, field in fields.items():
            if number in seen:
                self._set(out, field, seen[number], f"{name.rsplit('.', 1)[-1]}.{field.name}")
        return out

    def _set(self, out: dict[str, Any], field: Field, occurrences: list, where: str) -> None:
        if field.type.startswith("map<"):
            out[field.name] = self._map(field.type, occurrences, where)
        elif field.repeated:
            out[field.name] = [
                item for wt, raw in occurrences for item in self._items(field.type, wt, raw, where)
            ]
        elif field.type in _SCALARS:
            wire_type, raw = occurrences[-1]  # the last occurrence of a scalar wins
            value = self._scalar(field.type, wire_type, raw, where)
            if field.shows_zero or value not in _ZERO:
                out[field.name] = value
        else:
            chunks = [self._bytes(wt, raw, where) for wt, raw in occurrences]
            value = self._value(field.type, b"".join(chunks), where)
            if field.inline:
                out.update(value)
            else:
                out[field.name] = value

    def _value(self, type_: str, data: bytes, where: str) -> Any:
        """The JSON form of a message-typed value."""
        special = self._special.get(type_)
        if special is not None:
            return special(type_, data)
        if type_.startswith("list<"):
            element = type_[5:-1]
            return [
                item
                for number, wt, raw in wire.fields(data)
                if number == 1
                for item in self._items(element, wt, raw, where)
            ]
        return self.message(type_, data)

    def _items(self, type_: str, wire_type: int, raw: int | bytes, where: str) -> list[Any]:
        """Elements of a repeated field carried by one occurrence (several when packed)."""
        if type_ not in _SCALARS:
            return [self._value(type_, self._bytes(wire_type, raw, where), where)]
        expected, _ = _SCALARS[type_]
        if wire_type == wire.LEN and expected != wire.LEN:
            assert isinstance(raw, bytes)
            return [self._scalar(type_, expected, v, where) for v in _packed(expected, raw)]
        return [self._scalar(type_, wire_type, raw, where)]

    def _map(self, type_: str, occurrences: list, where: str) -> dict[str, Any]:
        key_type, value_type = type_[4:-1].split(",", 1)
        out: dict[str, Any] = {}
        for wire_type, entry in occurrences:
            key: Any = _ZERO_OF.get(key_type)
            value: Any = _MISSING
            for number, wt, raw in wire.fields(self._bytes(wire_type, entry, where)):
                if number == 1:
                    key = self._scalar(key_type, wt, raw, where)
                elif number == 2:
                    value = self._element(value_type, wt, raw, where)
            if value is _MISSING:
                value = self._zero(value_type, where)
            out[str(key)] = value
        return out

    def _element(self, type_: str, wire_type: int, raw: int | bytes, where: str) -> Any:
        if type_ in _SCALARS:
            return self._scalar(type_, wire_type, raw, where)
        return self._value(type_, self._bytes(wire_type, raw, where), where)

    def _zero(self, type_: str, where: str) -> Any:
        if type_ in _SCALARS:
            return _ZERO_OF[type_]
        return self._value(type_, b"", where)

    @staticmethod
    def _scalar(type_: str, wire_type: int, raw: int | bytes, where: str) -> Any:
        expected, convert = _SCALARS[type_]
        if wire_type != expected:
            raise _Malformed(f"{where}: wire type {wire_type} for a {type_} field")
        return convert(raw)

    @staticmethod
    def _bytes(wire_type: int, raw: int | bytes, where: str) -> bytes:
        if wire_type != wire.LEN or not isinstance(raw, bytes):
            raise _Malformed(f"{where}: wire type {wire_type} for a message field")
        return raw

    # --- messages with their own JSON form ------------------------------------------------

    def _time(self, name: str, data: bytes) -> str | None:
        if not data:
            return None  # the zero time, which Go marshals as JSON null
        parts = self.message(name, data)
        seconds = parts.get("seconds", 0)
        if name.endswith(".MicroTime"):
            return _rfc3339(seconds, parts.get("nanos", 0) // 1000)
        # metav1.Time drops nanoseconds when it decodes protobuf.
        return _rfc3339(seconds, None)

    def _raw_json(self, name: str, data: bytes) -> Any:
        (field,) = self._descriptors.message(name).values()
        raw = b"".join(
            self._bytes(wt, value, f"{name}.{field.name}")
            for number, wt, value in wire.fields(data)
            if number == field.number
        )
        if not raw:
            return None
        if raw.startswith(MAGIC):
            return decode(raw)
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise _Malformed(f"{name}: embedded JSON: {exc}") from None

    def _quantity(self, name: str, data: bytes) -> str:
        return self.message(name, data).get("string", "0")

    def _int_or_string(self, name: str, data: bytes) -> int | str:
        parts = self.message(name, data)
        if parts.get("type", 0) == 1:
            return parts.get("strVal", "")
        return parts.get("intVal", 0)


def _packed(wire_type: int, data: bytes) -> list[int]:
    """Values of a packed repeated scalar field."""
    out = []
    pos = 0
    size = {wire.I64: 8, wire.I32: 4}.get(wire_type)
    while pos < len(data):
        if size is None:
            value, pos = wire.read_varint(data, pos)
        else:
            if pos + size > len(data):
                raise wire.WireError("truncated packed value")
            value = int.from_bytes(data[pos : pos + size], "little")
            pos += size
        out.append(value)
    return out
