"""Registry settings (k3s registries.yaml), auth challenges, progress lines, shared stores."""

from __future__ import annotations

import base64
import io
import multiprocessing
from pathlib import Path

import pytest

from pilothouse.runtime.images.errors import ImageError, NoMatchingPlatform
from pilothouse.runtime.images.manifests import Descriptor, Index, Platform, select_platform
from pilothouse.runtime.images.progress import TerminalProgress
from pilothouse.runtime.images.registry.auth import parse_challenge
from pilothouse.runtime.images.registry.config import (
    Credentials,
    RegistryConfig,
    load_registries_yaml,
)
from pilothouse.runtime.images.store import ImageStore


def test_registries_yaml(tmp_path: Path) -> None:
    path = tmp_path / "registries.yaml"
    encoded = base64.b64encode(b"x:y:z").decode()
    path.write_text(
        f"""
mirrors:
  docker.io:
    endpoint: ["https://mirror.example.com:5000/v2", "http://10.0.0.1:5000"]
  "127.0.0.1:5000":
    endpoint: ["http://127.0.0.1:5000"]
configs:
  "mirror.example.com:5000":
    auth: {{username: u, password: p}}
    tls: {{ca_file: /etc/ca.pem, insecure_skip_verify: true}}
  "other.example.com":
    auth: {{auth: {encoded}}}
"""
    )
    config = load_registries_yaml(path)
    hub = config.endpoints("docker.io")
    assert [(e.scheme, e.host, e.is_mirror, e.path_prefix) for e in hub] == [
        ("https", "mirror.example.com:5000", True, ""),
        ("http", "10.0.0.1:5000", True, ""),
        ("https", "registry-1.docker.io", False, ""),
    ]
    local = config.endpoints("127.0.0.1:5000")
    assert [(e.scheme, e.host) for e in local] == [("http", "127.0.0.1:5000")]
    assert config.push_endpoint("127.0.0.1:5000").allow_http_fallback
    mirror = config.host_config("mirror.example.com:5000")
    assert mirror.credentials == Credentials("u", "p")
    assert mirror.tls.ca_file == Path("/etc/ca.pem") and mirror.tls.insecure_skip_verify
    assert config.host_config("other.example.com").credentials == Credentials("x", "y:z")
    assert load_registries_yaml(tmp_path / "missing.yaml") == RegistryConfig()


def test_plain_http_only_when_allowed() -> None:
    config = RegistryConfig(insecure=frozenset({"registry.local:5000"}))
    assert not config.push_endpoint("quay.io").allow_http_fallback
    assert config.push_endpoint("registry.local:5000").allow_http_fallback
    assert config.endpoints("quay.io", insecure=True)[-1].allow_http_fallback


@pytest.mark.parametrize("text", ["mirrors: [", "- just a list"])
def test_bad_registries_yaml(tmp_path: Path, text: str) -> None:
    path = tmp_path / "registries.yaml"
    path.write_text(text)
    with pytest.raises(ImageError):
        load_registries_yaml(path)


def test_credentials_parse() -> None:
    assert Credentials.parse("user:pa:ss") == Credentials("user", "pa:ss")
    with pytest.raises(ImageError):
        Credentials.parse("nopassword")


def test_challenges() -> None:
    bearer = parse_challenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/busybox:pull,push",error="insufficient_scope"'
    )
    assert bearer.scheme == "bearer"
    assert bearer.params == {
        "realm": "https://auth.docker.io/token",
        "service": "registry.docker.io",
        "scope": "repository:library/busybox:pull,push",
        "error": "insufficient_scope",
    }
    basic = parse_challenge('Basic realm="Registry Realm"')
    assert (basic.scheme, basic.params) == ("basic", {"realm": "Registry Realm"})
    assert parse_challenge('Bearer realm="a\\"b", service=svc').params == {"realm": 'a"b', "service": "svc"}


def test_platform_selection() -> None:
    def entry(architecture: str, variant: str = "", os: str = "linux") -> Descriptor:
        platform = {"os": os, "architecture": architecture, **({"variant": variant} if variant else {})}
        return Descriptor("application/vnd.oci.image.manifest.v1+json", "sha256:" + architecture[0] * 64, 1, platform)

    index = Index("application/vnd.oci.image.index.v1+json", [entry("arm", "v7"), entry("arm64"), entry("amd64", os="windows"), entry("amd64")])
    assert select_platform(index, Platform("linux", "amd64")).platform == {"os": "linux", "architecture": "amd64"}
    assert select_platform(index, Platform("linux", "arm64", "v8")).platform["architecture"] == "arm64"  # type: ignore[index]
    with pytest.raises(NoMatchingPlatform, match="linux/s390x.*available: linux/arm/v7"):
        select_platform(index, Platform("linux", "s390x"))


def test_progress_lines_without_a_terminal() -> None:
    out = io.StringIO()
    progress = TerminalProgress(out)
    progress.update("abc", "Pulling fs layer")
    for done in (10, 20, 30):
        progress.update("abc", "Downloading", done, 30)
    progress.update("abc", "Pull complete")
    assert out.getvalue().splitlines() == ["abc: Pulling fs layer", "abc: Downloading", "abc: Pull complete"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_redraws_on_a_terminal() -> None:
    out = _Terminal()
    progress = TerminalProgress(out)
    progress.update("aaa", "Pulling fs layer")
    progress.update("bbb", "Pulling fs layer")
    progress.update("aaa", "Downloading", 100, 100)  # a finished item is always drawn
    assert "\x1b[2A" in out.getvalue()  # moved up over the two lines to redraw them
    assert "aaa: Downloading [" + "=" * 40 + "] 100B/100B" in out.getvalue()


def _tag_many(root: str, worker: int) -> None:
    store = ImageStore(Path(root))
    image = store.list()[0]
    for n in range(15):
        store.tag(image.id, f"worker{worker}:tag{n}")


def test_concurrent_processes_lose_no_update(tmp_path: Path) -> None:
    from test_image_store import make_image

    store = ImageStore(tmp_path / "images")
    make_image(store, {"f": b"x"}, tags=["base"])
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_tag_many, args=(str(tmp_path / "images"), w)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert len(store.list()[0].repo_tags) == 1 + 4 * 15
