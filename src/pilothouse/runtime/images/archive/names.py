"""Which names an exported image carries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InvalidReference
from ..reference import parse_reference

if TYPE_CHECKING:
    from ..image import Image


def export_tags(ref: str, image: Image) -> list[str]:
    """The tag ``ref`` names if it is one of the image's tags, else all of its tags (an id)."""
    try:
        named = str(parse_reference(ref))
    except InvalidReference:
        return list(image.repo_tags)
    return [named] if named in image.repo_tags else list(image.repo_tags)
