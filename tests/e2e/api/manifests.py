"""A small valid manifest for every built-in kind, as a user would write it."""

from __future__ import annotations

POD_SPEC = {"containers": [{"name": "main", "image": "busybox", "command": ["sleep", "3600"]}]}
TEMPLATE = {"metadata": {"labels": {"app": "demo"}}, "spec": POD_SPEC}
SELECTOR = {"matchLabels": {"app": "demo"}}


def manifests(name: str) -> dict[str, dict]:
    """plural.group -> manifest named ``name`` (namespaced ones without a namespace)."""
    return {
        "namespaces": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
        "pods": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                 "spec": POD_SPEC},
        "services": {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                     "spec": {"selector": {"app": "demo"},
                              "ports": [{"port": 80, "targetPort": 8080}]}},
        "endpoints": {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name},
                      "subsets": [{"addresses": [{"ip": "10.244.0.10"}],
                                   "ports": [{"port": 8080}]}]},
        "configmaps": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                       "data": {"key": "value"}},
        "secrets": {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
                    "stringData": {"password": "hunter2"}},
        "nodes": {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                  "spec": {"podCIDR": "10.244.9.0/24"}},
        "events": {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
                   "involvedObject": {"kind": "Pod", "name": "demo", "namespace": "default"},
                   "reason": "Testing", "message": "hello", "type": "Normal"},
        "serviceaccounts": {"apiVersion": "v1", "kind": "ServiceAccount",
                            "metadata": {"name": name}},
        "persistentvolumes": {"apiVersion": "v1", "kind": "PersistentVolume",
                              "metadata": {"name": name},
                              "spec": {"capacity": {"storage": "1Gi"},
                                       "accessModes": ["ReadWriteOnce"],
                                       "hostPath": {"path": "/tmp/pv-" + name}}},
        "persistentvolumeclaims": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                   "metadata": {"name": name},
                                   "spec": {"accessModes": ["ReadWriteOnce"],
                                            "resources": {"requests": {"storage": "1Gi"}}}},
        "resourcequotas": {"apiVersion": "v1", "kind": "ResourceQuota",
                           "metadata": {"name": name}, "spec": {"hard": {"pods": "10"}}},
        "limitranges": {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": name},
                        "spec": {"limits": [{"type": "Container",
                                             "default": {"cpu": "500m"}}]}},
        "podtemplates": {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": name},
                         "template": TEMPLATE},
        "replicationcontrollers": {"apiVersion": "v1", "kind": "ReplicationController",
                                   "metadata": {"name": name},
                                   "spec": {"replicas": 1, "selector": {"app": "demo"},
                                            "template": TEMPLATE}},
        "deployments.apps": {"apiVersion": "apps/v1", "kind": "Deployment",
                             "metadata": {"name": name},
                             "spec": {"replicas": 1, "selector": SELECTOR,
                                      "template": TEMPLATE}},
        "replicasets.apps": {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                             "metadata": {"name": name},
                             "spec": {"replicas": 1, "selector": SELECTOR,
                                      "template": TEMPLATE}},
        "statefulsets.apps": {"apiVersion": "apps/v1", "kind": "StatefulSet",
                              "metadata": {"name": name},
                              "spec": {"replicas": 1, "serviceName": name,
                                       "selector": SELECTOR, "template": TEMPLATE}},
        "daemonsets.apps": {"apiVersion": "apps/v1", "kind": "DaemonSet",
                            "metadata": {"name": name},
                            "spec": {"selector": SELECTOR, "template": TEMPLATE}},
        "controllerrevisions.apps": {"apiVersion": "apps/v1", "kind": "ControllerRevision",
                                     "metadata": {"name": name}, "revision": 1,
                                     "data": {"spec": {"template": TEMPLATE}}},
        "jobs.batch": {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
                       "spec": {"template": {"spec": dict(POD_SPEC, restartPolicy="Never")}}},
        "cronjobs.batch": {"apiVersion": "batch/v1", "kind": "CronJob",
                           "metadata": {"name": name},
                           "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {
                               "template": {"spec": dict(POD_SPEC, restartPolicy="OnFailure")}}}}},
        "horizontalpodautoscalers.autoscaling": {
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": "demo"},
                     "minReplicas": 1, "maxReplicas": 5,
                     "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {"type": "Utilization",
                                                   "averageUtilization": 70}}}]}},
        "ingresses.networking.k8s.io": {
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name},
            "spec": {"rules": [{"host": "demo.example.com", "http": {"paths": [{
                "path": "/", "pathType": "Prefix",
                "backend": {"service": {"name": "demo", "port": {"number": 80}}}}]}}]}},
        "ingressclasses.networking.k8s.io": {
            "apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
            "metadata": {"name": name}, "spec": {"controller": "example.com/ingress"}},
        "networkpolicies.networking.k8s.io": {
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name},
            "spec": {"podSelector": SELECTOR, "policyTypes": ["Ingress"]}},
        "poddisruptionbudgets.policy": {
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name},
            "spec": {"minAvailable": 1, "selector": SELECTOR}},
        "roles.rbac.authorization.k8s.io": {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": name},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]},
        "rolebindings.rbac.authorization.k8s.io": {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "default"}]},
        "clusterroles.rbac.authorization.k8s.io": {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name},
            "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]},
        "clusterrolebindings.rbac.authorization.k8s.io": {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": name},
            "subjects": [{"kind": "User", "name": "jane", "apiGroup": "rbac.authorization.k8s.io"}]},
        "storageclasses.storage.k8s.io": {
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": name}, "provisioner": "example.com/local"},
        "leases.coordination.k8s.io": {
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": name},
            "spec": {"holderIdentity": "me", "leaseDurationSeconds": 15}},
        "endpointslices.discovery.k8s.io": {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "labels": {"kubernetes.io/service-name": "demo"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.244.0.10"], "conditions": {"ready": True}}],
            "ports": [{"port": 8080, "protocol": "TCP"}]},
        "events.events.k8s.io": {
            "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": name},
            "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "example.com/c",
            "reportingInstance": "c-1", "action": "Testing", "reason": "Testing",
            "regarding": {"kind": "Pod", "name": "demo", "namespace": "default"},
            "note": "hello", "type": "Normal"},
        "priorityclasses.scheduling.k8s.io": {
            "apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": name}, "value": 1000},
        "runtimeclasses.node.k8s.io": {
            "apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": name},
            "handler": "crun"},
    }


SCALABLE = {"deployments.apps", "replicasets.apps", "statefulsets.apps",
            "replicationcontrollers"}
