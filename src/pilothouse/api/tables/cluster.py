"""Tables of cluster-level kinds: Namespaces, Nodes, Leases, PriorityClasses, RuntimeClasses
and RBAC bindings (kube-apiserver's printers).

A node's STATUS is Ready, NotReady or Unknown from its Ready condition, plus
``SchedulingDisabled`` when cordoned; ROLES come from ``node-role.kubernetes.io/<role>`` and
``kubernetes.io/role`` labels.
"""

from __future__ import annotations

from datetime import datetime

from pilothouse.api.tables.cells import Obj, since
from pilothouse.api.tables.printer import AGE, NAME, Cells, Printer, column

_ROLE_LABEL_PREFIX = "node-role.kubernetes.io/"
_ROLE_LABEL = "kubernetes.io/role"


def _namespace_cells(namespace: Obj, now: datetime) -> Cells:
    meta = namespace.get("metadata") or {}
    return [
        meta.get("name", ""),
        (namespace.get("status") or {}).get("phase", ""),
        since(meta.get("creationTimestamp"), now),
    ]


def _node_status(node: Obj) -> str:
    ready = None
    for condition in (node.get("status") or {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            ready = condition  # the last one wins, as in upstream's condition map
    states = ["Unknown"]
    if ready is not None:
        states = ["Ready" if ready.get("status") == "True" else "NotReady"]
    if (node.get("spec") or {}).get("unschedulable"):
        states.append("SchedulingDisabled")
    return ",".join(states)


def _node_roles(labels: Obj) -> str:
    roles = set()
    for key, value in labels.items():
        if key.startswith(_ROLE_LABEL_PREFIX):
            role = key[len(_ROLE_LABEL_PREFIX) :]
            if role:
                roles.add(role)
        elif key == _ROLE_LABEL and value:
            roles.add(value)
    return ",".join(sorted(roles)) or "<none>"


def _node_address(status: Obj, kind: str) -> str:
    for address in status.get("addresses") or ():
        if address.get("type") == kind:
            return address.get("address", "")
    return "<none>"


def _node_cells(node: Obj, now: datetime) -> Cells:
    meta = node.get("metadata") or {}
    status = node.get("status") or {}
    info = status.get("nodeInfo") or {}
    return [
        meta.get("name", ""),
        _node_status(node),
        _node_roles(meta.get("labels") or {}),
        since(meta.get("creationTimestamp"), now),
        info.get("kubeletVersion", ""),
        _node_address(status, "InternalIP"),
        _node_address(status, "ExternalIP"),
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


def _lease_cells(lease: Obj, now: datetime) -> Cells:
    meta = lease.get("metadata") or {}
    return [
        meta.get("name", ""),
        (lease.get("spec") or {}).get("holderIdentity") or "",
        since(meta.get("creationTimestamp"), now),
    ]


def _priority_class_cells(priority_class: Obj, now: datetime) -> Cells:
    meta = priority_class.get("metadata") or {}
    return [
        meta.get("name", ""),
        priority_class.get("value") or 0,
        bool(priority_class.get("globalDefault")),
        since(meta.get("creationTimestamp"), now),
        priority_class.get("preemptionPolicy") or "",
    ]


def _runtime_class_cells(runtime_class: Obj, now: datetime) -> Cells:
    meta = runtime_class.get("metadata") or {}
    return [
        meta.get("name", ""),
        runtime_class.get("handler", ""),
        since(meta.get("creationTimestamp"), now),
    ]


def _subjects(subjects: list[Obj]) -> tuple[str, str, str]:
    """``rbac.SubjectsStrings``: users, groups and namespace/name of service accounts."""
    users, groups, accounts = [], [], []
    for subject in subjects:
        kind = subject.get("kind")
        if kind == "ServiceAccount":
            accounts.append(f"{subject.get('namespace', '')}/{subject.get('name', '')}")
        elif kind == "User":
            users.append(subject.get("name", ""))
        elif kind == "Group":
            groups.append(subject.get("name", ""))
    return ", ".join(users), ", ".join(groups), ", ".join(accounts)


def _binding_cells(binding: Obj, now: datetime) -> Cells:
    meta = binding.get("metadata") or {}
    role = binding.get("roleRef") or {}
    return [
        meta.get("name", ""),
        f"{role.get('kind', '')}/{role.get('name', '')}",
        since(meta.get("creationTimestamp"), now),
        *_subjects(binding.get("subjects") or []),
    ]


def _binding_printer(kind: str, noun: str) -> Printer:
    return Printer(
        (
            NAME,
            column("Role", f"{kind}.roleRef"),
            AGE,
            column("Users", description=f"Users in the {noun}", wide=True),
            column("Groups", description=f"Groups in the {noun}", wide=True),
            column("ServiceAccounts", description=f"ServiceAccounts in the {noun}", wide=True),
        ),
        _binding_cells,
    )


PRINTERS = {
    ("", "Namespace"): Printer(
        (NAME, column("Status", description="The status of the namespace"), AGE),
        _namespace_cells,
    ),
    ("", "Node"): Printer(
        (
            NAME,
            column("Status", description="The status of the node"),
            column("Roles", description="The roles of the node"),
            AGE,
            column("Version", "NodeSystemInfo.kubeletVersion"),
            column("Internal-IP", "NodeStatus.addresses", wide=True),
            column("External-IP", "NodeStatus.addresses", wide=True),
            column("OS-Image", "NodeSystemInfo.osImage", wide=True),
            column("Kernel-Version", "NodeSystemInfo.kernelVersion", wide=True),
            column("Container-Runtime", "NodeSystemInfo.containerRuntimeVersion", wide=True),
        ),
        _node_cells,
    ),
    ("coordination.k8s.io", "Lease"): Printer(
        (NAME, column("Holder", "LeaseSpec.holderIdentity"), AGE), _lease_cells
    ),
    ("scheduling.k8s.io", "PriorityClass"): Printer(
        (
            NAME,
            column("Value", "PriorityClass.value", type="integer"),
            column("Global-Default", "PriorityClass.globalDefault", type="boolean"),
            AGE,
            column("PreemptionPolicy", "PriorityClass.preemptionPolicy"),
        ),
        _priority_class_cells,
    ),
    ("node.k8s.io", "RuntimeClass"): Printer(
        # Upstream describes Handler with ObjectMeta's (non-existent) "handler" doc: "".
        (NAME, column("Handler", description=""), AGE),
        _runtime_class_cells,
    ),
    ("rbac.authorization.k8s.io", "RoleBinding"): _binding_printer("RoleBinding", "roleBinding"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): _binding_printer(
        "ClusterRoleBinding", "clusterRoleBinding"
    ),
}
