"""Authorization: may this user do this verb on this resource?

A chain of authorizers, as kube-apiserver's: each says allow, deny or no opinion, the first
opinion wins, and no opinion at all is a denial. The chain holds ``AlwaysAllow`` until RBAC
joins it (a later issue); requests are already checked through it, and the review
resources (``kubectl auth can-i``, ``kubectl auth whoami``) answer from it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from pilothouse.api import errors
from pilothouse.apiserver.authn import UserInfo


class Decision(enum.Enum):
    ALLOW = "allow"
    DENY = "deny"
    NO_OPINION = "no opinion"


@dataclass(frozen=True)
class Attributes:
    user: UserInfo
    verb: str
    group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""  # for non-resource requests

    @property
    def is_resource_request(self) -> bool:
        return bool(self.resource)


class Authorizer(Protocol):
    def authorize(self, attributes: Attributes) -> tuple[Decision, str]: ...


class AlwaysAllow:
    def authorize(self, attributes: Attributes) -> tuple[Decision, str]:
        return Decision.ALLOW, ""


class AuthorizerChain:
    def __init__(self, authorizers: Sequence[Authorizer]):
        self.authorizers = list(authorizers)

    def authorize(self, attributes: Attributes) -> tuple[Decision, str]:
        for authorizer in self.authorizers:
            decision, reason = authorizer.authorize(attributes)
            if decision is not Decision.NO_OPINION:
                return decision, reason
        return Decision.DENY, "no authorizer allowed the request"

    def check(self, attributes: Attributes) -> None:
        """Raise Forbidden, worded as kube-apiserver words it, unless allowed."""
        decision, reason = self.authorize(attributes)
        if decision is Decision.ALLOW:
            return
        raise forbidden(attributes, reason)


def forbidden(a: Attributes, reason: str) -> errors.Forbidden:
    if not a.is_resource_request:
        message = f'forbidden: User "{a.user.name}" cannot {a.verb} path "{a.path}"'
    else:
        resource = a.resource + (f"/{a.subresource}" if a.subresource else "")
        subject = f"{resource}.{a.group}" if a.group else resource
        if a.name:
            subject += f' "{a.name}"'
        where = f' in the namespace "{a.namespace}"' if a.namespace else " at the cluster scope"
        message = (f'{subject} is forbidden: User "{a.user.name}" cannot {a.verb} resource '
                   f'"{resource}" in API group "{a.group}"{where}')
    if reason:
        message += f": {reason}"
    return errors.Forbidden(message, name=a.name, group=a.group, kind=a.resource)
