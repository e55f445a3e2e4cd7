"""LocalImageService: the CRI image service over pilothouse's image store.

Image references are resolved as Docker does (the store's rules); the image id is the
reference returned by ``pull_image`` and used by containers. Credentials come from the CRI
``AuthConfig`` (user and password, or ``auth`` in base64), falling back to the store's
registry configuration.

``busybox`` (docker.io/library/busybox:latest) is provided locally, made from the machine's
busybox-static, and never pulled: pods of it run on a machine with no registry at all (as
k3s bundles its pause image). Other busybox tags are pulled as usual.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InvalidArgument
from .images.busybox import BUSYBOX_TAG, ensure_busybox_image
from .images.errors import ImageNotFound, InvalidReference
from .images.reference import parse_reference
from .images.registry.config import Credentials
from .interface import (
    AuthConfig,
    FilesystemUsage,
    Image,
    ImageFilter,
    ImageService,
    ImageSpec,
    PodSandboxConfig,
)

if TYPE_CHECKING:
    from .images.image import Image as StoredImage
    from .images.store import ImageStore


class LocalImageService(ImageService):
    def __init__(self, store: ImageStore):
        self.store = store

    async def list_images(self, filter: ImageFilter | None = None) -> list[Image]:
        if filter is not None and filter.image is not None and filter.image.image:
            found = await self.image_status(filter.image)
            return [found] if found is not None else []
        return [_image(stored) for stored in self.store.list()]

    async def image_status(self, image: ImageSpec) -> Image | None:
        try:
            return _image(self.store.resolve(image.image), image)
        except ImageNotFound:
            return None
        except InvalidReference as error:
            raise InvalidArgument(str(error)) from None

    async def pull_image(
        self,
        image: ImageSpec,
        auth: AuthConfig | None = None,
        sandbox_config: PodSandboxConfig | None = None,
    ) -> str:
        try:
            if str(parse_reference(image.image)) == BUSYBOX_TAG:
                local = await asyncio.to_thread(ensure_busybox_image, self.store)
                return local.id
            pulled = await self.store.pull(image.image, auth=_credentials(auth))
        except InvalidReference as error:
            raise InvalidArgument(str(error)) from None
        return pulled.id

    async def remove_image(self, image: ImageSpec) -> None:
        try:
            await asyncio.to_thread(self.store.remove, image.image, force=True)
        except ImageNotFound:
            pass

    async def image_fs_info(self) -> list[FilesystemUsage]:
        used, inodes = await asyncio.to_thread(_disk_usage, self.store.root)
        return [FilesystemUsage(time.time_ns(), str(self.store.root), used, inodes)]


def _image(stored: StoredImage, spec: ImageSpec | None = None) -> Image:
    user = str(stored.config.get("User") or "").partition(":")[0]
    return Image(
        id=stored.id,
        repo_tags=list(stored.repo_tags),
        repo_digests=list(stored.repo_digests),
        size=stored.size,
        uid=int(user) if user.isdigit() else None,
        username="" if user.isdigit() else user,
        spec=spec or ImageSpec(image=stored.id),
    )


def _credentials(auth: AuthConfig | None) -> Credentials | None:
    """User and password, given as such or as ``auth``; tokens are not supported (anonymous)."""
    if auth is None:
        return None
    username, password = auth.username, auth.password
    if auth.auth and not username:
        username, _, password = base64.b64decode(auth.auth).decode().partition(":")
    return Credentials(username=username, password=password) if username else None


def _disk_usage(root: Path) -> tuple[int, int]:
    """Bytes and inodes under ``root``, hard links counted once."""
    seen: set[int] = set()
    used = 0
    for directory, _dirs, files in os.walk(root):
        for name in files:
            st = os.lstat(os.path.join(directory, name))
            if st.st_ino not in seen:
                seen.add(st.st_ino)
                used += st.st_blocks * 512
    return used, len(seen)
