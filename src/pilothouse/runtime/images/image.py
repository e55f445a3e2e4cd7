"""The :class:`Image` value handed to the container runtime and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .digests import short_id


@dataclass(frozen=True)
class Image:
    """A local image: its id is ``sha256:`` + the digest of its config."""

    id: str
    repo_tags: list[str]
    repo_digests: list[str]
    size: int  # bytes of unpacked layer content, as ``docker images`` shows
    config: dict[str, Any]  # the config's ``config`` section: Env, Entrypoint, Cmd, User...
    created: datetime | None
    manifest_digest: str
    manifest_media_type: str
    diff_ids: list[str] = field(default_factory=list)  # bottom layer first
    os: str = "linux"
    architecture: str = ""
    variant: str = ""
    index_digest: str | None = None

    @property
    def short_id(self) -> str:
        return short_id(self.id)

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.config.get("Labels") or {})


def parse_created(text: str | None) -> datetime | None:
    """Parses an RFC 3339 timestamp as Go writes it (nanoseconds, ``Z``); None if absent or bad."""
    if not text:
        return None
    main, dot, rest = text.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{main}.{rest[:digits][:6].ljust(6, '0')}{rest[digits:]}"
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
