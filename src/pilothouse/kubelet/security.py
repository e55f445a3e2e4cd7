"""Pod and container securityContext in the runtime's terms, as the kubelet maps them.

The effective settings are the container's, falling back to the pod's (runAsUser,
runAsGroup, runAsNonRoot); capabilities, privileged, readOnlyRootFilesystem,
allowPrivilegeEscalation (false means no_new_privs) and procMount are the container's only;
supplemental groups are the pod's supplementalGroups and fsGroup. Namespaces follow
hostNetwork, hostPID, hostIPC and shareProcessNamespace.

:func:`verify_run_as_non_root` refuses, with upstream's messages, to run a container whose
policy is runAsNonRoot as root or as a user it cannot check.
"""

from __future__ import annotations

from typing import Any

from pilothouse.runtime.interface import (
    Capability,
    Image,
    LinuxContainerSecurityContext,
    LinuxSandboxSecurityContext,
    NamespaceMode,
    NamespaceOption,
)

from . import podutil
from .errors import ConfigError

Obj = dict[str, Any]


def namespace_options(pod: Obj) -> NamespaceOption:
    spec = podutil.spec(pod)
    if spec.get("hostPID"):
        pid = NamespaceMode.NODE
    elif spec.get("shareProcessNamespace"):
        pid = NamespaceMode.POD
    else:
        pid = NamespaceMode.CONTAINER
    return NamespaceOption(
        network=NamespaceMode.NODE if spec.get("hostNetwork") else NamespaceMode.POD,
        pid=pid,
        ipc=NamespaceMode.NODE if spec.get("hostIPC") else NamespaceMode.POD,
    )


def _pod_context(pod: Obj) -> Obj:
    return podutil.spec(pod).get("securityContext") or {}


def effective(pod: Obj, container: Obj) -> Obj:
    """The container's securityContext with the pod's user settings filled in."""
    merged = dict(container.get("securityContext") or {})
    for key in ("runAsUser", "runAsGroup", "runAsNonRoot", "seLinuxOptions", "seccompProfile"):
        if merged.get(key) is None and _pod_context(pod).get(key) is not None:
            merged[key] = _pod_context(pod)[key]
    return merged


def supplemental_groups(pod: Obj) -> list[int]:
    context = _pod_context(pod)
    groups = [int(g) for g in context.get("supplementalGroups") or []]
    if context.get("fsGroup") is not None:
        groups.append(int(context["fsGroup"]))
    return groups


def container_security(pod: Obj, container: Obj) -> LinuxContainerSecurityContext:
    context = effective(pod, container)
    capabilities = context.get("capabilities") or {}
    escalation = context.get("allowPrivilegeEscalation")
    unmasked = context.get("procMount") == "Unmasked"
    return LinuxContainerSecurityContext(
        capabilities=Capability(
            add_capabilities=list(capabilities.get("add") or []),
            drop_capabilities=list(capabilities.get("drop") or []),
        ),
        privileged=bool(context.get("privileged")),
        namespace_options=namespace_options(pod),
        run_as_user=context.get("runAsUser"),
        run_as_group=context.get("runAsGroup"),
        readonly_rootfs=bool(context.get("readOnlyRootFilesystem")),
        supplemental_groups=supplemental_groups(pod),
        no_new_privs=escalation is not None and not escalation,
        masked_paths=[] if unmasked else None,
        readonly_paths=[] if unmasked else None,
    )


def sandbox_security(pod: Obj) -> LinuxSandboxSecurityContext:
    context = _pod_context(pod)
    return LinuxSandboxSecurityContext(
        namespace_options=namespace_options(pod),
        run_as_user=context.get("runAsUser"),
        run_as_group=context.get("runAsGroup"),
        supplemental_groups=supplemental_groups(pod),
        privileged=any(
            (c.get("securityContext") or {}).get("privileged") for _, c in podutil.all_containers(pod)
        ),
    )


def verify_run_as_non_root(pod: Obj, container: Obj, image: Image | None) -> None:
    context = effective(pod, container)
    if not context.get("runAsNonRoot"):
        return
    where = f'(pod: "{podutil.describe(pod)}", container: {container["name"]})'
    if context.get("runAsUser") is not None:
        if int(context["runAsUser"]) == 0:
            raise ConfigError(f"container's runAsUser breaks non-root policy {where}")
        return
    uid = image.uid if image is not None else 0
    username = image.username if image is not None else ""
    if uid is None and not username:
        uid = 0  # an image without a user runs as root
    if uid == 0:
        raise ConfigError(f"container has runAsNonRoot and image will run as root {where}")
    if uid is None and username:
        raise ConfigError(
            f"container has runAsNonRoot and image has non-numeric user ({username}), "
            f"cannot verify user is non-root {where}"
        )
