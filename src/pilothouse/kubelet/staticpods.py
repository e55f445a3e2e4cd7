"""Static pods: pods from manifest files on the node, shown in the API as mirror pods.

:func:`read_manifests` reads every ``*.yaml``, ``*.yml`` and ``*.json`` file of the
manifests directory (hidden files skipped) holding one Pod, as upstream's file source:
defaulted like the API defaults pods, named ``<name>-<node>``, namespace ``default`` unless
given, bound to the node, tolerating every NoExecute taint, with a UID that is a hash of the
content, the node and the file (so editing a file makes a new pod, and the old one is
stopped) and the annotations ``kubernetes.io/config.hash`` (that UID),
``kubernetes.io/config.source`` (``file``) and ``kubernetes.io/config.seen``. A file that
does not parse or validate is skipped with a log line.

:class:`MirrorPods` keeps each static pod's mirror pod in the API: created with the
``kubernetes.io/config.mirror`` annotation (the static pod's hash) and owned by the Node;
a mirror pod of another hash, or one being deleted, is deleted and created again.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import yaml

from pilothouse.api import errors
from pilothouse.api.kinds.pod import PodStrategy
from pilothouse.client import APIClient

from . import podutil
from .timestamps import now

log = logging.getLogger(__name__)

Obj = dict[str, Any]
SUFFIXES = (".yaml", ".yml", ".json")


def read_manifests(directory: Path, node_name: str) -> dict[str, Obj]:
    """The static pods of ``directory`` by UID (blocking: run it in a thread)."""
    pods: dict[str, Obj] = {}
    try:
        files = sorted(p for p in directory.iterdir() if p.suffix in SUFFIXES and not p.name.startswith("."))
    except FileNotFoundError:
        return pods
    for path in files:
        try:
            pod = static_pod(path.read_bytes(), str(path), node_name)
        except (OSError, ValueError, yaml.YAMLError) as error:
            log.warning("static pod manifest %s skipped: %s", path, error)
            continue
        pods[podutil.uid(pod)] = pod
    return pods


def static_pod(content: bytes, source: str, node_name: str) -> Obj:
    pod = yaml.safe_load(content)
    if not isinstance(pod, dict) or pod.get("kind") != "Pod":
        raise ValueError("not a Pod")
    meta = pod.setdefault("metadata", {})
    if not meta.get("name"):
        raise ValueError("the pod has no name")
    strategy = PodStrategy()
    strategy.default(pod)
    hasher = hashlib.md5(orjson.dumps(pod, option=orjson.OPT_SORT_KEYS), usedforsecurity=False)
    hasher.update(f"host:{node_name}file:{source}".encode())
    uid = meta.get("uid") or hasher.hexdigest()
    meta["uid"] = uid
    meta["name"] = f"{meta['name']}-{node_name.lower()}"
    meta.setdefault("namespace", "default")
    pod["spec"]["nodeName"] = node_name
    annotations = meta.setdefault("annotations", {})
    annotations[podutil.CONFIG_HASH_ANNOTATION] = uid
    annotations[podutil.CONFIG_SOURCE_ANNOTATION] = "file"
    annotations["kubernetes.io/config.seen"] = now()
    tolerations = pod["spec"].setdefault("tolerations", [])
    if {"operator": "Exists", "effect": "NoExecute"} not in tolerations:
        tolerations.append({"operator": "Exists", "effect": "NoExecute"})
    pod["status"] = {"phase": "Pending"}
    problems = strategy.validate(pod)
    if problems:
        raise ValueError("; ".join(p.message() for p in problems))
    return pod


class MirrorPods:
    def __init__(self, client: APIClient, *, node_name: str, node_uid: Callable[[], str]):
        self.pods = client["pods"]
        self.node_name = node_name
        self.node_uid = node_uid

    async def ensure(self, static: Obj, mirror: Obj | None) -> None:
        """Makes the mirror pod of ``static`` exist and match it."""
        config_hash = podutil.annotations_of(static).get(podutil.CONFIG_HASH_ANNOTATION, "")
        if mirror is not None:
            if podutil.annotations_of(mirror).get(podutil.MIRROR_ANNOTATION) == config_hash and not podutil.is_deleted(mirror):
                return
            await self.delete(mirror)
        body = copy.deepcopy(static)
        meta = body["metadata"]
        for key in ("uid", "resourceVersion", "creationTimestamp", "generation"):
            meta.pop(key, None)
        body.pop("status", None)
        meta["annotations"][podutil.MIRROR_ANNOTATION] = config_hash
        node_uid = self.node_uid()
        if node_uid:
            meta["ownerReferences"] = [
                {"apiVersion": "v1", "kind": "Node", "name": self.node_name, "uid": node_uid, "controller": True}
            ]
        try:
            await self.pods.create(body, namespace=podutil.namespace(static))
        except errors.AlreadyExists:
            pass  # created meanwhile: the next sync checks it

    async def delete(self, mirror: Obj) -> None:
        try:
            await self.pods.delete(
                podutil.name(mirror), namespace=podutil.namespace(mirror), grace_period_seconds=0,
                preconditions={"uid": podutil.uid(mirror)},
            )
        except (errors.NotFound, errors.Conflict):
            pass
