"""Making sure a container's image is present, as the kubelet's image manager does.

:meth:`ImagePuller.ensure_image` applies the container's imagePullPolicy (Always,
IfNotPresent, Never), pulls through the ImageService with the credentials of the pod's
imagePullSecrets (tried in turn; with none, the image service's own registry settings from
registries.yaml apply), and records the events upstream records (Pulling, Pulled, Failed,
BackOff, ErrImageNeverPull). A failed pull backs off per pod and image (ErrImagePull, then
ImagePullBackOff while the back-off lasts). Concurrent pulls of one image share one pull.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from pilothouse.runtime.errors import ContainerRuntimeError, InvalidArgument
from pilothouse.runtime.interface import AuthConfig, ImageService, ImageSpec

from . import errors, podutil
from .backoff import Backoff
from .events import NORMAL, WARNING, EventSink
from .imagecredentials import split_image

Obj = dict[str, Any]


class ImagePuller:
    def __init__(
        self,
        images: ImageService,
        *,
        events: EventSink,
        backoff: Backoff,
        clock: Callable[[], float] = time.time,
    ):
        self.images = images
        self.events = events
        self.backoff = backoff
        self.clock = clock
        self._pulls: dict[str, asyncio.Task[str]] = {}

    async def ensure_image(self, pod: Obj, container: Obj, credentials: list[AuthConfig]) -> str:
        """The reference to create the container from; raises StartError with the reason."""
        image = container.get("image", "")
        name = container["name"]
        present = await self._present(pod, container, image)
        if not should_pull(container.get("imagePullPolicy") or "IfNotPresent", present):
            if present:
                self._event(pod, name, NORMAL, "Pulled", f'Container image "{image}" already present on machine')
                return image
            message = f'Container image "{image}" is not present with pull policy of Never'
            self._event(pod, name, WARNING, errors.ERR_IMAGE_NEVER_PULL, message)
            raise errors.StartError(errors.ERR_IMAGE_NEVER_PULL, message)
        key = f"{podutil.uid(pod)}_{image}"
        now = self.clock()
        remaining = self.backoff.remaining_since_update(key, now)
        if remaining > 0:
            message = f'Back-off pulling image "{image}"'
            self._event(pod, name, NORMAL, "BackOff", message)
            raise errors.StartError(errors.IMAGE_PULL_BACK_OFF, message, retry_after=remaining)
        self._event(pod, name, NORMAL, "Pulling", f'Pulling image "{image}"')
        started = time.monotonic()
        try:
            await self._pull(image, credentials)
        except Exception as error:  # noqa: BLE001 - any failure of the pull is the pod's ErrImagePull
            self._event(pod, name, WARNING, "Failed", f'Failed to pull image "{image}": {error}')
            self.backoff.next(key, self.clock())
            raise errors.StartError(errors.ERR_IMAGE_PULL, str(error)) from error
        took = go_duration(time.monotonic() - started)
        pulled = await self.images.image_status(ImageSpec(image=image))
        size = pulled.size if pulled is not None else 0
        self._event(
            pod, name, NORMAL, "Pulled",
            f'Successfully pulled image "{image}" in {took} ({took} including waiting). Image size: {size} bytes.',
        )
        self.backoff.reset(key)
        return image

    async def _present(self, pod: Obj, container: Obj, image: str) -> bool:
        try:
            return await self.images.image_status(ImageSpec(image=image)) is not None
        except InvalidArgument as error:
            reason, message = errors.INVALID_IMAGE_NAME, f'Failed to apply default image tag "{image}": {error}'
        except (ContainerRuntimeError, OSError) as error:
            reason, message = errors.IMAGE_INSPECT_ERROR, f'Failed to inspect image "{image}": {error}'
        self._event(pod, container["name"], WARNING, "InspectFailed", message)
        raise errors.StartError(reason, message)

    async def _pull(self, image: str, credentials: list[AuthConfig]) -> str:
        """One pull per image at a time; callers pulling the same image wait for it."""
        task = self._pulls.get(image)
        if task is None:
            task = asyncio.ensure_future(self._pull_with(image, credentials))
            self._pulls[image] = task
            task.add_done_callback(lambda _: self._pulls.pop(image, None))
        return await asyncio.shield(task)

    async def _pull_with(self, image: str, credentials: list[AuthConfig]) -> str:
        failures: list[Exception] = []
        attempts: list[AuthConfig | None] = list(credentials) or [None]
        for auth in attempts:
            try:
                return await self.images.pull_image(ImageSpec(image=image), auth)
            except Exception as error:  # noqa: BLE001 - try the next credentials
                failures.append(error)
        if len(failures) == 1:
            raise failures[0]
        raise RuntimeError("[" + ", ".join(str(f) for f in failures) + "]")

    def _event(self, pod: Obj, container: str, type: str, reason: str, message: str) -> None:
        self.events.record(pod, type, reason, message, container=container)


def should_pull(policy: str, present: bool) -> bool:
    if policy == "Never":
        return False
    return policy == "Always" or not present


def normalized_image_name(reference: str) -> str:
    """The fully qualified name a runtime reports for an image reference
    (``busybox`` -> ``docker.io/library/busybox:latest``); ids stay as they are."""
    if not reference or reference.startswith("sha256:"):
        return reference
    registry, path = split_image(reference)
    name = f"{registry}/{path}"
    digest = reference.partition("@")[2]
    if digest:
        return f"{name}@{digest}"
    tail = reference.rsplit("/", 1)[-1]
    tag = tail.rpartition(":")[2] if ":" in tail else "latest"
    return f"{name}:{tag}"


def go_duration(seconds: float) -> str:
    """A duration truncated to milliseconds, printed as Go's time.Duration prints it."""
    millis = int(seconds * 1000)
    if millis < 1000:
        return f"{millis}ms"
    minutes, millis = divmod(millis, 60_000)
    text = f"{millis / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    return f"{minutes}m{text}" if minutes else text
