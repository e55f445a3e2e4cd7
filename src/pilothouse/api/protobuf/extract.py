"""Regenerate ``descriptors.json`` from the protobuf descriptors compiled into a kubectl binary.

Every Go program built with k8s.io/api embeds, gzip-compressed, the ``FileDescriptorProto`` of
each ``generated.proto`` of k8s.io/api and k8s.io/apimachinery, with the gogoproto field
options that go-to-protobuf used. Those are the exact message layouts kubectl encodes, so we
read them from the binary instead of transcribing .proto files by hand:

    python -m pilothouse.api.protobuf.extract /usr/lib/google-cloud-sdk/bin/kubectl.1.33 \\
        > src/pilothouse/api/protobuf/descriptors.json

Only GA group-versions (v1, v2) are kept, with every message they reach. Per field we record
whether the JSON form shows its zero value: a Go pointer (no ``gogoproto.nullable=false``)
keeps whatever was sent, and a non-pointer field keeps its zero value only when the upstream
schema lists it as required (the json tag has no ``omitempty``). See ``descriptors`` for the
file format.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from pilothouse.api.protobuf import wire
from pilothouse.api.schema import Schemas

_GZIP_MEMBER = re.compile(rb"\x1f\x8b\x08\x00\x00\x00\x00\x00")
_GOGO_NULLABLE = 65001
_REPEATED = 3  # FieldDescriptorProto.Label.LABEL_REPEATED
_SCALARS = {
    1: "double", 2: "float", 3: "int64", 4: "uint64", 5: "int32", 6: "fixed64", 7: "fixed32",
    8: "bool", 9: "string", 12: "bytes", 13: "uint32", 15: "sfixed32", 16: "sfixed64",
    17: "sint32", 18: "sint64",
}
_GA_VERSION = re.compile(r"^v\d+$")


@dataclass
class FieldDescriptor:
    name: str = ""
    number: int = 0
    repeated: bool = False
    type: str = ""  # a scalar name or a message's full name
    pointer: bool = True


@dataclass
class MessageDescriptor:
    name: str
    fields: list[FieldDescriptor] = field(default_factory=list)
    map_entry: bool = False


def _bytes(value: int | bytes) -> bytes:
    if not isinstance(value, bytes):
        raise wire.WireError("expected a length-delimited field")
    return value


def _int(value: int | bytes) -> int:
    if not isinstance(value, int):
        raise wire.WireError("expected a varint field")
    return value


def _field(data: bytes) -> FieldDescriptor:
    """A google.protobuf.FieldDescriptorProto."""
    out = FieldDescriptor()
    for number, _, value in wire.fields(data):
        if number == 1:  # name
            out.name = _bytes(value).decode()
        elif number == 3:  # number
            out.number = _int(value)
        elif number == 4:  # label
            out.repeated = _int(value) == _REPEATED
        elif number == 5:  # type
            out.type = _SCALARS.get(_int(value), "")
        elif number == 6:  # type_name, ".k8s.io.api.core.v1.PodSpec"
            out.type = _bytes(value).decode().lstrip(".")
        elif number == 8:  # options: gogoproto.nullable=false marks a Go non-pointer field
            options = wire.fields(_bytes(value))
            out.pointer = all(n != _GOGO_NULLABLE or v != 0 for n, _, v in options)
    return out


def _add_message(data: bytes, scope: str, into: dict[str, MessageDescriptor]) -> None:
    """A google.protobuf.DescriptorProto and its nested messages (map entries among them)."""
    message = MessageDescriptor("")
    nested: list[bytes] = []
    for number, _, value in wire.fields(data):
        if number == 1:  # name
            message.name = f"{scope}.{_bytes(value).decode()}"
        elif number == 2:  # field
            message.fields.append(_field(_bytes(value)))
        elif number == 3:  # nested_type
            nested.append(_bytes(value))
        elif number == 7:  # options: MessageOptions.map_entry is field 7
            message.map_entry = any(n == 7 and v for n, _, v in wire.fields(_bytes(value)))
    into[message.name] = message
    for child in nested:
        _add_message(child, message.name, into)


def _is_kubernetes_descriptor(data: bytes) -> bool:
    """Whether a gzip member holds the FileDescriptorProto of a k8s.io generated.proto.

    Binaries hold other gzip members too (assets, descriptors of other libraries).
    """
    if not data.startswith(b"\n"):  # FileDescriptorProto.name is field 1
        return False
    try:
        length, start = wire.read_varint(data, 1)
    except wire.WireError:
        return False
    name = data[start : start + length]
    return name.startswith(b"k8s.io/") and name.endswith(b"/generated.proto")


def messages_in_binary(data: bytes) -> dict[str, MessageDescriptor]:
    """Every message of every k8s.io ``generated.proto`` descriptor found in ``data``."""
    out: dict[str, MessageDescriptor] = {}
    view = memoryview(data)
    for match in _GZIP_MEMBER.finditer(data):
        try:
            proto = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(view[match.start() :])
        except zlib.error:
            continue
        if not _is_kubernetes_descriptor(proto):
            continue
        # FileDescriptorProto: package (2), message_type (4)
        package = next(_bytes(v).decode() for n, _, v in wire.fields(proto) if n == 2)
        for number, _, value in wire.fields(proto):
            if number == 4:
                _add_message(_bytes(value), package, out)
    return out


def _definition(message: str) -> str:
    """``k8s.io.api.apps.v1.Deployment`` -> ``io.k8s.api.apps.v1.Deployment``."""
    return "io.k8s." + message.removeprefix("k8s.io.")


def _message_name(definition: str) -> str:
    return "k8s.io." + definition.removeprefix("io.k8s.")


def _named_list(message: MessageDescriptor, schemas: Schemas) -> str | None:
    """The element type when ``message`` wraps a Go named slice (``type ExtraValue []string``).

    go-to-protobuf turns those into a message with one repeated ``items`` field; their JSON
    form is the bare array, and the OpenAPI schemas inline them instead of defining them.
    """
    if _definition(message.name) in schemas.raw_definitions() or len(message.fields) != 1:
        return None
    (only,) = message.fields
    return only.type if only.name == "items" and only.repeated else None


def _encode_type(type_: str, messages: dict[str, MessageDescriptor], schemas: Schemas) -> str:
    message = messages.get(type_)
    if message is None:
        return type_
    if message.map_entry:
        key, value = sorted(message.fields, key=lambda f: f.number)
        return f"map<{key.type},{_encode_type(value.type, messages, schemas)}>"
    element = _named_list(message, schemas)
    return f"list<{element}>" if element else type_


def _kinds(messages: dict[str, MessageDescriptor], schemas: Schemas) -> dict[str, dict[str, str]]:
    """apiVersion -> kind -> root message, for the GA kinds that have a message."""
    kinds: dict[str, dict[str, str]] = {}
    for name, raw in schemas.raw_definitions().items():
        message = _message_name(name)
        if message not in messages:
            continue
        for gvk in raw.get("x-kubernetes-group-version-kind", ()):
            if _GA_VERSION.match(gvk["version"]) and name.endswith("." + gvk["kind"]):
                api_version = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
                kinds.setdefault(api_version, {})[gvk["kind"]] = message
    return {k: dict(sorted(v.items())) for k, v in sorted(kinds.items())}


class _Table:
    """Field rows of every message reached, with JSON names checked against the schemas.

    Proto field names mostly equal JSON names, except for Go embedded structs (``json:",inline"``,
    e.g. ``Volume.volumeSource``), whose fields JSON lifts into the parent, and a few fields
    named after the Go field (``BoundObjectReference.uID`` is JSON ``uid``).
    """

    def __init__(self, messages: dict[str, MessageDescriptor], schemas: Schemas):
        self._messages = messages
        self._schemas = schemas
        self.rows: dict[str, list[list]] = {}

    def add(self, name: str, parent: Mapping[str, Any] | None = None) -> None:
        """Tabulate ``name`` and what it reaches. ``parent`` is the schema of the message a
        struct without a definition of its own is inlined into."""
        if name in self.rows:
            return
        self.rows[name] = []  # placeholder: messages may be recursive
        schema = self._schemas.raw_definitions().get(_definition(name), parent) or {}
        self.rows[name] = [
            self._row(name, fd, schema)
            for fd in sorted(self._messages[name].fields, key=lambda f: f.number)
        ]

    def _row(self, owner: str, fd: FieldDescriptor, schema: Mapping[str, Any]) -> list:
        type_ = _encode_type(fd.type, self._messages, self._schemas)
        json_name, inline = self._json_name(owner, fd, type_, schema.get("properties"))
        required = json_name in schema.get("required", ())
        shows_zero = type_ in _SCALARS.values() and (fd.pointer or required)
        flags = "i" if inline else "r" if fd.repeated else "z" if shows_zero else ""
        for referenced in re.split(r"[<>,]", type_):
            if referenced in self._messages:
                self.add(referenced, schema if inline else None)
        return [fd.number, json_name, type_, flags]

    def _json_name(
        self, owner: str, fd: FieldDescriptor, type_: str, properties: Mapping[str, Any] | None
    ) -> tuple[str, bool]:
        # Definitions without properties (Time, Quantity, IntOrString...) are opaque.
        if properties is None or fd.name in properties:
            return fd.name, False
        same = [p for p in properties if p.lower() == fd.name.lower()]
        if len(same) == 1:
            return same[0], False
        if type_ in self._messages and not fd.repeated:
            return fd.name, True
        raise ValueError(f"{owner}.{fd.name} has no counterpart in the OpenAPI schema")


def table(messages: dict[str, MessageDescriptor], schemas: Schemas) -> dict:
    """The descriptors.json document for the GA kinds of ``schemas``."""
    kinds = _kinds(messages, schemas)
    rows = _Table(messages, schemas)
    for by_kind in kinds.values():
        for message in by_kind.values():
            rows.add(message)
    return {"kinds": kinds, "messages": dict(sorted(rows.rows.items()))}


def _kubectl_version(path: str) -> str:
    out = subprocess.run([path, "version", "--client", "-o", "json"], capture_output=True,
                         check=True, text=True).stdout
    return orjson.loads(out)["clientVersion"]["gitVersion"]


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m pilothouse.api.protobuf.extract PATH_TO_KUBECTL")
    path = args[0]
    with open(path, "rb") as binary:
        messages = messages_in_binary(binary.read())
    doc = {
        "source": (
            f"FileDescriptorProtos of k8s.io/api and k8s.io/apimachinery generated.proto "
            f"(Apache License 2.0, The Kubernetes Authors) as compiled into kubectl "
            f"{_kubectl_version(path)}; regenerate with python -m pilothouse.api.protobuf.extract"
        ),
        **table(messages, Schemas.load()),
    }
    sys.stdout.buffer.write(_dump(doc))


def _dump(doc: dict) -> bytes:
    """JSON with one message per line, so regenerations diff well."""
    lines = [b"{", b'"source": ' + orjson.dumps(doc["source"]) + b",", b'"kinds": {']
    lines.append(b",\n".join(orjson.dumps(k) + b": " + orjson.dumps(v) for k, v in doc["kinds"].items()))
    lines.append(b"},")
    lines.append(b'"messages": {')
    lines.append(
        b",\n".join(orjson.dumps(k) + b": " + orjson.dumps(v) for k, v in doc["messages"].items())
    )
    lines.append(b"}}")
    return b"\n".join(lines) + b"\n"


if __name__ == "__main__":
    main()
