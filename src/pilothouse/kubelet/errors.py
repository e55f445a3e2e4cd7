"""Why a container could not be started, in the reasons pod status reports.

A :class:`StartError` carries the reason a container's waiting state shows
(``ErrImagePull``, ``CreateContainerConfigError``, ``CrashLoopBackOff``...) and the message
with it; ``retry_after`` says when trying again makes sense (a back-off's remaining time),
``None`` meaning at the next sync.
"""

from __future__ import annotations

CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"
ERR_IMAGE_PULL = "ErrImagePull"
IMAGE_PULL_BACK_OFF = "ImagePullBackOff"
ERR_IMAGE_NEVER_PULL = "ErrImageNeverPull"
INVALID_IMAGE_NAME = "InvalidImageName"
IMAGE_INSPECT_ERROR = "ImageInspectError"
CREATE_CONTAINER_CONFIG_ERROR = "CreateContainerConfigError"
CREATE_CONTAINER_ERROR = "CreateContainerError"
RUN_CONTAINER_ERROR = "RunContainerError"
POST_START_HOOK_ERROR = "PostStartHookError"
# Image failures: their "Error: ..." events name the reason, not the message.
IMAGE_REASONS = frozenset({
    ERR_IMAGE_PULL, IMAGE_PULL_BACK_OFF, ERR_IMAGE_NEVER_PULL, INVALID_IMAGE_NAME, IMAGE_INSPECT_ERROR,
})


class StartError(Exception):
    def __init__(self, reason: str, message: str, *, retry_after: float | None = None):
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.retry_after = retry_after


class ConfigError(Exception):
    """A container's configuration cannot be made (a missing ConfigMap, Secret or key, a
    user the policy refuses...): the message is the one the pod reports."""
