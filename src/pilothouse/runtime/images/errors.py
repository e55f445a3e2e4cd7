"""Errors of the image side: each says what went wrong in words a user can act on."""

from __future__ import annotations


class ImageError(Exception):
    """Base class of image errors."""


class InvalidReference(ImageError):
    """An image reference that does not follow Docker's reference grammar."""

    def __init__(self, reference: str, reason: str = ""):
        self.reference = reference
        self.reason = reason
        detail = f": {reason}" if reason else ""
        super().__init__(f"invalid reference format{detail}: {reference!r}")


class ImageNotFound(ImageError):
    """No local image matches a reference or id."""

    def __init__(self, reference: str):
        self.reference = reference
        super().__init__(f"No such image: {reference}")


class AmbiguousImage(ImageError):
    """A short id that is the prefix of more than one image id."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        super().__init__(f"short image id {prefix!r} is ambiguous: it matches several images")


class ImageInUse(ImageError):
    """Removing an image that a snapshot (container) or several names still use."""


class DigestMismatch(ImageError):
    """Content whose sha256 (or size) is not the one it was announced with."""

    def __init__(self, what: str, expected: str, actual: str):
        self.expected = expected
        self.actual = actual
        super().__init__(f"{what}: digest mismatch: expected {expected}, got {actual}")


class BlobNotFound(ImageError):
    """A blob the store should hold is missing."""

    def __init__(self, digest: str):
        self.digest = digest
        super().__init__(f"blob {digest} not found in the content store")


class InvalidImage(ImageError):
    """A manifest, config, index or archive that is malformed or inconsistent."""


class LayerError(ImageError):
    """A layer tar that cannot be unpacked safely (bad path, unsupported entry...)."""


class RegistryError(ImageError):
    """A registry answered with an error or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None):
        self.status = status
        super().__init__(message)


class RegistryAuthError(RegistryError):
    """A registry refused our credentials, or wants credentials we do not have."""


class ManifestUnknown(RegistryError):
    """The registry has no manifest for this tag or digest."""


class NoMatchingPlatform(ImageError):
    """A manifest list without an entry for this machine's platform."""


class SnapshotError(ImageError):
    """A snapshot that cannot be prepared, mounted or removed."""


class BuildError(ImageError):
    """A Dockerfile build that failed; the message names the Dockerfile line when known."""


class DockerfileError(BuildError):
    """A malformed Dockerfile: ``Dockerfile:3: unknown instruction: RUNN``."""

    def __init__(self, filename: str, line: int, message: str):
        self.filename = filename
        self.line = line
        self.detail = message
        super().__init__(f"{filename}:{line}: {message}")


class RunStepFailed(BuildError):
    """A RUN step whose command exited non-zero."""

    def __init__(self, filename: str, line: int, command: str, exit_code: int):
        self.filename = filename
        self.line = line
        self.exit_code = exit_code
        super().__init__(
            f"{filename}:{line}: RUN {command}: the command returned a non-zero code: {exit_code}"
        )
