"""Stand-ins for the volume manager's dependencies: an API client holding objects, a mounter
that records mounts, and builders for pods and volume sources."""

from __future__ import annotations

import asyncio
import base64
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pilothouse.api import errors

Obj = dict[str, Any]

ALLOCATABLE = {"cpu": "4", "memory": "8Gi", "ephemeral-storage": "100Gi"}


class FakeResource:
    def __init__(self, client: FakeClient, plural: str):
        self.client = client
        self.plural = plural

    async def get(self, name: str, *, namespace: str = "") -> Obj:
        self.client.calls.append(("get", self.plural, namespace, name))
        if self.client.gate is not None:
            self.client.at_gate.set()
            await self.client.gate.wait()
        failure = self.client.failures.get(self.plural)
        if failure is not None:
            raise failure
        try:
            return self.client.objects[(self.plural, namespace, name)]
        except KeyError:
            raise errors.NotFound.of(self.plural, name) from None

    async def create_subresource(self, name: str, subresource: str, body: Obj, *,
                                 namespace: str = "") -> Obj:
        self.client.calls.append(("create", f"{self.plural}/{subresource}", namespace, name))
        assert (self.plural, subresource) == ("serviceaccounts", "token")
        return self.client.issue_token(namespace, name, body)


class FakeClient:
    """Objects by (plural, namespace, name); issues tokens with a fake clock."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], Obj] = {}
        self.failures: dict[str, Exception] = {}  # plural -> error every get raises
        self.gate: asyncio.Event | None = None  # when set, every get waits for it
        self.at_gate = asyncio.Event()  # set when a get starts waiting at the gate
        self.calls: list[tuple[str, str, str, str]] = []
        self.now = 1_700_000_000.0
        self.tokens_issued = 0
        self.token_failure: Exception | None = None
        self.token_requests: list[Obj] = []

    def __getitem__(self, plural: str) -> FakeResource:
        return FakeResource(self, plural)

    def add(self, plural: str, obj: Obj) -> Obj:
        meta = obj["metadata"]
        self.objects[(plural, meta.get("namespace", ""), meta["name"])] = obj
        return obj

    def clock(self) -> float:
        return self.now

    def issue_token(self, namespace: str, name: str, body: Obj) -> Obj:
        if self.token_failure is not None:
            raise self.token_failure
        self.token_requests.append(body)
        self.tokens_issued += 1
        seconds = body["spec"]["expirationSeconds"]
        expires = datetime.fromtimestamp(self.now + seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"spec": body["spec"],
                "status": {"token": f"token-{self.tokens_issued}-{namespace}-{name}",
                           "expirationTimestamp": expires}}


class FakeMounter:
    """Records mounts; a "mounted" directory stays an ordinary directory."""

    def __init__(self) -> None:
        self.mounted: list[Path] = []
        self.tmpfs: dict[Path, int | None] = {}
        self.binds: dict[Path, str] = {}  # target -> what the source resolved to
        self.fail_unmount = False

    def mount_tmpfs(self, target: Path, *, size: int | None) -> None:
        assert target.is_dir()
        self.mounted.append(target)
        self.tmpfs[target] = size

    def bind(self, source: str, target: Path) -> None:
        assert target.exists()
        self.mounted.append(target)
        self.binds[target] = os.readlink(source)

    def unmount(self, target: Path) -> None:
        if self.fail_unmount:
            raise OSError(16, "unmount: Device or resource busy")
        if target in self.mounted:
            self.mounted.remove(target)

    def mount_points_under(self, directory: Path) -> list[Path]:
        return [p for p in reversed(self.mounted) if p == directory or directory in p.parents]

    def is_mount_point(self, path: Path) -> bool:
        return path in self.mounted


def make_pod(*, volumes: list[Obj] | None = None, containers: list[Obj] | None = None,
             uid: str = "uid-1", name: str = "web", namespace: str = "default",
             **spec: Any) -> Obj:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "uid": uid,
                     "labels": {"app": "web", "tier": "front"},
                     "annotations": {"note": 'say "hi"\n'}},
        "spec": {"volumes": volumes or [],
                 "containers": containers or [{"name": "app", "image": "busybox"}], **spec},
    }


def config_map(name: str, data: dict[str, str] | None = None,
               binary: dict[str, bytes] | None = None, namespace: str = "default") -> Obj:
    obj: Obj = {"metadata": {"name": name, "namespace": namespace}, "data": data or {}}
    if binary:
        obj["binaryData"] = {k: base64.b64encode(v).decode() for k, v in binary.items()}
    return obj


def secret(name: str, data: dict[str, bytes], namespace: str = "default") -> Obj:
    return {"metadata": {"name": name, "namespace": namespace},
            "data": {k: base64.b64encode(v).decode() for k, v in data.items()}}
