"""Tables of the kinds that run pods: replication controllers, replica sets, deployments,
stateful sets, daemon sets, jobs, cron jobs, controller revisions and pod templates, plus
horizontal pod autoscalers and pod disruption budgets (kube-apiserver's printers).

Integer fields that are unset print as 0, as they do once upstream converts an object to its
internal form (``*int32`` nil becomes 0).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pilothouse.api.selectors import (
    LabelSelector,
    LabelSelectorError,
    format_label_selector,
    format_labels,
)
from pilothouse.api.tables.cells import (
    Obj,
    between,
    bool_pointer,
    containers_and_images,
    group_kind,
    pod_template_containers,
    quantity,
    since,
)
from pilothouse.api.tables.printer import (
    AGE,
    CONTAINERS,
    IMAGES,
    NAME,
    Cells,
    Column,
    Printer,
    column,
)


def _parts(obj: Obj) -> tuple[Obj, Obj, Obj]:
    return obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}


# --- ReplicationController, ReplicaSet -----------------------------------------------------


def _replication_controller_cells(rc: Obj, now: datetime) -> Cells:
    meta, spec, status = _parts(rc)
    names, images = pod_template_containers(spec.get("template"))
    return [
        meta.get("name", ""),
        spec.get("replicas") or 0,
        status.get("replicas") or 0,
        status.get("readyReplicas") or 0,
        since(meta.get("creationTimestamp"), now),
        names,
        images,
        format_labels(spec.get("selector")),
    ]


def _replica_set_cells(rs: Obj, now: datetime) -> Cells:
    meta, spec, status = _parts(rs)
    names, images = pod_template_containers(spec.get("template"))
    return [
        meta.get("name", ""),
        spec.get("replicas") or 0,
        status.get("replicas") or 0,
        status.get("readyReplicas") or 0,
        since(meta.get("creationTimestamp"), now),
        names,
        images,
        format_label_selector(spec.get("selector")),
    ]


def _replicas_columns(kind: str) -> tuple[Column, ...]:
    return (
        NAME,
        column("Desired", f"{kind}Spec.replicas", type="integer"),
        column("Current", f"{kind}Status.replicas", type="integer"),
        column("Ready", f"{kind}Status.readyReplicas", type="integer"),
        AGE,
        CONTAINERS,
        IMAGES,
        column("Selector", f"{kind}Spec.selector", wide=True),
    )


# --- Deployment, StatefulSet, DaemonSet ----------------------------------------------------

_READY_PODS = "Number of the pod with ready state"


def _deployment_cells(deployment: Obj, now: datetime) -> Cells:
    meta, spec, status = _parts(deployment)
    names, images = pod_template_containers(spec.get("template"))
    return [
        meta.get("name", ""),
        f"{status.get('readyReplicas') or 0}/{spec.get('replicas') or 0}",
        status.get("updatedReplicas") or 0,
        status.get("availableReplicas") or 0,
        since(meta.get("creationTimestamp"), now),
        names,
        images,
        _selector_string(spec.get("selector")),
    ]


def _selector_string(selector: Obj | None) -> str:
    """What printDeployment shows: the selector, "" when none, "<invalid>" when malformed."""
    try:
        return str(LabelSelector.from_object(selector))
    except LabelSelectorError:
        return "<invalid>"


def _stateful_set_cells(sts: Obj, now: datetime) -> Cells:
    meta, spec, status = _parts(sts)
    names, images = pod_template_containers(spec.get("template"))
    return [
        meta.get("name", ""),
        f"{status.get('readyReplicas') or 0}/{spec.get('replicas') or 0}",
        since(meta.get("creationTimestamp"), now),
        names,
        images,
    ]


def _daemon_set_cells(ds: Obj, now: datetime) -> Cells:
    meta, spec, status = _parts(ds)
    template = spec.get("template") or {}
    names, images = pod_template_containers(template)
    return [
        meta.get("name", ""),
        status.get("desiredNumberScheduled") or 0,
        status.get("currentNumberScheduled") or 0,
        status.get("numberReady") or 0,
        status.get("updatedNumberScheduled") or 0,
        status.get("numberAvailable") or 0,
        format_labels((template.get("spec") or {}).get("nodeSelector")),
        since(meta.get("creationTimestamp"), now),
        names,
        images,
        format_label_selector(spec.get("selector")),
    ]


# --- Job, CronJob --------------------------------------------------------------------------


def _job_condition(status: Obj, condition_type: str) -> bool:
    """``hasJobCondition``: whether the first condition of this type is True."""
    for condition in status.get("conditions") or ():
        if condition.get("type") == condition_type:
            return condition.get("status") == "True"
    return False


def _job_status(meta: Obj, status: Obj) -> str:
    if _job_condition(status, "Complete"):
        return "Complete"
    if _job_condition(status, "Failed"):
        return "Failed"
    if meta.get("deletionTimestamp"):
        return "Terminating"
    if _job_condition(status, "Suspended"):
        return "Suspended"
    if _job_condition(status, "FailureTarget"):
        return "FailureTarget"
    return "Running"


def _job_completions(spec: Obj, status: Obj) -> str:
    succeeded = status.get("succeeded") or 0
    if spec.get("completions") is not None:
        return f"{succeeded}/{spec['completions']}"
    parallelism = spec.get("parallelism") or 0
    if parallelism > 1:
        return f"{succeeded}/1 of {parallelism}"
    return f"{succeeded}/1"


def _job_duration(status: Obj, now: datetime) -> str:
    started = status.get("startTime")
    if not started:
        return ""
    finished = status.get("completionTime")
    return between(started, finished) if finished else since(started, now)


def _job_cells(job: Obj, now: datetime) -> Cells:
    meta, spec, status = _parts(job)
    names, images = pod_template_containers(spec.get("template"))
    return [
        meta.get("name", ""),
        _job_status(meta, status),
        _job_completions(spec, status),
        _job_duration(status, now),
        since(meta.get("creationTimestamp"), now),
        names,
        images,
        format_label_selector(spec.get("selector")),
    ]


def _cron_job_cells(cron_job: Obj, now: datetime) -> Cells:
    meta, spec, status = _parts(cron_job)
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    names, images = pod_template_containers(job_spec.get("template"))
    last_schedule = status.get("lastScheduleTime")
    return [
        meta.get("name", ""),
        spec.get("schedule", ""),
        spec.get("timeZone") if spec.get("timeZone") is not None else "<none>",
        bool_pointer(spec.get("suspend")),
        len(status.get("active") or ()),
        since(last_schedule, now) if last_schedule else "<none>",
        since(meta.get("creationTimestamp"), now),
        names,
        images,
        format_label_selector(job_spec.get("selector")),
    ]


# --- ControllerRevision, PodTemplate -------------------------------------------------------


def _controller_name(meta: Obj) -> str:
    """``formatResourceName`` of the controlling owner: ``kind.group/name`` in lower case."""
    for owner in meta.get("ownerReferences") or ():
        if owner.get("controller"):
            kind = group_kind(owner.get("apiVersion", ""), owner.get("kind", ""))
            name = owner.get("name", "")
            return f"{kind.lower()}/{name}" if kind else name
    return "<none>"


def _controller_revision_cells(revision: Obj, now: datetime) -> Cells:
    meta = revision.get("metadata") or {}
    return [
        meta.get("name", ""),
        _controller_name(meta),
        revision.get("revision") or 0,
        since(meta.get("creationTimestamp"), now),
    ]


def _pod_template_cells(pod_template: Obj, now: datetime) -> Cells:
    meta = pod_template.get("metadata") or {}
    template = pod_template.get("template") or {}
    names, images = containers_and_images((template.get("spec") or {}).get("containers"))
    return [
        meta.get("name", ""),
        names,
        images,
        format_labels((template.get("metadata") or {}).get("labels")),
    ]


# --- HorizontalPodAutoscaler ---------------------------------------------------------------


def _quantity_pointer(value: Any) -> str:
    """``(*Quantity).String()``, which prints a nil quantity as <nil>."""
    return "<nil>" if value is None else quantity(value)


def _current(status: Obj | None, source: str) -> Obj | None:
    """The ``current`` values of a metric status of the given source, if reported."""
    reported = (status or {}).get(source)
    return None if reported is None else reported.get("current") or {}


def _value_metric(source: Obj, current: Obj | None) -> str:
    """External and Object metrics: an average value marked "(avg)", else a value."""
    target = source.get("target") or {}
    if target.get("averageValue") is not None:
        now = "<unknown>"
        if current is not None and current.get("averageValue") is not None:
            now = quantity(current["averageValue"])
        return f"{now}/{quantity(target['averageValue'])} (avg)"
    now = "<unknown>" if current is None else _quantity_pointer(current.get("value"))
    return f"{now}/{_quantity_pointer(target.get('value'))}"


def _resource_metric(source: Obj, current: Obj | None) -> str:
    """Resource and ContainerResource metrics: "cpu: 50%/80%" or average values."""
    name = source.get("name", "")
    target = source.get("target") or {}
    if target.get("averageValue") is not None:
        now = "<unknown>" if current is None else _quantity_pointer(current.get("averageValue"))
        return f"{name}: {now}/{quantity(target['averageValue'])}"
    now = "<unknown>"
    if current is not None and current.get("averageUtilization") is not None:
        now = f"{current['averageUtilization']}%"
    wanted = target.get("averageUtilization")
    return f"{name}: {now}/{'<auto>' if wanted is None else f'{wanted}%'}"


def _format_metric(spec: Obj, status: Obj | None) -> str:
    kind = spec.get("type")
    if kind in ("External", "Object"):
        field = kind.lower()
        return _value_metric(spec.get(field) or {}, _current(status, field))
    if kind in ("Resource", "ContainerResource"):
        field = "resource" if kind == "Resource" else "containerResource"
        return _resource_metric(spec.get(field) or {}, _current(status, field))
    if kind == "Pods":
        current = _current(status, "pods")
        now = "<unknown>" if current is None else _quantity_pointer(current.get("averageValue"))
        wanted = ((spec.get("pods") or {}).get("target") or {}).get("averageValue")
        return f"{now}/{_quantity_pointer(wanted)}"
    return "<unknown type>"


def _hpa_targets(spec: Obj, status: Obj) -> str:
    """``formatHPAMetrics``: at most two metrics, then "+ N more..."."""
    metrics = spec.get("metrics") or []
    if not metrics:
        return "<none>"
    statuses = status.get("currentMetrics") or []
    shown = [
        _format_metric(metric, statuses[i] if i < len(statuses) else None)
        for i, metric in enumerate(metrics[:2])
    ]
    text = ", ".join(shown)
    if len(metrics) > 2:
        return f"{text} + {len(metrics) - 2} more..."
    return text


def _as_v2_hpa(hpa: Obj) -> tuple[Obj, Obj]:
    """The spec and status of an HPA in the autoscaling/v2 shape the printer reads; an
    autoscaling/v1 object's CPU fields become a Resource metric, as conversion makes them."""
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    if hpa.get("apiVersion") != "autoscaling/v1":
        return spec, status
    spec, status = dict(spec), dict(status)
    target = spec.pop("targetCPUUtilizationPercentage", None)
    if target is not None:
        spec["metrics"] = [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": target},
                },
            }
        ]
    current = status.pop("currentCPUUtilizationPercentage", None)
    if current is not None:
        status["currentMetrics"] = [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "current": {"averageUtilization": current}},
            }
        ]
    return spec, status


def _hpa_cells(hpa: Obj, now: datetime) -> Cells:
    meta = hpa.get("metadata") or {}
    spec, status = _as_v2_hpa(hpa)
    target = spec.get("scaleTargetRef") or {}
    min_replicas = spec.get("minReplicas")
    return [
        meta.get("name", ""),
        f"{target.get('kind', '')}/{target.get('name', '')}",
        _hpa_targets(spec, status),
        "<unset>" if min_replicas is None else str(min_replicas),
        spec.get("maxReplicas") or 0,
        status.get("currentReplicas") or 0,
        since(meta.get("creationTimestamp"), now),
    ]


# --- PodDisruptionBudget -------------------------------------------------------------------


def _pdb_cells(pdb: Obj, now: datetime) -> Cells:
    meta, spec, status = _parts(pdb)
    min_available = spec.get("minAvailable")
    max_unavailable = spec.get("maxUnavailable")
    return [
        meta.get("name", ""),
        "N/A" if min_available is None else str(min_available),
        "N/A" if max_unavailable is None else str(max_unavailable),
        status.get("disruptionsAllowed") or 0,
        since(meta.get("creationTimestamp"), now),
    ]


def _selector_column(field: str) -> Column:
    return column("Selector", field, wide=True)


PRINTERS = {
    ("", "ReplicationController"): Printer(
        _replicas_columns("ReplicationController"), _replication_controller_cells
    ),
    ("apps", "ReplicaSet"): Printer(_replicas_columns("ReplicaSet"), _replica_set_cells),
    ("apps", "Deployment"): Printer(
        (
            NAME,
            column("Ready", description=_READY_PODS),
            column("Up-to-date", "DeploymentStatus.updatedReplicas"),
            column("Available", "DeploymentStatus.availableReplicas"),
            AGE,
            CONTAINERS,
            IMAGES,
            _selector_column("DeploymentSpec.selector"),
        ),
        _deployment_cells,
    ),
    ("apps", "StatefulSet"): Printer(
        (NAME, column("Ready", description=_READY_PODS), AGE, CONTAINERS, IMAGES),
        _stateful_set_cells,
    ),
    ("apps", "DaemonSet"): Printer(
        (
            NAME,
            column("Desired", "DaemonSetStatus.desiredNumberScheduled", type="integer"),
            column("Current", "DaemonSetStatus.currentNumberScheduled", type="integer"),
            column("Ready", "DaemonSetStatus.numberReady", type="integer"),
            column("Up-to-date", "DaemonSetStatus.updatedNumberScheduled", type="integer"),
            column("Available", "DaemonSetStatus.numberAvailable", type="integer"),
            column("Node Selector", "PodSpec.nodeSelector"),
            AGE,
            CONTAINERS,
            IMAGES,
            _selector_column("DaemonSetSpec.selector"),
        ),
        _daemon_set_cells,
    ),
    ("apps", "ControllerRevision"): Printer(
        (
            NAME,
            column("Controller", description="Controller of the object"),
            column("Revision", "ControllerRevision.revision"),
            AGE,
        ),
        _controller_revision_cells,
    ),
    ("batch", "Job"): Printer(
        (
            NAME,
            column("Status", description="Status of the job."),
            column("Completions", "JobStatus.succeeded"),
            column("Duration", description="Time required to complete the job."),
            AGE,
            CONTAINERS,
            IMAGES,
            _selector_column("JobSpec.selector"),
        ),
        _job_cells,
    ),
    ("batch", "CronJob"): Printer(
        (
            NAME,
            column("Schedule", "CronJobSpec.schedule"),
            column("Timezone", "CronJobSpec.timeZone"),
            column("Suspend", "CronJobSpec.suspend", type="boolean"),
            column("Active", "CronJobStatus.active", type="integer"),
            column("Last Schedule", "CronJobStatus.lastScheduleTime"),
            AGE,
            CONTAINERS,
            IMAGES,
            _selector_column("JobSpec.selector"),
        ),
        _cron_job_cells,
    ),
    ("", "PodTemplate"): Printer(
        (
            NAME,
            column("Containers", description="Names of each container in the template."),
            column("Images", description="Images referenced by each container in the template."),
            column("Pod Labels", description="The labels for the pod template."),
        ),
        _pod_template_cells,
    ),
    ("autoscaling", "HorizontalPodAutoscaler"): Printer(
        (
            NAME,
            column("Reference", "HorizontalPodAutoscalerSpec.scaleTargetRef"),
            column("Targets", "HorizontalPodAutoscalerSpec.metrics"),
            column("MinPods", "HorizontalPodAutoscalerSpec.minReplicas"),
            column("MaxPods", "HorizontalPodAutoscalerSpec.maxReplicas"),
            column("Replicas", "HorizontalPodAutoscalerStatus.currentReplicas"),
            AGE,
        ),
        _hpa_cells,
    ),
    ("policy", "PodDisruptionBudget"): Printer(
        (
            NAME,
            column(
                "Min Available", description="The minimum number of pods that must be available."
            ),
            column(
                "Max Unavailable",
                description="The maximum number of pods that may be unavailable.",
            ),
            column(
                "Allowed Disruptions",
                type="integer",
                description="Calculated number of pods that may be disrupted at this time.",
            ),
            AGE,
        ),
        _pdb_cells,
    ),
}
