"""Users and groups resolved in an image's own /etc/passwd and /etc/group."""

from __future__ import annotations

from pathlib import Path

import pytest

from pilothouse.runtime.errors import InvalidArgument
from pilothouse.runtime.interface import LinuxContainerSecurityContext
from pilothouse.runtime.oci.users import ProcessUser, parse_user_string, resolve_user, rootfs_path

PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"
GROUP = "root:x:0:\napp:x:1000:\nwheel:x:10:app,other\nnogroup:x:65534:\n"


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text(PASSWD)
    (tmp_path / "etc" / "group").write_text(GROUP)
    return tmp_path


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("", ProcessUser(0, 0, [0], "/root")),
        ("app", ProcessUser(1000, 1000, [1000, 10], "/home/app")),
        ("1000", ProcessUser(1000, 1000, [1000, 10], "/home/app")),
        ("app:wheel", ProcessUser(1000, 10, [10], "/home/app")),
        ("4242:7", ProcessUser(4242, 7, [7], "/")),
    ],
    ids=["default-root", "name", "uid", "name-group", "unknown-uid"],
)
def test_image_user_strings(rootfs: Path, spec: str, expected: ProcessUser) -> None:
    assert parse_user_string(rootfs, spec) == expected


def test_security_context_wins_over_the_image_and_adds_groups(rootfs: Path) -> None:
    security = LinuxContainerSecurityContext(run_as_user=65534, run_as_group=3, supplemental_groups=[44, 3])
    assert resolve_user(rootfs, "app", security) == ProcessUser(65534, 3, [3, 44], "/")


def test_run_as_username_must_exist(rootfs: Path) -> None:
    with pytest.raises(InvalidArgument, match="unable to find user ghost"):
        resolve_user(rootfs, "", LinuxContainerSecurityContext(run_as_username="ghost"))


def test_run_as_group_needs_a_user(rootfs: Path) -> None:
    with pytest.raises(InvalidArgument, match="run_as_group"):
        resolve_user(rootfs, "", LinuxContainerSecurityContext(run_as_group=5))


def test_an_image_without_passwd_runs_numeric_users(tmp_path: Path) -> None:
    assert parse_user_string(tmp_path, "123") == ProcessUser(123, 0, [0], "/")
    with pytest.raises(InvalidArgument):
        parse_user_string(tmp_path, "app")


def test_symbolic_links_stay_inside_the_rootfs(rootfs: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (outside / "passwd").write_text("evil:x:0:0::/:/bin/sh\n")
    (rootfs / "etc" / "passwd").unlink()
    (rootfs / "etc" / "passwd").symlink_to(f"../../../../../../{outside}/passwd")

    assert rootfs_path(rootfs, "/etc/passwd") == rootfs / outside.relative_to("/") / "passwd"
    with pytest.raises(InvalidArgument):
        parse_user_string(rootfs, "evil")
