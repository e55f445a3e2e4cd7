"""The API server's side of pods/log, exec, attach and portforward: the kubelet locations it
builds, the checks it makes first, and how it reports a kubelet's refusals (kube-apiserver's
pkg/registry/core/pod and GenericHttpResponseChecker)."""

from __future__ import annotations

from typing import Any

import pytest
from multidict import MultiDict

from pilothouse.api import errors
from pilothouse.apiserver import nodeproxy


def _pod(*containers: str, init: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"nodeName": "n1", "containers": [{"name": c} for c in containers],
                 "initContainers": [{"name": c} for c in init]},
    }


def test_the_only_container_is_the_default() -> None:
    assert nodeproxy.validate_container(_pod("app"), "") == "app"
    assert nodeproxy.validate_container(_pod("app", init=("setup",)), "setup") == "setup"


@pytest.mark.parametrize(
    ("pod", "container", "message"),
    [
        (_pod("a", "b", init=("i",)), "", "a container name must be specified for pod web, choose one of: [i a b]"),
        (_pod(), "", "a container name must be specified for pod web"),
        (_pod("a"), "z", "container z is not valid for pod web"),
    ],
)
def test_container_errors(pod: dict[str, Any], container: str, message: str) -> None:
    with pytest.raises(errors.BadRequest, match=message.replace("[", r"\[").replace("]", r"\]")):
        nodeproxy.validate_container(pod, container)


def test_log_location() -> None:
    query = MultiDict({"container": "app", "follow": "true", "tailLines": "10", "timestamps": "1",
                       "sinceTime": "2024-05-01T12:00:00+02:00", "previous": "false"})

    location = nodeproxy.log_location(_pod("app", "side"), query)

    assert location.target == (
        "/containerLogs/shop/web/app?follow=true&timestamps=true&sinceTime=2024-05-01T10%3A00%3A00Z&tailLines=10"
    )


def test_log_options_are_validated() -> None:
    query = MultiDict({"tailLines": "-1", "limitBytes": "0", "sinceSeconds": "3", "sinceTime": "2024-01-01T00:00:00Z"})

    with pytest.raises(errors.Invalid) as invalid:
        nodeproxy.log_location(_pod("app"), query)
    with pytest.raises(errors.BadRequest):
        nodeproxy.log_location(_pod("app"), MultiDict({"tailLines": "ten"}))

    assert invalid.value.message == (
        'PodLogOptions "web" is invalid: [tailLines: Invalid value: -1: must be greater than or equal to 0, '
        "limitBytes: Invalid value: 0: must be greater than 0, "
        ": Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified]"
    )


def test_exec_and_attach_locations() -> None:
    query = MultiDict([("command", "sh"), ("command", "-c"), ("command", "echo a b"), ("stdin", "true"),
                       ("stdout", "true"), ("stderr", "false"), ("tty", "")])

    exec_location = nodeproxy.stream_location(_pod("app"), query, "exec")
    attach_location = nodeproxy.stream_location(_pod("app"), query, "attach")

    assert exec_location.target == "/exec/shop/web/app?stdin=1&stdout=1&tty=1&command=sh&command=-c&command=echo+a+b"
    assert attach_location.target == "/attach/shop/web/app?stdin=1&stdout=1&tty=1"


def test_port_forward_location() -> None:
    query = MultiDict([("ports", "80,8080"), ("ports", "9090")])

    assert nodeproxy.port_forward_location(_pod("app"), query).target == "/portForward/shop/web?port=80%2C8080%2C9090"
    assert nodeproxy.port_forward_location(_pod("app"), MultiDict()).target == "/portForward/shop/web"


@pytest.mark.parametrize(
    ("status", "body", "code", "reason", "message"),
    [
        (400, 'container "app" in pod "web" is waiting to start: ContainerCreating', 400, "BadRequest",
         'container "app" in pod "web" is waiting to start: ContainerCreating'),
        (500, "disk on fire", 500, "InternalError", "Internal error occurred: disk on fire"),
        (404, "pod does not exist", 404, "NotFound", "the server could not find the requested resource ( pods/log web)"),
        (403, "Forbidden (user=x)", 403, "Forbidden", "Forbidden (user=x) ( pods/log web)"),
        (418, "teapot", 418, "", "the server responded with the status code 418 but did not return more information ( pods/log web)"),
    ],
)
def test_kubelet_refusals_of_logs(status: int, body: str, code: int, reason: str, message: str) -> None:
    error = nodeproxy.kubelet_log_error(status, body, "web")

    assert (error.code, error.reason, error.message) == (code, reason, message)
