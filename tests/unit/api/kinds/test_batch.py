"""Jobs, CronJobs and cron schedules."""

import copy
from datetime import datetime

import pytest

from pilothouse.api.kinds import strategy_for
from pilothouse.api.kinds.cron import CronError, parse_schedule

from .flow import create, created, update

POD_SPEC = {"containers": [{"name": "c", "image": "busybox:1"}], "restartPolicy": "Never"}


def job(**spec):
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "pi", "namespace": "default", "uid": "u-1"},
        "spec": {"template": {"spec": copy.deepcopy(POD_SPEC)}, **spec},
    }


def cron_job(**spec):
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "nightly", "namespace": "default"},
        "spec": {
            "schedule": "*/5 * * * *",
            "jobTemplate": {"spec": {"template": {"spec": copy.deepcopy(POD_SPEC)}}},
            **spec,
        },
    }


def test_job_defaults_and_generated_selector():
    obj, errors = create("batch", job())
    assert errors == []
    spec = obj["spec"]
    assert {
        k: spec[k]
        for k in (
            "completions",
            "parallelism",
            "backoffLimit",
            "completionMode",
            "suspend",
            "podReplacementPolicy",
            "manualSelector",
        )
    } == {
        "completions": 1,
        "parallelism": 1,
        "backoffLimit": 6,
        "completionMode": "NonIndexed",
        "suspend": False,
        "podReplacementPolicy": "TerminatingOrFailed",
        "manualSelector": False,
    }
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}}
    assert spec["template"]["metadata"]["labels"] == {
        "job-name": "pi",
        "batch.kubernetes.io/job-name": "pi",
        "controller-uid": "u-1",
        "batch.kubernetes.io/controller-uid": "u-1",
    }
    assert obj["metadata"]["labels"] == spec["template"]["metadata"]["labels"]
    assert obj["metadata"]["generation"] == 1


def test_parallelism_alone_leaves_completions_unset():
    obj, _ = create("batch", job(parallelism=3))
    assert "completions" not in obj["spec"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"template": {"spec": {**POD_SPEC, "restartPolicy": "Always"}}},
            [
                'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"'
            ],
        ),
        (
            {"backoffLimit": -1},
            ["spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0"],
        ),
        (
            {"completionMode": "Indexed", "parallelism": 2},
            ["spec.completions: Required value: when completion mode is Indexed"],
        ),
        (
            {"completionMode": "Sometimes"},
            [
                'spec.completionMode: Unsupported value: "Sometimes": supported values: "NonIndexed", "Indexed"'
            ],
        ),
    ],
    ids=[
        "restart-always",
        "negative-backoff",
        "indexed-without-completions",
        "bad-completion-mode",
    ],
)
def test_job_validation(spec, expected):
    _, errors = create("batch", job(**spec))
    assert errors == expected


def test_manual_selector_must_match_the_template():
    obj = job(manualSelector=True, selector={"matchLabels": {"a": "b"}})
    _, errors = create("batch", obj, raw=True)
    assert errors == [
        (
            "spec.template.metadata.labels",
            "Invalid value",
            "`selector` does not match template `labels`",
        )
    ]


def test_job_template_is_immutable():
    old = created("batch", job())
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:2"
    _, errors = update("batch", new, old, raw=True)
    assert errors == [("spec.template", "Invalid value", "field is immutable")]


def test_suspended_unstarted_job_may_change_scheduling_directives():
    old = created("batch", job(suspend=True))
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["nodeSelector"] = {"zone": "a"}
    assert update("batch", new, old)[1] == []


def test_job_selector_is_immutable():
    old = created("batch", job())
    new = copy.deepcopy(old)
    new["spec"]["selector"]["matchLabels"]["x"] = "y"
    new["spec"]["template"]["metadata"]["labels"]["x"] = "y"
    _, errors = update("batch", new, old, raw=True)
    assert ("spec.selector", "Invalid value", "field is immutable") in errors


def test_job_field_labels():
    obj = created("batch", job())
    obj["status"] = {"succeeded": 2}
    assert strategy_for("batch", "Job").field_labels(obj) == {"status.successful": "2"}


def test_cron_job_defaults():
    obj, errors = create("batch", cron_job())
    assert errors == []
    assert {
        k: obj["spec"][k]
        for k in (
            "concurrencyPolicy",
            "suspend",
            "successfulJobsHistoryLimit",
            "failedJobsHistoryLimit",
        )
    } == {
        "concurrencyPolicy": "Allow",
        "suspend": False,
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 1,
    }
    assert obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"] == "ClusterFirst"
    assert "backoffLimit" not in obj["spec"]["jobTemplate"]["spec"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"schedule": "* * *"},
            ['spec.schedule: Invalid value: "* * *": expected exactly 5 fields, found 3: [* * *]'],
        ),
        (
            {"schedule": "61 * * * *"},
            [
                'spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61'
            ],
        ),
        (
            {"schedule": "x * * * *"},
            [
                'spec.schedule: Invalid value: "x * * * *": failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'
            ],
        ),
        (
            {"schedule": "@fortnightly"},
            ['spec.schedule: Invalid value: "@fortnightly": unrecognized descriptor: @fortnightly'],
        ),
        (
            {"schedule": "TZ=UTC 0 * * * *"},
            [
                'spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead'
            ],
        ),
        (
            {"timeZone": "Mars/Olympus"},
            ['spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus'],
        ),
        (
            {"concurrencyPolicy": "Sometimes"},
            [
                'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"'
            ],
        ),
        (
            {"jobTemplate": {"spec": {"backoffLimit": -1, "template": {"spec": POD_SPEC}}}},
            [
                "spec.jobTemplate.spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0"
            ],
        ),
    ],
    ids=[
        "fields",
        "range",
        "not-a-number",
        "descriptor",
        "tz-in-schedule",
        "time-zone",
        "concurrency",
        "job-template",
    ],
)
def test_cron_job_validation(spec, expected):
    _, errors = create("batch", cron_job(**spec))
    assert errors == expected


def test_cron_job_name_length():
    obj = cron_job()
    obj["metadata"]["name"] = "a" * 53
    _, errors = create("batch", obj)
    assert errors == [
        f'metadata.name: Invalid value: "{"a" * 53}": must be no more than 52 characters'
    ]


class TestCron:
    def test_steps_ranges_and_names(self):
        schedule = parse_schedule("*/15 9-17 * JAN-mar mon,fri")
        assert schedule.minutes == {0, 15, 30, 45}
        assert schedule.hours == set(range(9, 18))
        assert schedule.months == {1, 2, 3}
        assert schedule.days_of_week == {1, 5}

    def test_matching_uses_or_for_restricted_days(self):
        schedule = parse_schedule("0 0 1 * 1")
        assert schedule.matches(datetime(2024, 7, 1))  # the 1st, a Monday
        assert schedule.matches(datetime(2024, 7, 8))  # a Monday
        assert not schedule.matches(datetime(2024, 7, 9))

    def test_descriptors(self):
        assert parse_schedule("@hourly").minutes == {0}
        assert parse_schedule("@every 1h30m").every_seconds == 5400

    @pytest.mark.parametrize(
        ("spec", "message"),
        [
            ("", "empty spec string"),
            ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
            ("*/0 * * * *", "step of range should be a positive number: */0"),
            ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
            ("* * * * 7", "end of range (7) above maximum (6): 7"),
        ],
        ids=["empty", "backwards", "zero-step", "hyphens", "sunday-7"],
    )
    def test_errors(self, spec, message):
        with pytest.raises(CronError) as err:
            parse_schedule(spec)
        assert str(err.value) == message
