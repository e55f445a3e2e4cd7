"""RBAC: Roles, ClusterRoles, RoleBindings and ClusterRoleBindings.

Names are any valid path segment (``system:controller:foo`` is fine). Rules need verbs, and
either resources with API groups or (cluster roles only) non-resource URLs. Bindings refer to
a role in rbac.authorization.k8s.io and may never change that reference. Subjects default
their apiGroup (rbac.authorization.k8s.io for users and groups, "" for service accounts).
Metadata is checked with apimachinery's ObjectMeta rules (no check of finalizer names).
"""

from __future__ import annotations

from typing import Any

from pilothouse.api.errors import FieldError, invalid, not_supported, required
from pilothouse.api.kinds.base import NoStatusStrategy, ensure, items, validate_selector
from pilothouse.api.strategy import Obj
from pilothouse.api.validation import (
    name_is_dns_subdomain,
    name_is_path_segment,
)

GROUP = "rbac.authorization.k8s.io"


class _RbacStrategy(NoStatusStrategy):
    name_validator = staticmethod(name_is_path_segment)
    kube_finalizers = False


class RoleStrategy(_RbacStrategy):
    namespaced_rules = True

    def validate(self, obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        for i, rule in items(obj, "rules"):
            errs += validate_policy_rule(rule, f"rules[{i}]", namespaced=self.namespaced_rules)
        return errs


class ClusterRoleStrategy(RoleStrategy):
    namespaced_rules = False

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = super().validate(obj)
        rule = obj.get("aggregationRule")
        if isinstance(rule, dict):
            selectors = rule.get("clusterRoleSelectors") or []
            if not selectors:
                errs.append(
                    required(
                        "aggregationRule.clusterRoleSelectors",
                        "at least one clusterRoleSelector required if aggregationRule is non-nil",
                    )
                )
            for i, selector in enumerate(selectors):
                errs += validate_selector(
                    selector or {}, f"aggregationRule.clusterRoleSelectors[{i}]"
                )
        return errs


def validate_policy_rule(rule: dict[str, Any], path: str, *, namespaced: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    if not rule.get("verbs"):
        errs.append(required(f"{path}.verbs", "verbs must contain at least one value"))
    urls = rule.get("nonResourceURLs") or []
    if urls:
        if namespaced:
            errs.append(
                invalid(
                    f"{path}.nonResourceURLs",
                    urls,
                    "namespaced rules cannot apply to non-resource URLs",
                )
            )
        if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
            errs.append(
                invalid(
                    f"{path}.nonResourceURLs",
                    urls,
                    "rules cannot apply to both regular resources and non-resource URLs",
                )
            )
        return errs
    if not rule.get("apiGroups"):
        errs.append(
            required(f"{path}.apiGroups", "resource rules must supply at least one api group")
        )
    if not rule.get("resources"):
        errs.append(
            required(f"{path}.resources", "resource rules must supply at least one resource")
        )
    return errs


class RoleBindingStrategy(_RbacStrategy):
    role_kinds = ["Role", "ClusterRole"]
    namespaced_subjects = True

    def default(self, obj: Obj) -> None:
        role_ref = ensure(obj, "roleRef")
        if not role_ref.get("apiGroup"):
            role_ref["apiGroup"] = GROUP
        for _, subject in items(obj, "subjects"):
            if not subject.get("apiGroup") and subject.get("kind") in ("User", "Group"):
                subject["apiGroup"] = GROUP

    def validate(self, obj: Obj) -> list[FieldError]:
        role_ref = obj.get("roleRef") or {}
        errs: list[FieldError] = []
        if role_ref.get("apiGroup") != GROUP:
            errs.append(not_supported("roleRef.apiGroup", role_ref.get("apiGroup") or "", [GROUP]))
        if role_ref.get("kind") not in self.role_kinds:
            errs.append(not_supported("roleRef.kind", role_ref.get("kind") or "", self.role_kinds))
        name = role_ref.get("name") or ""
        if not name:
            errs.append(required("roleRef.name"))
        else:
            errs += [invalid("roleRef.name", name, m) for m in name_is_path_segment(name)]
        for i, subject in items(obj, "subjects"):
            errs += validate_subject(subject, f"subjects[{i}]", namespaced=self.namespaced_subjects)
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        if (new.get("roleRef") or {}) != (old.get("roleRef") or {}):
            return [invalid("roleRef", new.get("roleRef") or {}, "cannot change roleRef")]
        return []


class ClusterRoleBindingStrategy(RoleBindingStrategy):
    role_kinds = ["ClusterRole"]
    namespaced_subjects = False


def validate_subject(subject: dict[str, Any], path: str, *, namespaced: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    name, kind, group = (
        subject.get("name") or "",
        subject.get("kind") or "",
        subject.get("apiGroup") or "",
    )
    if not name:
        errs.append(required(f"{path}.name"))
    if kind == "ServiceAccount":
        if name:
            errs += [invalid(f"{path}.name", name, m) for m in name_is_dns_subdomain(name)]
        if group:
            errs.append(not_supported(f"{path}.apiGroup", group, [""]))
        if not namespaced and not subject.get("namespace"):
            errs.append(required(f"{path}.namespace"))
    elif kind in ("User", "Group"):
        if group != GROUP:
            errs.append(not_supported(f"{path}.apiGroup", group, [GROUP]))
    else:
        errs.append(not_supported(f"{path}.kind", kind, ["ServiceAccount", "User", "Group"]))
    return errs
