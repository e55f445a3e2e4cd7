"""The one error the volume manager raises, worded as the kubelet words its pod events.

Every failure carries the event ``reason`` and the ``message`` the kubelet records on the pod:

* a volume that cannot be set up: reason ``FailedMount``, message
  ``MountVolume.SetUp failed for volume "<name>" : <cause>`` (upstream's operation executor);
* a volume the kubelet cannot even start on (an unbound claim, an unsupported source):
  reason ``FailedMount``, message ``Unable to attach or mount volumes: unmounted
  volumes=[<name>], unattached volumes=[], failed to process volumes=[<name>]: <cause>``
  (upstream's wording of WaitForAttachAndMount, with the cause in place of its timeout);
* a volume mount a container cannot get (missing volume, bad subPath): reason
  ``CreateContainerConfigError``, which the kubelet reports as the container's waiting reason,
  with a ``Failed`` event ``Error: <message>`` (upstream's makeMounts errors).
"""

from __future__ import annotations

import aiohttp

from pilothouse.api import errors

FAILED_MOUNT = "FailedMount"
CREATE_CONTAINER_CONFIG_ERROR = "CreateContainerConfigError"
FAILED_UNMOUNT = "FailedUnmount"  # teardown: for logs, upstream records no event for it

# What an API call may fail with: an error Status, or no answer at all.
API_FAILURES = (errors.StatusError, aiohttp.ClientError, TimeoutError)


class VolumeError(Exception):
    """A volume problem to report on the pod; ``reason`` and ``message`` are the event's."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


class SourceError(Exception):
    """A volume source that cannot be turned into files; the text is upstream's cause."""


def setup_failed(volume_name: str, cause: str) -> VolumeError:
    return VolumeError(FAILED_MOUNT, f'MountVolume.SetUp failed for volume "{volume_name}" : {cause}')


def processing_failed(volume_name: str, cause: str) -> VolumeError:
    return VolumeError(
        FAILED_MOUNT,
        f"Unable to attach or mount volumes: unmounted volumes=[{volume_name}], "
        f"unattached volumes=[], failed to process volumes=[{volume_name}]: {cause}",
    )


def container_config_error(message: str) -> VolumeError:
    return VolumeError(CREATE_CONTAINER_CONFIG_ERROR, message)


def describe(error: BaseException) -> str:
    """The cause an exception stands for, without Python's ``[Errno N]`` decoration."""
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    return str(error)


def aggregate(causes: list[str]) -> str:
    """Several causes in one message, as k8s.io/apimachinery's errors.NewAggregate prints them."""
    return causes[0] if len(causes) == 1 else "[" + ", ".join(causes) + "]"
