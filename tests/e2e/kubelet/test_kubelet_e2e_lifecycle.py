"""Container lifecycles on a real node: init containers and sidecars, restart policies and
back-off, OOM kills, hooks, termination messages and graceful deletion."""

from __future__ import annotations

import time

from kubelet_e2e import (
    condition,
    container,
    container_status,
    create_pod,
    delete_and_wait_gone,
    delete_and_watch,
    exec_in,
    get_pod,
    phase,
    running,
    state_of,
    wait_event,
    wait_pod,
    waiting_reason,
)


async def test_init_containers_run_in_order_then_the_app(node) -> None:  # type: ignore[no-untyped-def]
    await create_pod(
        node, "init",
        container("app", "sleep", "3600", volumeMounts=[{"name": "work", "mountPath": "/work"}]),
        initContainers=[
            container("first", "sh", "-c", "echo one >> /work/order", volumeMounts=[{"name": "work", "mountPath": "/work"}]),
            container("second", "sh", "-c", "echo two >> /work/order", volumeMounts=[{"name": "work", "mountPath": "/work"}]),
        ],
        volumes=[{"name": "work", "emptyDir": {}}],
    )
    pod = await wait_pod(node, "init", running)
    assert await exec_in(node, pod, "app", "cat", "/work/order") == "one\ntwo\n"
    for name in ("first", "second"):
        terminated = state_of(pod, name, init=True)["terminated"]
        assert terminated["exitCode"] == 0 and terminated["reason"] == "Completed"
        assert container_status(pod, name, init=True)["ready"] is True
    assert condition(pod, "Initialized")["status"] == "True"


async def test_failing_init_container_under_never_fails_the_pod(node) -> None:  # type: ignore[no-untyped-def]
    await create_pod(
        node, "badinit", container("app", "sleep", "3600"),
        initContainers=[container("check", "sh", "-c", "exit 3")], restartPolicy="Never",
    )
    pod = await wait_pod(node, "badinit", lambda p: phase(p) == "Failed")
    assert state_of(pod, "check", init=True)["terminated"]["exitCode"] == 3
    assert condition(pod, "Initialized")["reason"] == "ContainersNotInitialized"
    assert waiting_reason(pod, "app") in ("PodInitializing", "")  # never started


async def test_sidecar_keeps_running_beside_the_app(node) -> None:  # type: ignore[no-untyped-def]
    await create_pod(
        node, "sidecar", container("app", "sleep", "3600"),
        initContainers=[container("proxy", "sleep", "3600", restartPolicy="Always")],
    )
    pod = await wait_pod(node, "sidecar", running)
    assert "running" in state_of(pod, "proxy", init=True)
    assert container_status(pod, "proxy", init=True)["started"] is True
    assert condition(pod, "Ready")["status"] == "True"


async def test_completed_pod_succeeds_and_keeps_its_containers(node) -> None:  # type: ignore[no-untyped-def]
    await create_pod(node, "job", container("work", "sh", "-c", "echo done"), restartPolicy="Never")
    pod = await wait_pod(node, "job", lambda p: phase(p) == "Succeeded")
    terminated = state_of(pod, "work")["terminated"]
    assert terminated["reason"] == "Completed" and terminated["exitCode"] == 0
    assert condition(pod, "Ready")["reason"] == "PodCompleted"
    assert len(await node.runtime.list_containers()) == 1  # kept until the pod is deleted
    await delete_and_wait_gone(node, "job")


async def test_crash_loop_backs_off(node) -> None:  # type: ignore[no-untyped-def]
    await create_pod(node, "crash", container("app", "sh", "-c", "echo crashing; exit 2"))
    pod = await wait_pod(node, "crash", lambda p: container_status(p, "app").get("restartCount", 0) >= 3)
    assert phase(pod) == "Running"
    last = container_status(pod, "app")["lastState"]["terminated"]
    assert last["exitCode"] == 2 and last["reason"] == "Error"
    pod = await wait_pod(node, "crash", lambda p: waiting_reason(p, "app") == "CrashLoopBackOff")
    assert "restarting failed container=app" in state_of(pod, "app")["waiting"]["message"]
    await wait_event(node, "crash", "BackOff", "Back-off restarting failed container app")
    # dead containers are pruned: the running or waiting one and the last exited one at most
    assert len(await node.runtime.list_containers()) <= 2


async def test_on_failure_restarts_until_success(node) -> None:  # type: ignore[no-untyped-def]
    script = "test -f /tmp/state/ran && exit 0; touch /tmp/state/ran; exit 1"
    await create_pod(
        node, "retry",
        container("app", "sh", "-c", script, volumeMounts=[{"name": "state", "mountPath": "/tmp/state"}]),
        restartPolicy="OnFailure", volumes=[{"name": "state", "emptyDir": {}}],
    )
    pod = await wait_pod(node, "retry", lambda p: phase(p) == "Succeeded")
    assert container_status(pod, "app")["restartCount"] == 1


async def test_oom_killed(node) -> None:  # type: ignore[no-untyped-def]
    hog = "x=$(head -c 67108864 /dev/zero | tr '\\0' 'x'); sleep 1"
    await create_pod(
        node, "oom",
        container("hog", "sh", "-c", hog, resources={"limits": {"memory": "16Mi"}}),
        restartPolicy="Never",
    )
    pod = await wait_pod(node, "oom", lambda p: phase(p) == "Failed")
    terminated = state_of(pod, "hog")["terminated"]
    assert terminated["reason"] == "OOMKilled"
    assert terminated["exitCode"] == 137


async def test_termination_message_from_file_and_from_logs(node) -> None:  # type: ignore[no-untyped-def]
    await create_pod(
        node, "messages",
        container("file", "sh", "-c", "echo -n from-file > /dev/termination-log; exit 1"),
        container("logs", "sh", "-c", "echo from-logs; exit 1", terminationMessagePolicy="FallbackToLogsOnError"),
        restartPolicy="Never",
    )
    pod = await wait_pod(node, "messages", lambda p: phase(p) == "Failed")
    assert state_of(pod, "file")["terminated"]["message"] == "from-file"
    assert state_of(pod, "logs")["terminated"]["message"] == "from-logs\n"


async def test_failed_post_start_hook_kills_the_container(node) -> None:  # type: ignore[no-untyped-def]
    await create_pod(
        node, "hook",
        container("app", "sleep", "3600", lifecycle={"postStart": {"exec": {"command": ["sh", "-c", "exit 7"]}}}),
        restartPolicy="Never",
    )
    await wait_event(node, "hook", "FailedPostStartHook", "PostStartHook failed")
    pod = await wait_pod(node, "hook", lambda p: phase(p) == "Failed")
    assert state_of(pod, "app")["terminated"]["exitCode"] != 0


async def test_graceful_deletion_runs_pre_stop_then_stops(node) -> None:  # type: ignore[no-untyped-def]
    await create_pod(
        node, "graceful",
        container(
            "app", "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done",
            volumeMounts=[{"name": "out", "mountPath": "/out"}],
            lifecycle={"preStop": {"exec": {"command": ["sh", "-c", "echo prestop > /out/hook"]}}},
        ),
        volumes=[{"name": "out", "hostPath": {"path": str(node.config.data_dir / "hook-out"), "type": "DirectoryOrCreate"}}],
        terminationGracePeriodSeconds=20,
    )
    await wait_pod(node, "graceful", running)
    started = time.monotonic()
    await node.client["pods"].delete("graceful", namespace=node.namespace)
    deleting = await get_pod(node, "graceful")
    assert deleting is not None and deleting["metadata"]["deletionTimestamp"]
    await delete_and_wait_gone(node, "graceful")
    assert time.monotonic() - started < 20  # SIGTERM ended it, not the grace period's SIGKILL
    assert (node.config.data_dir / "hook-out" / "hook").read_text() == "prestop\n"
    await wait_event(node, "graceful", "Killing", "Stopping container app")
    assert await node.runtime.list_containers() == []


async def test_sigkill_after_the_grace_period(node) -> None:  # type: ignore[no-untyped-def]
    await create_pod(node, "stubborn", container("app", "sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"),
                     terminationGracePeriodSeconds=2)
    await wait_pod(node, "stubborn", running)
    started = time.monotonic()
    final = await delete_and_watch(node, "stubborn")
    assert time.monotonic() - started >= 2
    assert phase(final) == "Failed"
    assert state_of(final, "app")["terminated"]["exitCode"] == 137
