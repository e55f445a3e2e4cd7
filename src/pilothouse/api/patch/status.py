"""The two error shapes patching produces that ``pilothouse.api.errors`` has no class for.

- kube-apiserver turns a JSON patch that fails to apply (and a strategic merge patch with a
  list of lists) into ``NewGenericServerResponse(422, ...)``: reason Invalid and a fixed
  message that drops the underlying error. kubectl prints it as "The request is invalid: the
  server rejected our request due to an error in our request".
- Errors that reach the response writer as plain Go errors (most strategic merge patch
  failures, schema errors in a server-side apply configuration) become a 500 whose Status has
  no reason at all; kubectl prints "Error from server: <message>".

We keep the underlying reason as the exception's ``__cause__`` so logs and tests can see it.
"""

from __future__ import annotations

from pilothouse.api import errors

REJECTED = "the server rejected our request due to an error in our request"


class UnreasonedServerError(errors.StatusError):
    """A 500 with no reason: what kube-apiserver answers for a plain (non-Status) error."""

    code = 500
    reason = ""


def rejected() -> errors.Invalid:
    """The generic 422 of NewGenericServerResponse(http.StatusUnprocessableEntity, ...)."""
    return errors.Invalid(REJECTED)
