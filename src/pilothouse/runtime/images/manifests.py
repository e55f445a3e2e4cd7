"""Parsing and checking manifests, indexes (manifest lists) and image configs.

Manifests are kept as the exact bytes they arrived in (their digest is the digest of those
bytes); these helpers only read them. Docker v2 schema 2 and OCI are both accepted; schema 1
is refused with a clear message. ``select_platform`` picks the entry of an index that this
machine can run, as containerd's default platform matcher does.
"""

from __future__ import annotations

import platform as host
from dataclasses import dataclass, field
from typing import Any

import orjson

from . import mediatypes
from .digests import check_digest
from .errors import InvalidImage, NoMatchingPlatform


@dataclass(frozen=True)
class Descriptor:
    """A typed pointer to a blob: media type, digest, size (and platform in an index)."""

    media_type: str
    digest: str
    size: int
    platform: dict[str, Any] | None = None
    annotations: dict[str, str] | None = None

    @classmethod
    def from_dict(cls, data: Any) -> Descriptor:
        if not isinstance(data, dict):
            raise InvalidImage(f"invalid descriptor: {data!r}")
        size = data.get("size")
        if not isinstance(size, int) or size < 0:
            raise InvalidImage(f"descriptor {data.get('digest')} has an invalid size: {size!r}")
        return cls(
            media_type=str(data.get("mediaType", "")),
            digest=check_digest(data.get("digest", "")),
            size=size,
            platform=data.get("platform"),
            annotations=data.get("annotations"),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.platform:
            out["platform"] = self.platform
        if self.annotations:
            out["annotations"] = self.annotations
        return out


@dataclass(frozen=True)
class Manifest:
    """An image manifest: one config and the layers, bottom first."""

    media_type: str
    config: Descriptor
    layers: list[Descriptor]


@dataclass(frozen=True)
class Index:
    """An OCI index or Docker manifest list: one manifest per platform."""

    media_type: str
    manifests: list[Descriptor]


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


@dataclass(frozen=True)
class ImageConfig:
    """The parts of an OCI image config the runtime uses, plus the whole document."""

    raw: dict[str, Any]
    diff_ids: list[str]
    config: dict[str, Any] = field(default_factory=dict)
    created: str | None = None
    os: str = ""
    architecture: str = ""
    variant: str = ""


def parse_json(data: bytes, what: str) -> dict[str, Any]:
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise InvalidImage(f"{what} is not valid JSON: {e}") from None
    if not isinstance(document, dict):
        raise InvalidImage(f"{what} is not a JSON object")
    return document


def media_type_of(data: bytes, content_type: str = "") -> str:
    """The media type a manifest declares, else the one it was served with, else its shape."""
    document = parse_json(data, "manifest")
    declared = document.get("mediaType") or content_type.split(";")[0].strip()
    if declared in mediatypes.SCHEMA1_TYPES or document.get("schemaVersion") == 1:
        raise InvalidImage("image manifest schema 1 is not supported (the image is too old)")
    if declared in mediatypes.INDEX_TYPES or declared in mediatypes.MANIFEST_TYPES:
        return declared
    if "manifests" in document:
        return mediatypes.OCI_INDEX
    if "config" in document:
        return mediatypes.OCI_MANIFEST
    raise InvalidImage(f"unsupported manifest media type {declared!r}")


def parse_manifest(data: bytes, media_type: str = "") -> Manifest:
    document = parse_json(data, "manifest")
    media_type = media_type or media_type_of(data)
    if media_type not in mediatypes.MANIFEST_TYPES:
        raise InvalidImage(f"expected an image manifest, got {media_type}")
    if document.get("schemaVersion") != 2:
        raise InvalidImage("image manifest must have schemaVersion 2")
    layers = document.get("layers")
    if not isinstance(layers, list):
        raise InvalidImage("image manifest has no layers list")
    return Manifest(
        media_type=media_type,
        config=Descriptor.from_dict(document.get("config")),
        layers=[Descriptor.from_dict(layer) for layer in layers],
    )


def parse_index(data: bytes, media_type: str = "") -> Index:
    document = parse_json(data, "index")
    media_type = media_type or media_type_of(data)
    if media_type not in mediatypes.INDEX_TYPES:
        raise InvalidImage(f"expected an index or manifest list, got {media_type}")
    manifests = document.get("manifests")
    if not isinstance(manifests, list):
        raise InvalidImage("index has no manifests list")
    return Index(media_type=media_type, manifests=[Descriptor.from_dict(m) for m in manifests])


def parse_config(data: bytes) -> ImageConfig:
    document = parse_json(data, "image config")
    rootfs = document.get("rootfs")
    if not isinstance(rootfs, dict) or rootfs.get("type") != "layers":
        raise InvalidImage("image config has no rootfs of type layers")
    diff_ids = rootfs.get("diff_ids") or []
    if not isinstance(diff_ids, list):
        raise InvalidImage("image config rootfs.diff_ids is not a list")
    section = document.get("config") or {}
    if not isinstance(section, dict):
        raise InvalidImage("image config section 'config' is not an object")
    return ImageConfig(
        raw=document,
        diff_ids=[check_digest(d) for d in diff_ids],
        config=section,
        created=document.get("created"),
        os=str(document.get("os", "")),
        architecture=str(document.get("architecture", "")),
        variant=str(document.get("variant", "")),
    )


def check_manifest_matches_config(manifest: Manifest, config: ImageConfig) -> None:
    if len(manifest.layers) != len(config.diff_ids):
        raise InvalidImage(
            f"manifest lists {len(manifest.layers)} layers but the config has "
            f"{len(config.diff_ids)} diff ids"
        )
    for layer in manifest.layers:
        if layer.media_type and layer.media_type not in mediatypes.LAYER_TYPES:
            raise InvalidImage(f"unsupported layer media type {layer.media_type!r}")


_ARCHITECTURES = {
    "x86_64": ("amd64", ""),
    "amd64": ("amd64", ""),
    "aarch64": ("arm64", "v8"),
    "arm64": ("arm64", "v8"),
    "armv7l": ("arm", "v7"),
    "armv6l": ("arm", "v6"),
    "i386": ("386", ""),
    "i686": ("386", ""),
    "ppc64le": ("ppc64le", ""),
    "s390x": ("s390x", ""),
    "riscv64": ("riscv64", ""),
}


def host_platform() -> Platform:
    machine = host.machine().lower()
    architecture, variant = _ARCHITECTURES.get(machine, (machine, ""))
    return Platform(os="linux", architecture=architecture, variant=variant)


def _default_variant(architecture: str, variant: str) -> str:
    # containerd normalises the implicit variants: arm64 means v8, amd64 means v1.
    if architecture == "arm64" and variant in ("", "8"):
        return "v8"
    if architecture == "amd64" and variant in ("", "v1"):
        return ""
    return variant


def platform_matches(entry: dict[str, Any] | None, wanted: Platform) -> bool:
    if not entry:
        return False
    architecture = str(entry.get("architecture", ""))
    variant = _default_variant(architecture, str(entry.get("variant", "")))
    return (
        entry.get("os") == wanted.os
        and architecture == wanted.architecture
        and variant == _default_variant(wanted.architecture, wanted.variant)
    )


def select_platform(index: Index, wanted: Platform) -> Descriptor:
    for descriptor in index.manifests:
        runnable = descriptor.media_type in mediatypes.MANIFEST_TYPES or not descriptor.media_type
        if runnable and platform_matches(descriptor.platform, wanted):
            return descriptor
    available = ", ".join(
        str(Platform(d.platform.get("os", "?"), d.platform.get("architecture", "?"), d.platform.get("variant", "")))
        for d in index.manifests
        if d.platform
    )
    raise NoMatchingPlatform(
        f"no image for platform {wanted} in the manifest list (available: {available or 'none'})"
    )


def encode_json(document: Any) -> bytes:
    """Canonical-enough JSON for documents we create: sorted keys, no spaces."""
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
