"""What a pod worker does to a pod (upstream's syncPod, syncTerminatingPod and
syncTerminatedPod with the runtime manager's SyncPod).

``sync_pod``: read the pod's runtime state, report its status (stopping there if the pod is
done), make its static pod's mirror pod, set up (or refresh) its volumes, compute the
actions and carry them out in upstream's order: kill the pod or unwanted containers, make
a sandbox, start init containers (stopping at the first that fails, sidecars aside), start
app containers; then report the status again, keep probe workers in step and prune dead
containers. Start failures are remembered per container for the status (CrashLoopBackOff,
ErrImagePull...) and say when to sync again.

``terminate_pod``: stop probing, stop every container within its grace period and the
sandbox, report the final status. ``finish_pod``: mark containers that never ran as
terminated, release the volumes; for a pod deleted or gone from its source, remove its
containers, sandboxes and logs, then delete the pod object (grace 0, UID precondition)
or the static pod's mirror pod.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pilothouse.api import errors as api_errors
from pilothouse.client import APIClient
from pilothouse.runtime.errors import ContainerRuntimeError
from pilothouse.runtime.interface import PodSandboxConfig, RuntimeService

from . import podutil
from .actions import PodActions, compute_pod_actions
from .cluster import ClusterObjects
from .containerconfig import etc_hosts_path
from .containerstatus import StartFailure
from .envvars import EnvironmentContext, service_environment
from .errors import ConfigError, StartError
from .etchosts import write_hosts_file
from .events import NORMAL, WARNING, EventSink
from .gc import ContainerGC
from .killer import ContainerKiller
from .podstate import PodRuntimeStatus, RuntimeStateReader
from .podworkers import SyncOutcome
from .probemanager import ProbeManager
from .sandboxconfig import SandboxSettings, pod_log_directory, sandbox_config
from .starter import ContainerStarter, StartContext
from .staticpods import MirrorPods
from .status import StatusInputs, generate_pod_status, terminated_status
from .statusmanager import StatusManager
from .timestamps import now
from .volumes import PodVolumes, VolumeError, VolumeManager

log = logging.getLogger(__name__)

Obj = dict[str, Any]
DELETERS = 4


@dataclass(frozen=True)
class SyncSettings:
    pods_dir: Path
    cluster_domain: str
    runtime_name: str  # containerID scheme
    error_retry_seconds: float  # when to try again after a failure without a back-off


class PodSyncer:
    def __init__(
        self,
        *,
        client: APIClient,
        runtime: RuntimeService,
        reader: RuntimeStateReader,
        starter: ContainerStarter,
        killer: ContainerKiller,
        gc: ContainerGC,
        volumes: VolumeManager,
        statuses: StatusManager,
        probes: ProbeManager,
        events: EventSink,
        cluster: ClusterObjects,
        mirrors: MirrorPods,
        mirror_of: Callable[[Obj], Obj | None],
        sandbox_settings: SandboxSettings,
        settings: SyncSettings,
    ):
        self.pods = client["pods"]
        self.runtime = runtime
        self.reader = reader
        self.starter = starter
        self.killer = killer
        self.gc = gc
        self.volumes = volumes
        self.statuses = statuses
        self.probes = probes
        self.events = events
        self.cluster = cluster
        self.mirrors = mirrors
        self.mirror_of = mirror_of
        self.sandbox_settings = sandbox_settings
        self.settings = settings
        self._pod_volumes: dict[str, PodVolumes] = {}
        self._failures: dict[str, dict[str, StartFailure]] = {}
        # Pod deletions after a burst of terminations go a few at a time (one API
        # connection each), not all at once.
        self._deleting = asyncio.Semaphore(DELETERS)

    # -- syncing ---------------------------------------------------------------------------------

    async def sync_pod(self, pod: Obj) -> SyncOutcome:
        runtime = await self._read(pod)
        # Probe workers first: an adopted container keeps the readiness the API showed.
        self.probes.update(pod, runtime, runtime.ips[0] if runtime.ips else "")
        status = self._report(pod, runtime)
        if podutil.is_terminal_phase(status["phase"]):
            return SyncOutcome(terminal=True)
        if podutil.is_static(pod):
            await self.mirrors.ensure(pod, self.mirror_of(pod))
        volumes = await self._volumes(pod)
        if volumes is None:
            return SyncOutcome(retry_after=self.settings.error_retry_seconds)
        actions = compute_pod_actions(pod, runtime, self.probes.verdicts())
        retry = await self._apply(pod, runtime, actions, volumes)
        if _acts(actions):
            runtime = await self._read(pod)
            self.probes.update(pod, runtime, runtime.ips[0] if runtime.ips else "")
            self._report(pod, runtime)
        await self.gc.prune(runtime)
        return SyncOutcome(retry_after=retry)

    async def _apply(self, pod: Obj, runtime: PodRuntimeStatus, actions: PodActions, volumes: PodVolumes) -> float | None:
        pod_ip = runtime.ips[0] if runtime.ips else ""
        if actions.create_sandbox and actions.sandbox_id:
            self.events.record(pod, NORMAL, "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.")
        if actions.kill_pod:
            await self.killer.kill_pod(pod, runtime, pod_ip=pod_ip)
            if actions.create_sandbox:
                await self.gc.purge_init_containers(pod, runtime)
        else:
            for kill in actions.containers_to_kill.values():
                current = next(c for c in runtime.containers if c.id == kill.container_id)
                await self.killer.kill_container(
                    pod, current, reason=kill.reason, message=kill.message, pod_ip=pod_ip
                )
        await self.gc.prune_init_containers(pod, runtime)
        if not (actions.create_sandbox or actions.init_containers_to_start or actions.containers_to_start):
            return None
        sandbox = await self._sandbox(pod, runtime, actions)
        if sandbox is None:
            return self.settings.error_retry_seconds
        sandbox_id, sandbox_config_, pod_ips = sandbox
        context = StartContext(
            sandbox_id=sandbox_id,
            sandbox_config=sandbox_config_,
            runtime=runtime,
            volumes=volumes,
            pod_ips=pod_ips,
            pull_secrets=await self._pull_secrets(pod),
            environment=EnvironmentContext(
                reader=self.cluster,
                service_env=service_environment(
                    self.cluster.services.list(), podutil.namespace(pod),
                    podutil.spec(pod).get("enableServiceLinks") is not False,
                ),
                pod_ips=pod_ips,
                host_ips=self.cluster.host_ips(),
                node_allocatable=self.cluster.allocatable(),
            ),
        )
        retries: list[float] = []
        inits = podutil.init_containers(pod)
        for index in actions.init_containers_to_start:
            started = await self._start(pod, inits[index], context, retries)
            if not started and not podutil.is_restartable_init_container(inits[index]):
                return min(retries)
        for index in actions.containers_to_start:
            await self._start(pod, podutil.containers(pod)[index], context, retries)
        return min(retries, default=None)

    async def _start(self, pod: Obj, container: Obj, context: StartContext, retries: list[float]) -> bool:
        failures = self._failures.setdefault(podutil.uid(pod), {})
        try:
            await self.starter.start(pod, container, context)
        except StartError as error:
            failures[container["name"]] = StartFailure(error.reason, error.message)
            retries.append(error.retry_after if error.retry_after is not None else self.settings.error_retry_seconds)
            return False
        failures.pop(container["name"], None)
        return True

    async def _sandbox(
        self, pod: Obj, runtime: PodRuntimeStatus, actions: PodActions
    ) -> tuple[str, PodSandboxConfig, tuple[str, ...]] | None:
        """The sandbox to start containers in, made if needed: its id, config and pod IPs."""
        config, dns = sandbox_config(pod, actions.attempt, self.sandbox_settings)
        hosts = etc_hosts_path(self.settings.pods_dir, pod)
        if not actions.create_sandbox:
            if not hosts.exists():
                await asyncio.to_thread(write_hosts_file, hosts, pod, runtime.ips, self.settings.cluster_domain)
            return actions.sandbox_id, config, runtime.ips
        for reason, message in dns.warnings:
            self.events.record(pod, WARNING, reason, message)
        try:
            handler = await self.cluster.runtime_handler(podutil.spec(pod).get("runtimeClassName") or "")
            sandbox_id = await self.runtime.run_pod_sandbox(config, handler)
            self.reader.index.add_sandbox(podutil.uid(pod), sandbox_id)
            status = await self.runtime.pod_sandbox_status(sandbox_id)
        except (ConfigError, ContainerRuntimeError, OSError) as error:
            self.events.record(pod, WARNING, "FailedCreatePodSandBox", f"Failed to create pod sandbox: {error}")
            return None
        pod_ips = (status.network.ip, *status.network.additional_ips) if status.network.ip else ()
        if podutil.host_network(pod):
            pod_ips = self.cluster.host_ips()
        await asyncio.to_thread(write_hosts_file, hosts, pod, pod_ips, self.settings.cluster_domain)
        return sandbox_id, config, pod_ips

    async def _volumes(self, pod: Obj) -> PodVolumes | None:
        uid = podutil.uid(pod)
        try:
            if uid in self._pod_volumes:
                await self.volumes.refresh(pod, self._pod_volumes[uid])
            else:
                self._pod_volumes[uid] = await self.volumes.setup(pod)
        except VolumeError as error:
            self.events.record(pod, WARNING, error.reason, error.message)
            if uid not in self._pod_volumes:
                return None
        return self._pod_volumes[uid]

    async def _pull_secrets(self, pod: Obj) -> list[Obj]:
        secrets = []
        missing = []
        for ref in podutil.spec(pod).get("imagePullSecrets") or []:
            name = ref.get("name") or ""
            if not name:
                continue
            try:
                secret = await self.cluster.secret(podutil.namespace(pod), name)
            except ConfigError:
                secret = None
            if secret is None:
                missing.append(name)
            else:
                secrets.append(secret)
        if missing:
            self.events.record(
                pod, WARNING, "FailedToRetrieveImagePullSecret",
                f"Unable to retrieve some image pull secrets ({', '.join(missing)}); "
                "attempting to pull the image may not succeed.",
            )
        return secrets

    # -- terminating -----------------------------------------------------------------------------

    async def terminate_pod(self, pod: Obj) -> None:
        self.probes.remove_pod(podutil.uid(pod))
        runtime = await self._read(pod)
        self._report(pod, runtime)
        await self.killer.kill_pod(pod, runtime, pod_ip=runtime.ips[0] if runtime.ips else "")
        self._report(pod, await self._read(pod), terminal=True)

    async def finish_pod(self, pod: Obj, *, remove: bool) -> None:
        uid = podutil.uid(pod)
        reported = self.statuses.get(uid)
        if reported is not None:
            self.statuses.set(pod, terminated_status(pod, reported))
        await self.volumes.teardown(uid)
        self._pod_volumes.pop(uid, None)
        if not remove:
            return
        await self.gc.remove_pod(uid, pod_log_directory(self.sandbox_settings.logs_dir, pod))
        self._failures.pop(uid, None)
        if podutil.is_static(pod):
            mirror = self.mirror_of(pod)
            if mirror is not None:
                await self.mirrors.delete(mirror)
        elif podutil.is_deleted(pod):
            await self.statuses.flush(uid)
            await self._delete(pod)
        self.statuses.forget(uid)

    async def _delete(self, pod: Obj) -> None:
        try:
            async with self._deleting:
                await self.pods.delete(
                    podutil.name(pod), namespace=podutil.namespace(pod), grace_period_seconds=0,
                    preconditions={"uid": podutil.uid(pod)},
                )
        except (api_errors.NotFound, api_errors.Conflict):
            pass  # already gone, or another pod of that name now

    # -- status ----------------------------------------------------------------------------------

    async def _read(self, pod: Obj) -> PodRuntimeStatus:
        return await self.reader.pod_status(podutil.uid(pod), name=podutil.name(pod), namespace=podutil.namespace(pod))

    def _report(self, pod: Obj, runtime: PodRuntimeStatus, *, terminal: bool = False) -> Obj:
        """Computes the pod's status and hands it to the status manager (not for orphans:
        pods known only from their containers have no status to report)."""
        uid = podutil.uid(pod)
        status = generate_pod_status(
            StatusInputs(
                pod=pod,
                runtime=runtime,
                previous=self.statuses.get(uid) or {},
                readiness=self.probes.readiness,
                startup=self.probes.startup,
                failures=self._failures.get(uid, {}),
                host_ips=self.cluster.host_ips(),
                runtime_name=self.settings.runtime_name,
                now=now(),
                terminal=terminal,
            )
        )
        if podutil.containers(pod):
            self.statuses.set(pod, status)
        return status


def _acts(actions: PodActions) -> bool:
    return bool(
        actions.kill_pod or actions.create_sandbox or actions.containers_to_kill
        or actions.init_containers_to_start or actions.containers_to_start
    )
