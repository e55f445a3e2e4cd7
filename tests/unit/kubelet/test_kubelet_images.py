"""Images: pull policies and their events, pull back-off, pull secrets, names; back-off."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from kubelet_builders import container, pod
from kubelet_fakes import RecordedEvents

from pilothouse.kubelet.backoff import Backoff
from pilothouse.kubelet.errors import StartError
from pilothouse.kubelet.imagecredentials import credentials_for, split_image
from pilothouse.kubelet.images import ImagePuller, go_duration, normalized_image_name, should_pull
from pilothouse.runtime.fake import FakeRuntime
from pilothouse.runtime.images.errors import RegistryError
from pilothouse.runtime.interface import AuthConfig

Obj = dict[str, Any]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def failing_pulls(image: str, count: int) -> FakeRuntime:
    runtime = FakeRuntime()
    for _ in range(count):
        runtime.fail_next("pull_image", RegistryError(f"cannot reach registry for {image}"))
    return runtime


def pull_auths(runtime: FakeRuntime) -> list[AuthConfig | None]:
    return [args["auth"] for name, args in runtime.calls if name == "pull_image"]


@pytest.mark.parametrize(
    ("policy", "present", "pull"),
    [("Always", True, True), ("Always", False, True), ("IfNotPresent", True, False), ("IfNotPresent", False, True),
     ("Never", True, False), ("Never", False, False)],
)
def test_pull_policy(policy: str, present: bool, pull: bool) -> None:
    assert should_pull(policy, present) is pull


async def test_pull_then_present() -> None:
    runtime = FakeRuntime()
    events = RecordedEvents()
    puller = ImagePuller(runtime, events=events, backoff=Backoff(10, 300))
    c = container("app", image="nginx:1", imagePullPolicy="IfNotPresent")
    assert await puller.ensure_image(pod(c), c, []) == "nginx:1"
    assert events.reasons() == ["Pulling", "Pulled"]
    assert events.messages("Pulled")[0].startswith('Successfully pulled image "nginx:1" in ')
    assert events.messages("Pulled")[0].endswith("Image size: 1024 bytes.")
    await puller.ensure_image(pod(c), c, [])
    assert events.messages("Pulled")[-1] == 'Container image "nginx:1" already present on machine'


async def test_never_pull() -> None:
    events = RecordedEvents()
    puller = ImagePuller(FakeRuntime(), events=events, backoff=Backoff(10, 300))
    c = container("app", image="absent:1", imagePullPolicy="Never")
    with pytest.raises(StartError) as raised:
        await puller.ensure_image(pod(c), c, [])
    assert raised.value.reason == "ErrImageNeverPull"
    assert raised.value.message == 'Container image "absent:1" is not present with pull policy of Never'
    assert events.reasons() == ["ErrImageNeverPull"]


async def test_failed_pulls_back_off() -> None:
    clock = Clock()
    runtime = failing_pulls("registry.example/app:1", 2)
    events = RecordedEvents()
    puller = ImagePuller(runtime, events=events, backoff=Backoff(10, 300, clock=clock), clock=clock)
    c = container("app", image="registry.example/app:1", imagePullPolicy="Always")
    with pytest.raises(StartError) as first:
        await puller.ensure_image(pod(c), c, [])
    assert (first.value.reason, first.value.message) == ("ErrImagePull", "cannot reach registry for registry.example/app:1")
    clock.now += 5
    with pytest.raises(StartError) as second:
        await puller.ensure_image(pod(c), c, [])
    assert second.value.reason == "ImagePullBackOff"
    assert second.value.message == 'Back-off pulling image "registry.example/app:1"'
    assert second.value.retry_after == pytest.approx(5)
    clock.now += 5
    with pytest.raises(StartError):
        await puller.ensure_image(pod(c), c, [])  # pulls again, fails, now 20 s
    clock.now += 15
    with pytest.raises(StartError) as fourth:
        await puller.ensure_image(pod(c), c, [])
    assert fourth.value.reason == "ImagePullBackOff"
    clock.now += 5
    await puller.ensure_image(pod(c), c, [])
    assert events.messages("Failed") == ['Failed to pull image "registry.example/app:1": cannot reach registry for registry.example/app:1'] * 2


async def test_credentials_are_tried_in_turn() -> None:
    runtime = failing_pulls("registry.example/app:1", 1)
    puller = ImagePuller(runtime, events=RecordedEvents(), backoff=Backoff(10, 300))
    c = container("app", image="registry.example/app:1", imagePullPolicy="Always")
    first, second = AuthConfig(username="a"), AuthConfig(username="b")
    await puller.ensure_image(pod(c), c, [first, second])
    assert pull_auths(runtime) == [first, second]


def docker_secret(auths: Obj) -> Obj:
    data = base64.b64encode(orjson.dumps({"auths": auths})).decode()
    return {"type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": data}}


def test_pull_secrets_match_the_registry() -> None:
    basic = base64.b64encode(b"user:pass").decode()
    secrets = [
        docker_secret({"https://index.docker.io/v1/": {"auth": basic}}),
        docker_secret({"registry.example:5000": {"username": "u", "password": "p"},
                       "registry.example:5000/team": {"username": "team", "password": "t"}}),
    ]
    hub = credentials_for("busybox", secrets)
    assert [(a.username, a.password) for a in hub] == [("user", "pass")]
    team = credentials_for("registry.example:5000/team/app:1", secrets)
    assert [a.username for a in team] == ["team", "u"]
    assert [a.username for a in credentials_for("registry.example:5000/other/app", secrets)] == ["u"]
    assert credentials_for("elsewhere.example/app", secrets) == []


@pytest.mark.parametrize(
    ("reference", "registry", "path"),
    [("busybox", "docker.io", "library/busybox"), ("user/app:1", "docker.io", "user/app"),
     ("localhost:5000/app", "localhost:5000", "app"), ("r.example/a/b@sha256:ab", "r.example", "a/b")],
)
def test_split_image(reference: str, registry: str, path: str) -> None:
    assert split_image(reference) == (registry, path)


@pytest.mark.parametrize(
    ("reference", "name"),
    [("busybox", "docker.io/library/busybox:latest"), ("nginx:1.25", "docker.io/library/nginx:1.25"),
     ("127.0.0.1:5000/app", "127.0.0.1:5000/app:latest"), ("r.example/a@sha256:ab", "r.example/a@sha256:ab"),
     ("sha256:abc", "sha256:abc")],
)
def test_normalized_image_names(reference: str, name: str) -> None:
    assert normalized_image_name(reference) == name


@pytest.mark.parametrize(("seconds", "text"), [(0.5, "500ms"), (10, "10s"), (1.2345, "1.234s"), (80, "1m20s"), (300, "5m0s")])
def test_go_durations(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


def test_backoff_doubles_and_resets() -> None:
    clock = Clock()
    backoff = Backoff(10, 40, clock=clock)
    assert not backoff.in_backoff_since("k", clock.now)
    backoff.next("k", clock.now)
    assert backoff.delay("k") == 10
    assert backoff.remaining_since("k", clock.now) == 10
    clock.now += 10
    assert not backoff.in_backoff_since("k", clock.now - 10)
    for expected in (20, 40, 40):
        backoff.next("k", clock.now)
        assert backoff.delay("k") == expected
    clock.now += 81  # quiet for more than twice the maximum: start over
    backoff.next("k", clock.now)
    assert backoff.delay("k") == 10
    clock.now += 100
    backoff.gc()
    assert backoff.delay("k") == 0
