"""Errors of the container runtime, shaped like the gRPC codes a CRI runtime answers with.

The kubelet maps them to pod reasons (``CreateContainerError``, ``RunContainerError``...) and
the CLI to Docker's exit codes: :class:`CommandNotFound` is 127, :class:`CommandNotExecutable`
126, anything else 125.
"""

from __future__ import annotations


class ContainerRuntimeError(Exception):
    """Base class of runtime errors."""


class NotFound(ContainerRuntimeError):
    """No sandbox or container with that id (or name)."""


class AlreadyExists(ContainerRuntimeError):
    """A sandbox or container name that is taken."""


class InvalidArgument(ContainerRuntimeError):
    """A configuration the runtime cannot run: bad user, missing host path, bad quantity..."""


class FailedPrecondition(ContainerRuntimeError):
    """An operation that does not fit the current state (exec into a stopped container...)."""


class CommandNotFound(InvalidArgument):
    """The container's command does not exist in its image (Docker's exit code 127)."""


class CommandNotExecutable(InvalidArgument):
    """The container's command exists but cannot be executed (Docker's exit code 126)."""


class ExecTimeout(ContainerRuntimeError):
    """An ``exec_sync`` that did not finish within its timeout (the command was killed)."""


class OCIRuntimeError(ContainerRuntimeError):
    """crun or runc failed; the message is theirs."""
