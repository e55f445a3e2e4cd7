"""The kubelet: runs the pods bound to this node as containers, and reports them.

    kubelet = Kubelet(config, client=client, runtime=runtime, images=images,
                      volumes=volumes, node_name=name)
    await kubelet.start()
    ...
    await kubelet.stop()   # stops the kubelet only: containers keep running

Pods come from two sources: the API (an informer of pods with ``spec.nodeName=<node>``)
and the static pod manifests. The sources only dispatch to the pod workers (one per pod
UID, see :mod:`.podworkers`), which do the work (:mod:`.podsync`). The relist of the
runtime (:mod:`.pleg`) and probe results wake a pod's worker when its containers change;
every worker also resyncs periodically. Housekeeping removes what belongs to no pod:
containers of pods that no longer exist (found by their labels after a restart) and
volumes left on disk.

A kubelet started on a data directory where another one ran (after a kill -9) adopts the
running containers: its workers find them through the runtime, their restart counts in
their annotations, and leave them running.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from pilothouse.client import APIClient, Handlers, Informer
from pilothouse.runtime.interface import ImageService, RuntimeService

from . import podutil
from .backoff import Backoff
from .cluster import ClusterObjects
from .config import KubeletConfig
from .dns import read_host_resolv_conf
from .events import EventRecorder
from .gc import ContainerGC
from .images import ImagePuller
from .killer import ContainerKiller
from .lifecycle import HookRunner
from .pleg import PodLifecycleEventGenerator
from .podstate import RuntimeStateReader
from .podsync import PodSyncer, SyncSettings
from .podworkers import PodWorkers
from .probemanager import ProbeManager
from .prober import ActionRunner
from .runtimeindex import RuntimeIndex
from .sandboxconfig import SandboxSettings
from .starter import ContainerStarter, StarterSettings
from .staticpods import MirrorPods, read_manifests
from .statusmanager import StatusManager
from .volumes import VolumeError, VolumeManager

log = logging.getLogger(__name__)

Obj = dict[str, Any]
SYNC_TIMEOUT = 60.0


class Kubelet:
    def __init__(
        self,
        config: KubeletConfig,
        *,
        client: APIClient,
        runtime: RuntimeService,
        images: ImageService,
        volumes: VolumeManager,
        node_name: str,
    ):
        self.config = config
        self.client = client
        self.runtime = runtime
        self.images = images
        self.volumes = volumes
        self.node_name = node_name
        self.pods = Informer(client["pods"], field_selector=f"spec.nodeName={node_name}")
        self.cluster = ClusterObjects(client, node_name=node_name, node_ip=config.node_ip)
        self.events = EventRecorder(client, node_name=node_name)
        self.statuses = StatusManager(client, target=self._status_target)
        self.actions = ActionRunner(runtime)
        self.probes = ProbeManager(self.actions, events=self.events, on_change=self._wake)
        self.index = RuntimeIndex()
        self.pleg = PodLifecycleEventGenerator(
            runtime, index=self.index, period=config.relist_seconds, on_change=self._wake
        )
        self.container_backoff = Backoff(config.backoff_seconds, config.backoff_max_seconds)
        self.image_backoff = Backoff(config.backoff_seconds, config.backoff_max_seconds)
        self.workers: PodWorkers | None = None
        self._static: dict[str, Obj] = {}  # uid -> static pod
        self._mirrors: dict[str, Obj] = {}  # full name -> mirror pod
        self._tasks: list[asyncio.Task[None]] = []

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        runtime_name = (await self.runtime.version()).runtime_name
        self.workers = PodWorkers(self._syncer(runtime_name), resync_seconds=self.config.sync_frequency_seconds)
        self.cluster.start()
        self._spawn(self.statuses.run(), "pod status writer")
        self._spawn(self.events.run(), "event recorder")
        await self.pleg.relist()
        await self._wait(self.cluster.wait_synced(), "services")
        self._static = await asyncio.to_thread(read_manifests, self.config.manifests_dir, self.node_name)
        self.pods.add_handlers(Handlers(on_add=self._on_pod, on_update=self._on_pod_updated,
                                        on_delete=self._on_pod_deleted))
        self._spawn(self.pods.run(), "pods informer")
        await self._wait(self.pods.wait_synced(), "pods")
        for pod in self._static.values():
            self.workers.update(pod)
        self._spawn(self.pleg.run(), "relist")
        self._spawn(self._every(self.config.housekeeping_seconds, self._housekeeping), "housekeeping")
        self._spawn(self._every(self.config.manifests_check_seconds, self._reread_manifests), "static pods")

    async def stop(self) -> None:
        """Stops the kubelet; containers, sandboxes and volumes stay as they are."""
        if self.workers is not None:
            await self.workers.stop()
        await self.probes.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.cluster.stop()
        await self.actions.close()

    def _syncer(self, runtime_name: str) -> PodSyncer:
        config = self.config
        hooks = HookRunner(self.actions)
        killer = ContainerKiller(self.runtime, hooks=hooks, events=self.events)
        starter = ContainerStarter(
            runtime=self.runtime,
            images=self.images,
            puller=ImagePuller(self.images, events=self.events, backoff=self.image_backoff),
            volumes=self.volumes,
            killer=killer,
            hooks=hooks,
            events=self.events,
            backoff=self.container_backoff,
            index=self.index,
            settings=StarterSettings(
                pods_dir=config.pods_dir, logs_dir=config.logs_dir, memory_capacity=_memory_capacity()
            ),
        )
        return PodSyncer(
            client=self.client,
            runtime=self.runtime,
            reader=RuntimeStateReader(self.runtime, self.index),
            starter=starter,
            killer=killer,
            gc=ContainerGC(self.runtime, index=self.index),
            volumes=self.volumes,
            statuses=self.statuses,
            probes=self.probes,
            events=self.events,
            cluster=self.cluster,
            mirrors=MirrorPods(self.client, node_name=self.node_name, node_uid=self._node_uid),
            mirror_of=self._mirror_of,
            sandbox_settings=SandboxSettings(
                logs_dir=config.logs_dir,
                cluster_domain=config.cluster_domain,
                cluster_dns=list(config.cluster_dns),
                host_dns=read_host_resolv_conf(config.resolv_conf),
            ),
            settings=SyncSettings(
                pods_dir=config.pods_dir,
                cluster_domain=config.cluster_domain,
                runtime_name=runtime_name,
                error_retry_seconds=config.backoff_seconds,
            ),
        )

    def _spawn(self, coroutine: Any, name: str) -> None:
        self._tasks.append(asyncio.create_task(coroutine, name=f"kubelet {name}"))

    async def _wait(self, synced: Any, what: str) -> None:
        try:
            await asyncio.wait_for(synced, SYNC_TIMEOUT)
        except TimeoutError:
            log.warning("the %s informer has not synced in %ss; going on", what, SYNC_TIMEOUT)

    async def _every(self, period: float, work: Any) -> None:
        while True:
            await asyncio.sleep(period)
            try:
                await work()
            except Exception as error:  # noqa: BLE001 - a periodic task must survive and retry
                log.warning("kubelet %s failed: %s", work.__name__, error)

    # -- pod sources -----------------------------------------------------------------------------

    def _on_pod(self, pod: Obj) -> None:
        assert self.workers is not None
        if podutil.is_mirror(pod):
            self._mirrors[podutil.full_name(pod)] = pod
            self._wake_static(pod)
            return
        self.workers.update(pod)

    def _on_pod_updated(self, old: Obj, new: Obj) -> None:
        """Most updates are our own status writes: they only refresh the worker's copy.
        Changes of the spec or metadata (deletion, labels for the downward API...) and of
        the conditions a readiness gate waits for sync the pod."""
        assert self.workers is not None
        if podutil.is_mirror(new) or _differs_for_sync(old, new):
            self._on_pod(new)
        else:
            self.workers.refresh(new)

    def _on_pod_deleted(self, pod: Obj) -> None:
        assert self.workers is not None
        if podutil.is_mirror(pod):
            self._mirrors.pop(podutil.full_name(pod), None)
            self._wake_static(pod)
            return
        self.workers.update(pod, removed=True)

    def _wake_static(self, mirror: Obj) -> None:
        """A mirror pod changed: its static pod's status can be written, or it is recreated."""
        for static in self._static.values():
            if podutil.full_name(static) == podutil.full_name(mirror):
                self.statuses.mark_dirty(podutil.uid(static))
                self._wake(podutil.uid(static))

    async def _reread_manifests(self) -> None:
        assert self.workers is not None
        current = await asyncio.to_thread(read_manifests, self.config.manifests_dir, self.node_name)
        for uid, pod in self._static.items():
            if uid not in current:
                self.workers.update(pod, removed=True)
        for uid, pod in current.items():
            if uid not in self._static:
                self.workers.update(pod)
        self._static = {uid: self._static.get(uid, pod) for uid, pod in current.items()}

    def _desired(self) -> dict[str, Obj]:
        desired = {podutil.uid(p): p for p in self.pods.list() if not podutil.is_mirror(p)}
        desired.update(self._static)
        return desired

    # -- what other parts ask ------------------------------------------------------------------

    def _wake(self, uid: str) -> None:
        if self.workers is not None:
            self.workers.wake(uid)

    def _mirror_of(self, pod: Obj) -> Obj | None:
        return self._mirrors.get(podutil.full_name(pod))

    def _status_target(self, pod: Obj) -> Obj | None:
        if podutil.is_static(pod):
            return self._mirror_of(pod)
        current = self.pods.get(f"{podutil.namespace(pod)}/{podutil.name(pod)}")
        if current is None or podutil.uid(current) != podutil.uid(pod):
            return None
        return current

    def _node_uid(self) -> str:
        return podutil.uid(self.cluster.node() or {})

    # -- housekeeping ----------------------------------------------------------------------------

    async def _housekeeping(self) -> None:
        """Terminates what runs for no pod, starts workers for pods that lack one, releases
        volumes of pods that are gone."""
        assert self.workers is not None
        if not self.pods.synced.is_set():
            return  # until the API's pods are known, anything running could be one of them
        desired = self._desired()
        known = self.workers.known()
        for uid, pod in desired.items():
            if uid not in known:
                self.workers.update(pod)
        for uid, (name, namespace) in self.pleg.pods.items():
            if uid not in desired and uid not in known:
                log.info("removing the containers of pod %s/%s (%s): it no longer exists", namespace, name, uid)
                self.workers.update(_orphan(uid, name, namespace), removed=True)
        known = self.workers.known()
        for uid in self.volumes.pods_on_disk():
            if uid not in desired and uid not in known and uid not in self.pleg.pods:
                try:
                    await self.volumes.teardown(uid)
                except VolumeError as error:
                    log.warning("volumes of removed pod %s not released yet: %s", uid, error)
        self.container_backoff.gc()
        self.image_backoff.gc()


def _differs_for_sync(old: Obj, new: Obj) -> bool:
    ignored = ("resourceVersion", "managedFields")
    old_meta = {k: v for k, v in podutil.meta(old).items() if k not in ignored}
    new_meta = {k: v for k, v in podutil.meta(new).items() if k not in ignored}
    if old_meta != new_meta or old.get("spec") != new.get("spec"):
        return True
    gates = podutil.spec(new).get("readinessGates")
    return bool(gates) and (old.get("status") or {}).get("conditions") != (new.get("status") or {}).get("conditions")


def _orphan(uid: str, name: str, namespace: str) -> Obj:
    """A pod the kubelet knows only from its containers' labels."""
    return {"metadata": {"uid": uid, "name": name, "namespace": namespace}, "spec": {}, "status": {}}


def _memory_capacity() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
