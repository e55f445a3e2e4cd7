"""Per-kind write rules: which Strategy handles each built-in (group, kind).

``strategy_for(group, kind)`` returns the kind's strategy, or a ``GenericStrategy`` for kinds
without special rules (custom resources, later). Every strategy returned is a
``KindStrategy``: besides the ``Strategy`` contract it validates metadata
(``validate_metadata``/``validate_metadata_update``), has a create-time ``validate_create``,
and knows its field selectors (``supported_field_selectors``/``convert_field_label`` here).

Strategies work on objects in their stored version: core/v1 for both Event APIs and
autoscaling/v2 for HorizontalPodAutoscalers (see ``conversion``).
"""

from __future__ import annotations

from pilothouse.api.kinds.base import FieldLabelError, KindStrategy, NoStatusStrategy
from pilothouse.api.kinds.batch import CronJobStrategy, JobStrategy
from pilothouse.api.kinds.config import ConfigMapStrategy, SecretStrategy
from pilothouse.api.kinds.coordination import LeaseStrategy
from pilothouse.api.kinds.endpoints import EndpointSliceStrategy, EndpointsStrategy
from pilothouse.api.kinds.event import EventStrategy, EventsV1Strategy
from pilothouse.api.kinds.hpa import HorizontalPodAutoscalerStrategy
from pilothouse.api.kinds.namespace import NamespaceStrategy
from pilothouse.api.kinds.networking import (
    IngressClassStrategy,
    IngressStrategy,
    NetworkPolicyStrategy,
)
from pilothouse.api.kinds.node import NodeStrategy, RuntimeClassStrategy
from pilothouse.api.kinds.pod import PodStrategy, PodTemplateStrategy
from pilothouse.api.kinds.policy import PodDisruptionBudgetStrategy
from pilothouse.api.kinds.quota import LimitRangeStrategy, ResourceQuotaStrategy
from pilothouse.api.kinds.rbac import (
    ClusterRoleBindingStrategy,
    ClusterRoleStrategy,
    RoleBindingStrategy,
    RoleStrategy,
)
from pilothouse.api.kinds.scheduling import PriorityClassStrategy
from pilothouse.api.kinds.service import ServiceStrategy
from pilothouse.api.kinds.storage import (
    PersistentVolumeClaimStrategy,
    PersistentVolumeStrategy,
    StorageClassStrategy,
)
from pilothouse.api.kinds.workloads import (
    ControllerRevisionStrategy,
    DaemonSetStrategy,
    DeploymentStrategy,
    ReplicaSetStrategy,
    ReplicationControllerStrategy,
    StatefulSetStrategy,
)


class GenericStrategy(KindStrategy):
    """Kinds without rules of their own: DNS-subdomain names, status through /status when
    the kind has that subresource, generation bumped on every non-metadata change."""

    kube_finalizers = False

    def __init__(self, *, has_status: bool = True, tracks_generation: bool = True):
        self.has_status = has_status
        self.tracks_generation = tracks_generation


STRATEGIES: dict[tuple[str, str], KindStrategy] = {
    ("", "Namespace"): NamespaceStrategy(),
    ("", "Pod"): PodStrategy(),
    ("", "PodTemplate"): PodTemplateStrategy(),
    ("", "Service"): ServiceStrategy(),
    ("", "Endpoints"): EndpointsStrategy(),
    ("", "ConfigMap"): ConfigMapStrategy(),
    ("", "Secret"): SecretStrategy(),
    ("", "Node"): NodeStrategy(),
    ("", "Event"): EventStrategy(),
    ("", "ServiceAccount"): NoStatusStrategy(),
    ("", "PersistentVolume"): PersistentVolumeStrategy(),
    ("", "PersistentVolumeClaim"): PersistentVolumeClaimStrategy(),
    ("", "ResourceQuota"): ResourceQuotaStrategy(),
    ("", "LimitRange"): LimitRangeStrategy(),
    ("", "ReplicationController"): ReplicationControllerStrategy(),
    ("apps", "Deployment"): DeploymentStrategy(),
    ("apps", "ReplicaSet"): ReplicaSetStrategy(),
    ("apps", "StatefulSet"): StatefulSetStrategy(),
    ("apps", "DaemonSet"): DaemonSetStrategy(),
    ("apps", "ControllerRevision"): ControllerRevisionStrategy(),
    ("batch", "Job"): JobStrategy(),
    ("batch", "CronJob"): CronJobStrategy(),
    ("autoscaling", "HorizontalPodAutoscaler"): HorizontalPodAutoscalerStrategy(),
    ("networking.k8s.io", "Ingress"): IngressStrategy(),
    ("networking.k8s.io", "IngressClass"): IngressClassStrategy(),
    ("networking.k8s.io", "NetworkPolicy"): NetworkPolicyStrategy(),
    ("policy", "PodDisruptionBudget"): PodDisruptionBudgetStrategy(),
    ("rbac.authorization.k8s.io", "Role"): RoleStrategy(),
    ("rbac.authorization.k8s.io", "ClusterRole"): ClusterRoleStrategy(),
    ("rbac.authorization.k8s.io", "RoleBinding"): RoleBindingStrategy(),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): ClusterRoleBindingStrategy(),
    ("storage.k8s.io", "StorageClass"): StorageClassStrategy(),
    ("coordination.k8s.io", "Lease"): LeaseStrategy(),
    ("discovery.k8s.io", "EndpointSlice"): EndpointSliceStrategy(),
    ("events.k8s.io", "Event"): EventsV1Strategy(),
    ("scheduling.k8s.io", "PriorityClass"): PriorityClassStrategy(),
    ("node.k8s.io", "RuntimeClass"): RuntimeClassStrategy(),
}

_GENERIC = GenericStrategy()


def strategy_for(group: str, kind: str) -> KindStrategy:
    return STRATEGIES.get((group, kind), _GENERIC)


def supported_field_selectors(group: str, kind: str) -> frozenset[str]:
    """Every field selector label the kind accepts (metadata ones included)."""
    return strategy_for(group, kind).supported_field_labels()


def convert_field_label(group: str, kind: str, label: str) -> str:
    """The key in ``field_labels`` for a selector label a client sent; raises
    ``FieldLabelError("field label not supported: <label>")`` for unknown ones."""
    return strategy_for(group, kind).convert_field_label(label)


__all__ = [
    "STRATEGIES",
    "FieldLabelError",
    "GenericStrategy",
    "KindStrategy",
    "convert_field_label",
    "strategy_for",
    "supported_field_selectors",
]
