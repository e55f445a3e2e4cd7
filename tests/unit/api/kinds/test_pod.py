"""Pods and PodTemplates: defaults, create-time admission, validation, update rules."""

import copy

import pytest

from pilothouse.api.kinds import strategy_for
from pilothouse.api.kinds.containers import image_tag
from pilothouse.api.kinds.pod import pod_qos_class

from .flow import create, created, update


def pod(**spec):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}], **spec},
    }


def test_defaults_and_admission():
    obj, errors = create("", pod())
    assert errors == []
    spec = obj["spec"]
    assert spec["containers"][0] == {
        "name": "c",
        "image": "nginx:1.27",
        "imagePullPolicy": "IfNotPresent",
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }
    assert {
        k: spec[k]
        for k in (
            "restartPolicy",
            "dnsPolicy",
            "schedulerName",
            "terminationGracePeriodSeconds",
            "securityContext",
            "enableServiceLinks",
            "serviceAccountName",
            "serviceAccount",
            "priority",
            "preemptionPolicy",
        )
    } == {
        "restartPolicy": "Always",
        "dnsPolicy": "ClusterFirst",
        "schedulerName": "default-scheduler",
        "terminationGracePeriodSeconds": 30,
        "securityContext": {},
        "enableServiceLinks": True,
        "serviceAccountName": "default",
        "serviceAccount": "default",
        "priority": 0,
        "preemptionPolicy": "PreemptLowerPriority",
    }
    assert spec["tolerations"] == [
        {
            "key": "node.kubernetes.io/not-ready",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        },
        {
            "key": "node.kubernetes.io/unreachable",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        },
    ]
    assert obj["status"] == {"phase": "Pending", "qosClass": "BestEffort"}
    assert obj["metadata"]["generation"] == 1


def test_own_no_execute_toleration_replaces_the_defaults():
    obj, _ = create("", pod(tolerations=[{"operator": "Exists"}]))
    assert obj["spec"]["tolerations"] == [{"operator": "Exists"}]


def test_system_priority_class_resolves():
    obj, _ = create("", pod(priorityClassName="system-node-critical"))
    assert obj["spec"]["priority"] == 2000001000


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.2", "IfNotPresent"),
        ("localhost:5000/app", "Always"),
        ("registry.io:5000/team/app:v1", "IfNotPresent"),
        ("nginx@sha256:" + "a" * 64, "IfNotPresent"),
        ("nginx:latest@sha256:" + "a" * 64, "Always"),
        ("Nginx", "IfNotPresent"),
    ],
    ids=[
        "no-tag",
        "latest",
        "tag",
        "registry-no-tag",
        "registry-tag",
        "digest",
        "latest-digest",
        "invalid",
    ],
)
def test_image_pull_policy(image, policy):
    obj, _ = create("", pod(containers=[{"name": "c", "image": image}]))
    assert obj["spec"]["containers"][0]["imagePullPolicy"] == policy


def test_image_tag():
    assert image_tag("busybox") == "latest"


def test_volume_probe_and_resource_defaults():
    obj, errors = create(
        "",
        pod(
            containers=[
                {
                    "name": "c",
                    "image": "x:1",
                    "ports": [{"containerPort": 80}],
                    "resources": {"limits": {"cpu": "0.5", "memory": "1Gi"}},
                    "readinessProbe": {"httpGet": {"port": 80}},
                    "env": [
                        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}
                    ],
                }
            ],
            volumes=[
                {"name": "scratch"},
                {"name": "cfg", "configMap": {"name": "cfg"}},
                {"name": "h", "hostPath": {"path": "/tmp"}},
                {
                    "name": "p",
                    "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]},
                },
            ],
        ),
    )
    assert errors == []
    container = obj["spec"]["containers"][0]
    assert container["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert container["resources"] == {
        "limits": {"cpu": "500m", "memory": "1Gi"},
        "requests": {"cpu": "500m", "memory": "1Gi"},
    }
    assert container["readinessProbe"] == {
        "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert container["env"][0]["valueFrom"]["fieldRef"]["apiVersion"] == "v1"
    volumes = {v["name"]: v for v in obj["spec"]["volumes"]}
    assert volumes["scratch"] == {"name": "scratch", "emptyDir": {}}
    assert volumes["cfg"]["configMap"]["defaultMode"] == 420
    assert volumes["h"]["hostPath"]["type"] == ""
    assert volumes["p"]["projected"] == {
        "defaultMode": 420,
        "sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}}],
    }
    assert obj["status"]["qosClass"] == "Guaranteed"


@pytest.mark.parametrize(
    ("spec", "qos"),
    [
        ({"containers": [{"resources": {}}]}, "BestEffort"),
        ({"containers": [{"resources": {"requests": {"cpu": "1"}}}]}, "Burstable"),
        ({"containers": [{"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}, "Guaranteed"),
        (
            {
                "containers": [
                    {
                        "resources": {
                            "limits": {"cpu": "1", "memory": "1Gi"},
                            "requests": {"cpu": "500m"},
                        }
                    }
                ]
            },
            "Burstable",
        ),
    ],
    ids=["best-effort", "burstable", "guaranteed", "requests-below-limits"],
)
def test_qos_class(spec, qos):
    assert pod_qos_class(spec) == qos


def test_host_network_defaults_host_ports():
    obj, errors = create(
        "",
        pod(
            hostNetwork=True,
            containers=[{"name": "c", "image": "x:1", "ports": [{"containerPort": 8080}]}],
        ),
    )
    assert errors == []
    assert obj["spec"]["containers"][0]["ports"][0]["hostPort"] == 8080


def test_scheduling_gates_add_a_condition():
    obj, _ = create("", pod(schedulingGates=[{"name": "example.com/wait"}]))
    assert obj["status"]["conditions"][0]["reason"] == "SchedulingGated"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"containers": []}, ["spec.containers: Required value"]),
        ({"containers": [{"name": "c"}]}, ["spec.containers[0].image: Required value"]),
        (
            {"containers": [{"name": "c", "image": "x:1"}, {"name": "c", "image": "y:1"}]},
            ['spec.containers[1].name: Duplicate value: "c"'],
        ),
        (
            {"restartPolicy": "Sometimes"},
            [
                'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'
            ],
        ),
        (
            {"containers": [{"name": "c", "image": "x:1", "ports": [{"containerPort": 70000}]}]},
            [
                "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"
            ],
        ),
        (
            {
                "containers": [
                    {
                        "name": "c",
                        "image": "x:1",
                        "ports": [
                            {"name": "h", "containerPort": 1},
                            {"name": "h", "containerPort": 2},
                        ],
                    }
                ]
            },
            ['spec.containers[0].ports[1].name: Duplicate value: "h"'],
        ),
        (
            {
                "containers": [
                    {
                        "name": "c",
                        "image": "x:1",
                        "livenessProbe": {"exec": {"command": ["true"]}, "tcpSocket": {"port": 80}},
                    }
                ]
            },
            [
                "spec.containers[0].livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type"
            ],
        ),
        (
            {"containers": [{"name": "c", "image": "x:1", "livenessProbe": {"periodSeconds": 5}}]},
            ["spec.containers[0].livenessProbe: Required value: must specify a handler type"],
        ),
        (
            {
                "containers": [
                    {
                        "name": "c",
                        "image": "x:1",
                        "readinessProbe": {"exec": {"command": ["true"]}, "successThreshold": 2},
                        "livenessProbe": {"exec": {"command": ["true"]}, "successThreshold": 2},
                    }
                ]
            },
            ["spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"],
        ),
        (
            {
                "containers": [
                    {
                        "name": "c",
                        "image": "x:1",
                        "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "2"}},
                    }
                ]
            },
            [
                'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1'
            ],
        ),
        (
            {
                "containers": [
                    {"name": "c", "image": "x:1", "resources": {"requests": {"gpu": "1"}}}
                ]
            },
            [
                'spec.containers[0].resources.requests[gpu]: Invalid value: "gpu": must be a standard resource type or '
                "fully qualified",
                'spec.containers[0].resources.requests[gpu]: Invalid value: "gpu": must be a standard resource for containers',
            ],
        ),
        (
            {
                "containers": [
                    {
                        "name": "c",
                        "image": "x:1",
                        "resources": {"requests": {"example.com/dongle": "1"}},
                    }
                ]
            },
            [
                "spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources"
            ],
        ),
        (
            {
                "containers": [
                    {
                        "name": "c",
                        "image": "x:1",
                        "volumeMounts": [{"name": "missing", "mountPath": "/m"}],
                    }
                ]
            },
            ['spec.containers[0].volumeMounts[0].name: Not found: "missing"'],
        ),
        (
            {"volumes": [{"name": "v", "emptyDir": {}, "hostPath": {"path": "/x"}}]},
            ["spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type"],
        ),
        (
            {"volumes": [{"name": "v", "secret": {}}]},
            ["spec.volumes[0].secret.secretName: Required value"],
        ),
        (
            {"volumes": [{"name": "v"}, {"name": "v"}]},
            ['spec.volumes[1].name: Duplicate value: "v"'],
        ),
        (
            {"containers": [{"name": "c", "image": " x "}]},
            [
                'spec.containers[0].image: Invalid value: " x ": must not have leading or trailing whitespace'
            ],
        ),
        (
            {"ephemeralContainers": [{"name": "debug", "image": "busybox:1"}]},
            ["spec.ephemeralContainers: Forbidden: cannot be set on create"],
        ),
        (
            {"dnsPolicy": "None"},
            ["spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"],
        ),
        (
            {"tolerations": [{"key": "", "operator": "Equal", "value": "x"}]},
            [
                'spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when `key` is '
                'empty, which means "match all values and all keys"'
            ],
        ),
        (
            {
                "containers": [
                    {
                        "name": "c",
                        "image": "x:1",
                        "env": [
                            {"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "spec.bogus"}}}
                        ],
                    }
                ]
            },
            [
                'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Invalid value: "spec.bogus": error '
                "converting fieldPath: field label not supported: spec.bogus"
            ],
        ),
        (
            {"activeDeadlineSeconds": 0},
            [
                "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"
            ],
        ),
    ],
    ids=[
        "no-containers",
        "no-image",
        "duplicate-container",
        "restart-policy",
        "port-range",
        "duplicate-port",
        "two-handlers",
        "no-handler",
        "liveness-threshold",
        "requests-over-limits",
        "unknown-resource",
        "extended-resource-needs-limit",
        "unknown-volume",
        "two-volume-types",
        "secret-name",
        "duplicate-volume",
        "image-whitespace",
        "ephemeral-on-create",
        "dns-none",
        "toleration-operator",
        "field-ref",
        "deadline",
    ],
)
def test_validation_errors(spec, expected):
    _, errors = create("", pod(**spec))
    assert errors == expected


def test_bad_name_reports_metadata_first():
    obj = pod(containers=[])
    obj["metadata"]["name"] = "Web"
    _, errors = create("", obj)
    assert errors[0].startswith(
        'metadata.name: Invalid value: "Web": a lowercase RFC 1123 subdomain'
    )
    assert errors[1] == "spec.containers: Required value"


class TestUpdate:
    def test_image_may_change_and_generation_bumps(self):
        old = created("", pod())
        new = copy.deepcopy(old)
        new["spec"]["containers"][0]["image"] = "nginx:1.28"
        result, errors = update("", new, old)
        assert errors == []
        assert result["metadata"]["generation"] == 2

    def test_label_change_keeps_generation(self):
        old = created("", pod())
        new = copy.deepcopy(old)
        new["metadata"]["labels"] = {"a": "b"}
        result, errors = update("", new, old)
        assert errors == []
        assert result["metadata"]["generation"] == 1

    def test_other_spec_fields_are_immutable(self):
        old = created("", pod())
        new = copy.deepcopy(old)
        new["spec"]["restartPolicy"] = "Never"
        _, errors = update("", new, old)
        assert len(errors) == 1
        assert errors[0].startswith(
            "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
            "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions "
            "to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it "
            "was previously negative)\n"
        )

    def test_containers_cannot_be_added(self):
        old = created("", pod())
        new = copy.deepcopy(old)
        new["spec"]["containers"].append({"name": "d", "image": "x:1"})
        _, errors = update("", new, old)
        assert "spec.containers: Forbidden: pod updates may not add or remove containers" in errors

    def test_tolerations_may_only_be_added(self):
        old = created("", pod())
        new = copy.deepcopy(old)
        new["spec"]["tolerations"] = new["spec"]["tolerations"][:1]
        _, errors = update("", new, old)
        assert errors == [
            "spec.tolerations: Forbidden: existing toleration can not be modified except its "
            "tolerationSeconds"
        ]

    def test_active_deadline_may_only_shrink(self):
        old = created("", pod(activeDeadlineSeconds=100))
        new = copy.deepcopy(old)
        new["spec"]["activeDeadlineSeconds"] = 200
        _, errors = update("", new, old)
        assert errors == [
            "spec.activeDeadlineSeconds: Invalid value: 200: must be less than or equal to previous value"
        ]

    def test_status_is_kept_on_main_endpoint(self):
        old = created("", pod())
        new = copy.deepcopy(old)
        new["status"] = {"phase": "Running"}
        result, _ = update("", new, old)
        assert result["status"]["phase"] == "Pending"


class TestStatus:
    def test_status_update_keeps_spec(self):
        strategy = strategy_for("", "Pod")
        old = created("", pod())
        new = copy.deepcopy(old)
        new["spec"]["nodeName"] = "sneaky"
        new["status"] = {
            "phase": "Running",
            "podIP": "10.244.0.5",
            "podIPs": [{"ip": "10.244.0.5"}],
        }
        strategy.prepare_for_status_update(new, old)
        assert "nodeName" not in new["spec"]
        assert new["status"]["qosClass"] == "BestEffort"
        assert [e.message() for e in strategy.validate_status_update(new, old)] == []

    def test_terminated_containers_stay_terminated_when_never_restarting(self):
        strategy = strategy_for("", "Pod")
        old = created("", pod(restartPolicy="Never"))
        old["status"]["containerStatuses"] = [
            {"name": "c", "state": {"terminated": {"exitCode": 0}}}
        ]
        new = copy.deepcopy(old)
        new["status"]["containerStatuses"] = [{"name": "c", "state": {"running": {}}}]
        assert [e.message() for e in strategy.validate_status_update(new, old)] == [
            "status.containerStatuses[0].state: Forbidden: may not be transitioned to non-terminated state"
        ]

    def test_bad_pod_ip(self):
        strategy = strategy_for("", "Pod")
        old = created("", pod())
        new = copy.deepcopy(old)
        new["status"]["podIPs"] = [{"ip": "300.1.1.1"}]
        assert [e.message() for e in strategy.validate_status_update(new, old)] == [
            'status.podIPs[0]: Invalid value: "300.1.1.1": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'
        ]


def test_field_labels():
    obj = created("", pod(nodeName="node-1", hostNetwork=True))
    obj["status"]["podIPs"] = [{"ip": "10.0.0.2"}]
    assert strategy_for("", "Pod").field_labels(obj) == {
        "spec.nodeName": "node-1",
        "spec.restartPolicy": "Always",
        "spec.schedulerName": "default-scheduler",
        "spec.serviceAccountName": "default",
        "spec.hostNetwork": "true",
        "status.phase": "Pending",
        "status.podIP": "10.0.0.2",
        "status.nominatedNodeName": "",
    }


class TestPodTemplate:
    def test_defaults_template_and_validates(self):
        template = {
            "apiVersion": "v1",
            "kind": "PodTemplate",
            "metadata": {"name": "t", "namespace": "d"},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "x"}]},
            },
        }
        obj, errors = create("", template)
        assert errors == []
        assert obj["template"]["spec"]["restartPolicy"] == "Always"
        assert "serviceAccountName" not in obj["template"]["spec"]

    def test_template_errors(self):
        template = {
            "apiVersion": "v1",
            "kind": "PodTemplate",
            "metadata": {"name": "t", "namespace": "d"},
            "template": {
                "spec": {
                    "containers": [{"name": "c", "image": "x"}],
                    "ephemeralContainers": [{"name": "e", "image": "x"}],
                }
            },
        }
        _, errors = create("", template)
        assert errors == [
            "template.spec.ephemeralContainers: Forbidden: ephemeral containers not allowed in pod template"
        ]
