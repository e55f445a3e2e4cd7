"""cgroup layout detection and the arithmetic of limits (no cgroup is touched)."""

from __future__ import annotations

from pathlib import Path

from pilothouse.runtime.oci.cgroups import detect, shares_to_weight

PROC_CGROUPS = "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t1\t1\t1\ncpuacct\t2\t1\t1\nmemory\t4\t1\t1\npids\t8\t1\t1\n"
HYBRID = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
UNIFIED = "29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate\n"


def files(tmp_path: Path, mountinfo: str) -> tuple[Path, Path]:
    (tmp_path / "mountinfo").write_text(mountinfo)
    (tmp_path / "cgroups").write_text(PROC_CGROUPS)
    return tmp_path / "mountinfo", tmp_path / "cgroups"


def test_hybrid_layout_is_v1_with_a_v2_tree_beside(tmp_path: Path) -> None:
    layout = detect(*files(tmp_path, HYBRID))

    assert layout.version == 1
    assert layout.trees["memory"] == Path("/sys/fs/cgroup/memory")
    assert layout.trees["name=systemd"] == Path("/sys/fs/cgroup/systemd")
    assert "xattr" not in layout.trees
    assert layout.hybrid_v2 == Path("/sys/fs/cgroup/unified")
    assert layout.dir("memory", "/pilothouse/pod") == Path("/sys/fs/cgroup/memory/pilothouse/pod")
    assert len(layout.dirs("/x")) == 5


def test_unified_layout_is_v2(tmp_path: Path) -> None:
    layout = detect(*files(tmp_path, UNIFIED))

    assert layout.is_v2 and layout.hybrid_v2 is None
    assert layout.dirs("/pilothouse/pod") == [Path("/sys/fs/cgroup/pilothouse/pod")]


def test_cpu_shares_become_v2_weights_as_runc_converts_them() -> None:
    assert [shares_to_weight(s) for s in (2, 1024, 262144)] == [1, 39, 10000]
