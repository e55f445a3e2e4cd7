"""The kinds registry: which resources the API serves, as data.

A ``ResourceType`` says everything the API server, discovery and OpenAPI need to know about
one resource in one group-version: its kind, plural and singular names, scope, short names,
categories, verbs, subresources, and where its objects are stored. ``Registry`` holds them,
answers lookups by path (group, version, plural) and by kind, and accepts new resources at
run time (CustomResourceDefinitions): listeners are told so discovery can be rebuilt.

A resource served in several versions (autoscaling/v1 and v2 HorizontalPodAutoscalers, core
and events.k8s.io Events) is stored once, in its ``storage_version``; the API server converts
between served and stored versions (see ``conversion``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
READ_VERBS = ("get", "list", "watch")


@dataclass(frozen=True)
class Subresource:
    name: str  # status, scale, binding, eviction, log, exec, attach, portforward, ...
    kind: str  # the kind the subresource reads and writes (Pod for status, Scale for scale)
    # Group and version of that kind; None: the same as the resource's (status).
    group: str | None = None
    version: str | None = None
    verbs: tuple[str, ...] = ("get", "patch", "update")


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[Subresource, ...] = ()
    # The group and version objects are stored in. Defaults to this resource's own.
    storage_group: str | None = None
    storage_version: str | None = None
    # Whether this version is the one discovery prefers for the group.
    preferred: bool = True

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def group_resource(self) -> str:
        """``pods`` or ``deployments.apps``: how kube-apiserver names it in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def stored_in(self) -> tuple[str, str]:
        """(group, version) of the stored representation."""
        return (
            self.group if self.storage_group is None else self.storage_group,
            self.storage_version or self.version,
        )

    def key_prefix(self, namespace: str | None = None) -> str:
        """Store key prefix of this resource's objects (optionally in one namespace).

        Keys are ``/registry/<group or core>/<plural>/<namespace>/<name>`` for namespaced
        resources and ``/registry/<group or core>/<plural>/<name>`` for cluster ones.
        Versions of one resource share keys.
        """
        group = (self.group if self.storage_group is None else self.storage_group) or "core"
        prefix = f"/registry/{group}/{self.plural}/"
        if namespace and self.namespaced:
            prefix += namespace + "/"
        return prefix

    def key(self, namespace: str | None, name: str) -> str:
        if self.namespaced:
            return f"{self.key_prefix()}{namespace}/{name}"
        return f"{self.key_prefix()}{name}"

    def subresource(self, name: str) -> Subresource | None:
        return next((s for s in self.subresources if s.name == name), None)

    def subresource_kind(self, subresource: Subresource) -> tuple[str, str, str]:
        """(group, version, kind) a subresource reads and writes."""
        group = self.group if subresource.group is None else subresource.group
        version = self.version if subresource.version is None else subresource.version
        return group, version, subresource.kind


def _status(kind: str) -> Subresource:
    return Subresource("status", kind)


_SCALE = Subresource("scale", "Scale", "autoscaling", "v1")


def _pod_subresources() -> tuple[Subresource, ...]:
    connect = ("create", "get")
    return (
        _status("Pod"),
        Subresource("binding", "Binding", "", "v1", verbs=("create",)),
        Subresource("eviction", "Eviction", "policy", "v1", verbs=("create",)),
        Subresource("log", "Pod", "", "v1", verbs=("get",)),
        Subresource("exec", "PodExecOptions", "", "v1", verbs=connect),
        Subresource("attach", "PodAttachOptions", "", "v1", verbs=connect),
        Subresource("portforward", "PodPortForwardOptions", "", "v1", verbs=connect),
    )


def builtin_resources() -> list[ResourceType]:
    """Every built-in resource pilothouse serves, with the names kube-apiserver 1.33 uses."""
    R = ResourceType
    ns, cluster = True, False
    all_ = ("all",)
    return [
        # core/v1
        R("", "v1", "Namespace", "namespaces", cluster, ("ns",),
          subresources=(_status("Namespace"),
                        Subresource("finalize", "Namespace", verbs=("update",))),
          verbs=("create", "delete", "get", "list", "patch", "update", "watch")),
        R("", "v1", "Pod", "pods", ns, ("po",), all_, subresources=_pod_subresources()),
        R("", "v1", "Service", "services", ns, ("svc",), all_, subresources=(_status("Service"),),
          verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")),
        R("", "v1", "Endpoints", "endpoints", ns, ("ep",)),
        R("", "v1", "ConfigMap", "configmaps", ns, ("cm",)),
        R("", "v1", "Secret", "secrets", ns),
        R("", "v1", "Node", "nodes", cluster, ("no",), subresources=(_status("Node"),)),
        R("", "v1", "Event", "events", ns, ("ev",)),
        R("", "v1", "ServiceAccount", "serviceaccounts", ns, ("sa",)),
        R("", "v1", "PersistentVolume", "persistentvolumes", cluster, ("pv",),
          subresources=(_status("PersistentVolume"),)),
        R("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", ns, ("pvc",),
          subresources=(_status("PersistentVolumeClaim"),)),
        R("", "v1", "ResourceQuota", "resourcequotas", ns, ("quota",),
          subresources=(_status("ResourceQuota"),)),
        R("", "v1", "LimitRange", "limitranges", ns, ("limits",)),
        R("", "v1", "PodTemplate", "podtemplates", ns),
        R("", "v1", "ReplicationController", "replicationcontrollers", ns, ("rc",), all_,
          subresources=(_status("ReplicationController"), _SCALE)),
        # apps/v1
        R("apps", "v1", "Deployment", "deployments", ns, ("deploy",), all_,
          subresources=(_status("Deployment"), _SCALE)),
        R("apps", "v1", "ReplicaSet", "replicasets", ns, ("rs",), all_,
          subresources=(_status("ReplicaSet"), _SCALE)),
        R("apps", "v1", "StatefulSet", "statefulsets", ns, ("sts",), all_,
          subresources=(_status("StatefulSet"), _SCALE)),
        R("apps", "v1", "DaemonSet", "daemonsets", ns, ("ds",), all_,
          subresources=(_status("DaemonSet"),)),
        R("apps", "v1", "ControllerRevision", "controllerrevisions", ns),
        # batch/v1
        R("batch", "v1", "Job", "jobs", ns, (), all_, subresources=(_status("Job"),)),
        R("batch", "v1", "CronJob", "cronjobs", ns, ("cj",), all_,
          subresources=(_status("CronJob"),)),
        # autoscaling: v2 is stored and preferred, v1 is converted
        R("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", ns,
          ("hpa",), all_, subresources=(_status("HorizontalPodAutoscaler"),)),
        R("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", ns,
          ("hpa",), all_, subresources=(_status("HorizontalPodAutoscaler"),),
          storage_version="v2", preferred=False),
        # networking.k8s.io/v1
        R("networking.k8s.io", "v1", "Ingress", "ingresses", ns, ("ing",),
          subresources=(_status("Ingress"),)),
        R("networking.k8s.io", "v1", "IngressClass", "ingressclasses", cluster),
        R("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", ns, ("netpol",)),
        # policy/v1
        R("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", ns, ("pdb",),
          subresources=(_status("PodDisruptionBudget"),)),
        # rbac.authorization.k8s.io/v1
        R("rbac.authorization.k8s.io", "v1", "Role", "roles", ns),
        R("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", ns),
        R("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", cluster),
        R("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", cluster),
        # storage.k8s.io/v1
        R("storage.k8s.io", "v1", "StorageClass", "storageclasses", cluster, ("sc",)),
        # coordination.k8s.io/v1
        R("coordination.k8s.io", "v1", "Lease", "leases", ns),
        # discovery.k8s.io/v1
        R("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", ns),
        # events.k8s.io/v1: the same objects as core/v1 events, in another shape
        R("events.k8s.io", "v1", "Event", "events", ns, ("ev",),
          storage_group="", storage_version="v1"),
        # scheduling.k8s.io/v1
        R("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", cluster, ("pc",)),
        # node.k8s.io/v1
        R("node.k8s.io", "v1", "RuntimeClass", "runtimeclasses", cluster),
        # Reviews: create-only questions to the server, never stored
        R("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews",
          cluster, verbs=("create",)),
        R("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews",
          cluster, verbs=("create",)),
        R("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews",
          cluster, verbs=("create",)),
        R("authorization.k8s.io", "v1", "LocalSubjectAccessReview",
          "localsubjectaccessreviews", ns, verbs=("create",)),
        R("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", cluster,
          verbs=("create",)),
        R("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", cluster,
          verbs=("create",)),
    ]


Listener = Callable[[], None]


@dataclass
class Registry:
    """The resources the API serves. Lookups are dictionary reads; ``add``/``remove`` may be
    called at run time (CRDs) and notify listeners (discovery, OpenAPI caches)."""

    _by_path: dict[tuple[str, str, str], ResourceType] = field(default_factory=dict)
    _by_kind: dict[tuple[str, str, str], ResourceType] = field(default_factory=dict)
    _listeners: list[Listener] = field(default_factory=list)

    @classmethod
    def builtin(cls) -> Registry:
        registry = cls()
        for resource in builtin_resources():
            registry.add(resource, notify=False)
        return registry

    def add(self, resource: ResourceType, *, notify: bool = True) -> None:
        self._by_path[(resource.group, resource.version, resource.plural)] = resource
        self._by_kind[(resource.group, resource.version, resource.kind)] = resource
        if notify:
            self._notify()

    def remove(self, group: str, version: str, plural: str) -> None:
        resource = self._by_path.pop((group, version, plural), None)
        if resource is not None:
            self._by_kind.pop((group, version, resource.kind), None)
            self._notify()

    def on_change(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in self._listeners:
            listener()

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        """The resource served at /api(s)/<group>/<version>/<plural>, or None."""
        return self._by_path.get((group, version, plural))

    def by_kind(self, group: str, version: str, kind: str) -> ResourceType | None:
        return self._by_kind.get((group, version, kind))

    def __iter__(self) -> Iterator[ResourceType]:
        return iter(list(self._by_path.values()))

    def groups(self) -> dict[str, list[str]]:
        """Group name -> served versions, preferred version first (core group is "")."""
        out: dict[str, list[str]] = {}
        for r in self._by_path.values():
            versions = out.setdefault(r.group, [])
            if r.version not in versions:
                if r.preferred:
                    versions.insert(0, r.version)
                else:
                    versions.append(r.version)
        return out

    def in_version(self, group: str, version: str) -> list[ResourceType]:
        return [r for r in self._by_path.values() if r.group == group and r.version == version]

    def storage_resource(self, resource: ResourceType) -> ResourceType:
        """The resource in the version its objects are stored in."""
        group, version = resource.stored_in
        found = self._by_path.get((group, version, resource.plural))
        return found or resource

    def resolve(self, names: Iterable[str]) -> list[ResourceType]:
        """Resources matching plural, singular, short names or kind (case-insensitive)."""
        wanted = {n.lower() for n in names}
        return [
            r
            for r in self._by_path.values()
            if r.preferred
            and wanted & {r.plural, r.singular, r.kind.lower(), *r.short_names}
        ]
