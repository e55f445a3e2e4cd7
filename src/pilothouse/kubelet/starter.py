"""Starting one container of a pod (upstream's startContainer, preceded by doBackOff).

In order, each step failing with the reason the container's status then shows:

1. back-off: a container that exited is not restarted before its back-off (10 s doubling
   to 5 min) is over: CrashLoopBackOff, with a BackOff event;
2. the image (see :mod:`.images`): ErrImagePull, ImagePullBackOff, ErrImageNeverPull...;
3. the configuration: environment, mounts, the runAsNonRoot check:
   CreateContainerConfigError;
4. create (CreateContainerError), a Created event; start (RunContainerError), a Started
   event;
5. the postStart hook: if it fails, a FailedPostStartHook event, the container is killed
   and the start fails with PostStartHookError.

Every failure but the back-off is also a ``Failed`` event ``Error: ...``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pilothouse.runtime.errors import ContainerRuntimeError
from pilothouse.runtime.interface import (
    ImageService,
    ImageSpec,
    PodSandboxConfig,
    RuntimeService,
)

from . import errors, labels, podutil
from .actions import KillReason
from .backoff import Backoff
from .containerconfig import container_config, kubelet_mounts
from .envvars import EnvironmentContext, make_environment
from .events import NORMAL, WARNING, EventSink
from .imagecredentials import credentials_for
from .images import ImagePuller, go_duration
from .killer import ContainerKiller
from .lifecycle import HookRunner
from .podstate import PodRuntimeStatus, RuntimeContainer
from .runtimeindex import RuntimeIndex
from .sandboxconfig import pod_log_directory
from .security import verify_run_as_non_root
from .volumes import PodVolumes, VolumeError, VolumeManager

Obj = dict[str, Any]
LOG_FILE = re.compile(r"^(\d+)\.log(\..*)?$")


@dataclass(frozen=True)
class StarterSettings:
    pods_dir: Path
    logs_dir: Path
    memory_capacity: int


@dataclass
class StartContext:
    """What every container started in one sync of a pod shares."""

    sandbox_id: str
    sandbox_config: PodSandboxConfig
    runtime: PodRuntimeStatus
    volumes: PodVolumes
    pod_ips: tuple[str, ...]
    pull_secrets: list[Obj]
    environment: EnvironmentContext


class ContainerStarter:
    def __init__(
        self,
        *,
        runtime: RuntimeService,
        images: ImageService,
        puller: ImagePuller,
        volumes: VolumeManager,
        killer: ContainerKiller,
        hooks: HookRunner,
        events: EventSink,
        backoff: Backoff,
        index: RuntimeIndex,
        settings: StarterSettings,
    ):
        self.runtime = runtime
        self.images = images
        self.puller = puller
        self.volumes = volumes
        self.killer = killer
        self.hooks = hooks
        self.events = events
        self.backoff = backoff
        self.index = index
        self.settings = settings

    async def start(self, pod: Obj, container: Obj, context: StartContext) -> None:
        name = container["name"]
        self._check_backoff(pod, container, context.runtime)
        try:
            credentials = credentials_for(container.get("image", ""), context.pull_secrets)
            image = await self.puller.ensure_image(pod, container, credentials)
            config = await self._config(pod, container, context, image)
        except errors.StartError as error:
            detail = error.reason if error.reason in errors.IMAGE_REASONS else error.message
            self.events.record(pod, WARNING, "Failed", f"Error: {detail}", container=name)
            raise
        container_id = await self._create_and_start(pod, container, context, config)
        await self._post_start(pod, container, container_id, context)

    def _check_backoff(self, pod: Obj, container: Obj, runtime: PodRuntimeStatus) -> None:
        """Holds a container back while its back-off lasts (upstream's doBackOff)."""
        exited = next((c for c in runtime.all_named(container["name"]) if c.exited), None)
        if exited is None:
            return
        key = backoff_key(pod, container)
        finished = exited.finished_at / 1e9
        remaining = self.backoff.remaining_since(key, finished)
        if remaining > 0:
            self.events.record(
                pod, WARNING, "BackOff",
                f"Back-off restarting failed container {container['name']} in pod {podutil.describe(pod)}",
                container=container["name"],
            )
            delay = go_duration(self.backoff.delay(key))
            raise errors.StartError(
                errors.CRASH_LOOP_BACK_OFF,
                f"back-off {delay} restarting failed container={container['name']} pod={podutil.describe(pod)}",
                retry_after=remaining,
            )
        self.backoff.next(key, finished)

    async def _config(self, pod: Obj, container: Obj, context: StartContext, image: str) -> Any:
        restart_count = self._restart_count(pod, container, context.runtime)
        try:
            env = await make_environment(pod, container, context.environment)
            verify_run_as_non_root(pod, container, await self.images.image_status(ImageSpec(image=image)))
            volume_mounts = self.volumes.container_mounts(pod, container, context.volumes, env=dict(env))
        except errors.ConfigError as error:
            raise errors.StartError(errors.CREATE_CONTAINER_CONFIG_ERROR, str(error)) from error
        except VolumeError as error:
            raise errors.StartError(errors.CREATE_CONTAINER_CONFIG_ERROR, error.message) from error
        mounts = kubelet_mounts(self.settings.pods_dir, pod, container, volume_mounts, context.pod_ips)
        return container_config(
            pod, container, restart_count=restart_count, env=env, mounts=mounts,
            memory_capacity=self.settings.memory_capacity,
        )

    async def _create_and_start(self, pod: Obj, container: Obj, context: StartContext, config: Any) -> str:
        name = container["name"]
        try:
            container_id = await self.runtime.create_container(context.sandbox_id, config, context.sandbox_config)
        except (ContainerRuntimeError, OSError) as error:
            self.events.record(pod, WARNING, "Failed", f"Error: {error}", container=name)
            raise errors.StartError(errors.CREATE_CONTAINER_ERROR, str(error)) from error
        self.index.add_container(podutil.uid(pod), container_id, context.sandbox_id)
        self.events.record(pod, NORMAL, "Created", f"Created container: {name}", container=name)
        try:
            await self.runtime.start_container(container_id)
        except (ContainerRuntimeError, OSError) as error:
            message = str(error).replace(container_id, name)
            self.events.record(pod, WARNING, "Failed", f"Error: {message}", container=name)
            raise errors.StartError(errors.RUN_CONTAINER_ERROR, message) from error
        self.events.record(pod, NORMAL, "Started", f"Started container {name}", container=name)
        return container_id

    async def _post_start(self, pod: Obj, container: Obj, container_id: str, context: StartContext) -> None:
        hook = (container.get("lifecycle") or {}).get("postStart")
        if not hook:
            return
        pod_ip = context.pod_ips[0] if context.pod_ips else ""
        failure = await self.hooks.run(hook, pod=pod, container=container, container_id=container_id, pod_ip=pod_ip)
        if failure is None:
            return
        name = container["name"]
        self.events.record(pod, WARNING, "FailedPostStartHook", "PostStartHook failed", container=name)
        status = await self.runtime.container_status(container_id)
        await self.killer.kill_container(
            pod,
            RuntimeContainer(id=container_id, name=name, state=status.state, created_at=status.created_at),
            reason=KillReason.FAILED_POST_START_HOOK,
            message="FailedPostStartHook",
            pod_ip=pod_ip,
        )
        raise errors.StartError(errors.POST_START_HOOK_ERROR, failure)

    def _restart_count(self, pod: Obj, container: Obj, runtime: PodRuntimeStatus) -> int:
        """One more than the newest container of that name, or, when the runtime lost them
        all, one more than the newest log file (so logs are not overwritten)."""
        current = runtime.find(container["name"])
        if current is not None:
            return current.restart_count + 1
        directory = pod_log_directory(self.settings.logs_dir, pod) / container["name"]
        counts = [int(m.group(1)) + 1 for p in _listdir(directory) if (m := LOG_FILE.match(p))]
        return max(counts, default=0)


def backoff_key(pod: Obj, container: Obj) -> str:
    return "_".join(
        (podutil.name(pod), podutil.namespace(pod), podutil.uid(pod), container["name"], labels.container_hash(container))
    )


def _listdir(directory: Path) -> list[str]:
    try:
        return [entry.name for entry in directory.iterdir() if entry.is_file()]
    except FileNotFoundError:
        return []
