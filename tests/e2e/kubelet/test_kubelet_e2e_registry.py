"""Pulling from a private registry: a loopback ``docker-registry`` with htpasswd, made
reachable over plain HTTP by registries.yaml, credentials from an imagePullSecret."""

from __future__ import annotations

import base64
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from kubelet_e2e import create_pod, running, wait_event, wait_pod, waiting_reason

sys.path.insert(0, str(Path(__file__).parents[1] / "images"))

from registry_server import LoopbackRegistry, start_registry  # noqa: E402

from pilothouse.runtime.images.errors import ImageNotFound  # noqa: E402
from pilothouse.runtime.images.registry.config import Credentials, load_registries_yaml  # noqa: E402
from pilothouse.runtime.images.store import ImageStore  # noqa: E402

USER, PASSWORD = "puller", "s3cret"


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[LoopbackRegistry]:
    started = start_registry(tmp_path / "registry", users={USER: PASSWORD})
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def private_image(image_store: ImageStore, registry: LoopbackRegistry, tmp_path: Path) -> Iterator[str]:
    """The image to pull: the node's image store learns from a registries.yaml (loaded as the
    agent loads it) that the registry speaks plain HTTP."""
    registries = tmp_path / "registries.yaml"
    registries.write_text(f"insecure: ['{registry.host}']\n")
    before = image_store.registry_config
    image_store.registry_config = load_registries_yaml(registries)
    image = f"{registry.host}/private/busybox:1"
    try:
        yield image
    finally:
        image_store.registry_config = before
        with contextlib.suppress(ImageNotFound):
            image_store.remove(image, force=True)


async def test_pull_with_an_image_pull_secret(  # type: ignore[no-untyped-def]
    node, image_store: ImageStore, registry: LoopbackRegistry, private_image: str
) -> None:
    await image_store.push("busybox", destination=private_image, auth=Credentials(USER, PASSWORD))

    app = {"name": "app", "image": private_image, "imagePullPolicy": "Always", "command": ["sleep", "3600"]}
    await create_pod(node, "nocreds", app)
    await wait_pod(node, "nocreds", lambda p: waiting_reason(p, "app") in ("ErrImagePull", "ImagePullBackOff"))

    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    config = orjson.dumps({"auths": {registry.host: {"auth": auth}}})
    await node.client["secrets"].create({
        "metadata": {"name": "regcred", "namespace": node.namespace},
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": base64.b64encode(config).decode()},
    })
    await create_pod(node, "withcreds", app, imagePullSecrets=[{"name": "regcred"}])
    await wait_pod(node, "withcreds", running)
    event = await wait_event(node, "withcreds", "Pulled", f'Successfully pulled image "{private_image}"')
    assert "Image size:" in event["message"]
