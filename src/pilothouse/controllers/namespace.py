"""NamespaceController: empties a namespace that is being deleted, then lets it go.

A deleted namespace is marked Terminating and keeps the ``kubernetes`` finalizer in
``spec.finalizers``. For each such namespace this controller deletes every namespaced object
in it (all resources the API serves, custom ones included), waits until nothing is left
(pods may take their grace period, objects may wait on their own finalizers), reports
progress in the namespace's conditions, and finally removes its finalizer through
``/finalize``, which lets the API server delete the namespace.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pilothouse.api import errors
from pilothouse.client import APIClient, Handlers, InformerFactory, WorkQueue, run_workers

log = logging.getLogger(__name__)

FINALIZER = "kubernetes"
RECHECK_SECONDS = 1.0

Obj = dict[str, Any]


class ContentRemaining(Exception):
    """Objects are still being deleted; check again later."""


class NamespaceController:
    name = "namespace"

    def __init__(self, *, client: APIClient, informers: InformerFactory, workers: int = 2):
        self.client = client
        self.namespaces = informers.informer("", "v1", "namespaces")
        self.queue: WorkQueue[str] = WorkQueue(name=self.name)
        self.workers = workers
        self.namespaces.add_handlers(Handlers(
            on_add=self._enqueue,
            on_update=lambda _old, new: self._enqueue(new),
        ))

    def _enqueue(self, namespace: Obj) -> None:
        if namespace["metadata"].get("deletionTimestamp"):
            self.queue.add(namespace["metadata"]["name"])

    async def run(self) -> None:
        await self.namespaces.wait_synced()
        try:
            await run_workers(self.queue, self.sync, workers=self.workers)
        finally:
            self.queue.shutdown()

    async def sync(self, name: str) -> None:
        namespace = self.namespaces.get(name)
        if namespace is None or not namespace["metadata"].get("deletionTimestamp"):
            return
        if FINALIZER not in ((namespace.get("spec") or {}).get("finalizers") or []):
            return
        try:
            await self.delete_content(name)
        except ContentRemaining:
            self.queue.add_after(name, RECHECK_SECONDS)
            return
        await self.finalize(namespace)

    async def delete_content(self, namespace: str) -> None:
        remaining = 0
        for resource in self.client.registry:
            if not resource.namespaced or not resource.preferred:
                continue
            if "deletecollection" not in resource.verbs and "delete" not in resource.verbs:
                continue
            api = self.client.resource(resource.group, resource.version, resource.plural)
            try:
                if "deletecollection" in resource.verbs:
                    await self.client.request("DELETE", api.path(namespace))
                listed = await api.list(namespace=namespace)
            except errors.NotFound:
                continue  # a resource that went away (a deleted CRD)
            for obj in listed.items:
                if "deletecollection" not in resource.verbs:
                    try:
                        await api.delete(obj["metadata"]["name"], namespace=namespace)
                    except errors.NotFound:
                        continue
                remaining += 1
        if remaining:
            raise ContentRemaining(f"{remaining} objects remain in namespace {namespace}")

    async def finalize(self, namespace: Obj) -> None:
        name = namespace["metadata"]["name"]
        finalizers = [f for f in namespace["spec"].get("finalizers", []) if f != FINALIZER]
        body = {
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "resourceVersion": namespace["metadata"]["resourceVersion"]},
            "spec": {"finalizers": finalizers},
        }
        try:
            await self.client.request("PUT", f"/api/v1/namespaces/{name}/finalize", body=body)
        except errors.NotFound:
            return
        except errors.Conflict:
            await asyncio.sleep(0)  # the informer brings the new version; sync again then
            self.queue.add(name)
