"""Review resources: create-only kinds that ask the server a question and are never stored.

- authorization.k8s.io/v1 SelfSubjectAccessReview (``kubectl auth can-i``),
  SubjectAccessReview, LocalSubjectAccessReview, SelfSubjectRulesReview
  (``kubectl auth can-i --list``): answered by the authorizer chain;
- authentication.k8s.io/v1 SelfSubjectReview (``kubectl auth whoami``) and TokenReview:
  answered by the authenticators.
"""

from __future__ import annotations

from typing import Any

from pilothouse.api import errors
from pilothouse.apiserver.authn import AuthenticatorChain, UserInfo
from pilothouse.apiserver.authz import Attributes, AuthorizerChain, Decision

Obj = dict[str, Any]

REVIEWS = {
    ("authorization.k8s.io", "selfsubjectaccessreviews"),
    ("authorization.k8s.io", "subjectaccessreviews"),
    ("authorization.k8s.io", "localsubjectaccessreviews"),
    ("authorization.k8s.io", "selfsubjectrulesreviews"),
    ("authentication.k8s.io", "selfsubjectreviews"),
    ("authentication.k8s.io", "tokenreviews"),
}


def is_review(group: str, plural: str) -> bool:
    return (group, plural) in REVIEWS


class Reviews:
    def __init__(self, *, authorizer: AuthorizerChain, authenticator: AuthenticatorChain):
        self.authorizer = authorizer
        self.authenticator = authenticator

    def answer(self, plural: str, review: Obj, user: UserInfo, namespace: str) -> Obj:
        """``review`` with its status filled in."""
        spec = review.get("spec") or {}
        if plural == "selfsubjectaccessreviews":
            review["status"] = self._access(user, spec, namespace_default="")
        elif plural in ("subjectaccessreviews", "localsubjectaccessreviews"):
            subject = UserInfo(spec.get("user", ""), tuple(spec.get("groups") or ()),
                               spec.get("uid", ""))
            if not subject.name and not subject.groups:
                raise errors.Invalid.of(review.get("kind", ""), "",
                                        [errors.invalid("spec.user", "",
                                                        "at least one of user or group must be specified")])
            review["status"] = self._access(subject, spec, namespace_default=namespace)
        elif plural == "selfsubjectrulesreviews":
            review["status"] = self._rules(user)
        elif plural == "selfsubjectreviews":
            review["status"] = {"userInfo": _user_info(user)}
        elif plural == "tokenreviews":
            review["status"] = self._token(spec.get("token", ""))
        return review

    def _access(self, user: UserInfo, spec: Obj, *, namespace_default: str) -> Obj:
        resource = spec.get("resourceAttributes")
        non_resource = spec.get("nonResourceAttributes")
        if resource:
            attributes = Attributes(
                user=user, verb=resource.get("verb", ""), group=resource.get("group", ""),
                resource=resource.get("resource", ""),
                subresource=resource.get("subresource", ""),
                namespace=resource.get("namespace", namespace_default),
                name=resource.get("name", ""),
            )
        elif non_resource:
            attributes = Attributes(user=user, verb=non_resource.get("verb", ""),
                                    path=non_resource.get("path", ""))
        else:
            raise errors.Invalid(
                "SelfSubjectAccessReview is invalid: spec.resourceAttributes: Invalid value: "
                '"null": exactly one of nonResourceAttributes or resourceAttributes must be '
                "specified", kind="SelfSubjectAccessReview", group="authorization.k8s.io")
        decision, reason = self.authorizer.authorize(attributes)
        status: Obj = {"allowed": decision is Decision.ALLOW}
        if decision is Decision.DENY:
            status["denied"] = True
        if reason:
            status["reason"] = reason
        return status

    def _rules(self, user: UserInfo) -> Obj:
        # With only AlwaysAllow in the chain every user may do everything.
        decision, _ = self.authorizer.authorize(
            Attributes(user=user, verb="*", group="*", resource="*"))
        if decision is Decision.ALLOW:
            return {
                "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                "incomplete": False,
            }
        return {"resourceRules": [], "nonResourceRules": [], "incomplete": True}

    def _token(self, token: str) -> Obj:
        request = _TokenRequest(token)
        user = self.authenticator.authenticate(request)  # type: ignore[arg-type]
        if user is None:
            return {"authenticated": False, "error": "invalid bearer token"}
        return {"authenticated": True, "user": _user_info(user)}


class _TokenRequest:
    """Just enough of a request for token authenticators to read a bearer token."""

    transport = None

    def __init__(self, token: str):
        self.headers = {"Authorization": f"Bearer {token}"}


def _user_info(user: UserInfo) -> Obj:
    info: Obj = {"username": user.name, "groups": list(user.groups)}
    if user.uid:
        info["uid"] = user.uid
    if user.extra:
        info["extra"] = user.extra
    return info


__all__ = ["Reviews", "is_review"]
