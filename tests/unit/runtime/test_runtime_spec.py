"""The bundle writer: CRI configs to OCI config.json, rule by rule (no root needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pilothouse.runtime.errors import InvalidArgument
from pilothouse.runtime.interface import (
    Capability,
    ContainerConfig,
    KeyValue,
    LinuxContainerConfig,
    LinuxContainerResources,
    LinuxContainerSecurityContext,
    Mount,
    MountPropagation,
    NamespaceMode,
    NamespaceOption,
)
from pilothouse.runtime.oci import defaults
from pilothouse.runtime.oci.devices import DeviceNode
from pilothouse.runtime.oci.spec import (
    SandboxFiles,
    SandboxNamespaces,
    container_namespaces,
    container_spec,
    infra_namespaces,
    process_args,
)
from pilothouse.runtime.oci.users import ProcessUser

SANDBOX = SandboxNamespaces(network="/run/netns/x", ipc="/s/ipcns", uts="/s/utsns", pid="/proc/7/ns/pid")
FILES = SandboxFiles(hostname=Path("/s/hostname"), hosts=Path("/s/hosts"), resolv_conf=Path("/s/resolv.conf"), shm=Path("/s/shm"))


def spec(config: ContainerConfig | None = None, **overrides: Any) -> dict[str, Any]:
    config = config or ContainerConfig(command=["app"])
    arguments: dict[str, Any] = {
        "image_config": {},
        "rootfs": Path("/rootfs"),
        "user": ProcessUser(uid=0, gid=0, additional_gids=[0]),
        "hostname": "pod-host",
        "namespaces": container_namespaces(config.linux.security_context.namespace_options, SANDBOX),
        "sandbox_files": FILES,
        "cgroups_path": "/pilothouse/pod-1/c1",
    }
    arguments.update(overrides)
    return container_spec(config, **arguments)


def with_security(**fields: Any) -> ContainerConfig:
    return ContainerConfig(
        command=["app"], linux=LinuxContainerConfig(security_context=LinuxContainerSecurityContext(**fields))
    )


@pytest.mark.parametrize(
    ("command", "args", "image", "expected"),
    [
        ([], [], {"Entrypoint": ["/ep"], "Cmd": ["a"]}, ["/ep", "a"]),
        ([], ["b"], {"Entrypoint": ["/ep"], "Cmd": ["a"]}, ["/ep", "b"]),
        (["/cmd"], [], {"Entrypoint": ["/ep"], "Cmd": ["a"]}, ["/cmd"]),
        (["/cmd"], ["c"], {"Entrypoint": ["/ep"], "Cmd": ["a"]}, ["/cmd", "c"]),
        ([], [], {"Entrypoint": [""], "Cmd": ["sh"]}, ["sh"]),
        ([], [], {"Cmd": ["sh"]}, ["sh"]),
    ],
    ids=["image-both", "args-replace-cmd", "command-replaces-both", "command-and-args", "empty-entrypoint", "cmd-only"],
)
def test_command_and_args_combine_with_the_image_as_kubernetes_says(
    command: list[str], args: list[str], image: dict[str, Any], expected: list[str]
) -> None:
    assert process_args(ContainerConfig(command=command, args=args), image) == expected


def test_no_command_at_all_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="no command"):
        process_args(ContainerConfig(), {})


def test_environment_layers_later_wins_in_place() -> None:
    config = ContainerConfig(command=["app"], envs=[KeyValue("A", "container"), KeyValue("C", "3")])
    env = spec(config, image_config={"Env": ["PATH=/image/bin", "A=image", "B=2"]})["process"]["env"]

    assert env == ["PATH=/image/bin", "HOSTNAME=pod-host", "A=container", "B=2", "C=3"]


def test_a_container_joins_the_sandbox_namespaces_and_gets_its_own_pid_and_mount() -> None:
    namespaces = container_namespaces(NamespaceOption(), SANDBOX)

    assert namespaces == [
        {"type": "mount"},
        {"type": "pid"},
        {"type": "ipc", "path": "/s/ipcns"},
        {"type": "uts", "path": "/s/utsns"},
        {"type": "network", "path": "/run/netns/x"},
    ]


@pytest.mark.parametrize(
    ("options", "expected_types_and_paths"),
    [
        (NamespaceOption(pid=NamespaceMode.POD), {"pid": "/proc/7/ns/pid"}),
        (NamespaceOption(pid=NamespaceMode.TARGET, target_id="t"), {"pid": "/proc/9/ns/pid"}),
        (NamespaceOption(pid=NamespaceMode.NODE, ipc=NamespaceMode.NODE, network=NamespaceMode.NODE), {}),
    ],
    ids=["shared-pid", "target-pid", "host-everything"],
)
def test_namespace_modes(options: NamespaceOption, expected_types_and_paths: dict[str, str]) -> None:
    namespaces = container_namespaces(options, SANDBOX, target_pid="/proc/9/ns/pid")
    joined = {ns["type"]: ns["path"] for ns in namespaces if ns["type"] == "pid" and "path" in ns}

    assert joined == expected_types_and_paths
    if options.network == NamespaceMode.NODE:
        assert [ns["type"] for ns in namespaces] == ["mount"]


def test_a_host_network_container_keeps_the_hosts_hostname() -> None:
    host = NamespaceOption(network=NamespaceMode.NODE)
    config = with_security(namespace_options=host)
    result = spec(config, namespaces=container_namespaces(host, SANDBOX))

    assert "hostname" not in result
    assert not any(e.startswith("HOSTNAME=") for e in result["process"]["env"])


def test_the_infra_process_makes_the_shared_pid_namespace_in_the_pinned_ones() -> None:
    assert infra_namespaces(NamespaceOption(pid=NamespaceMode.POD), SANDBOX) == [
        {"type": "mount"},
        {"type": "pid"},
        {"type": "ipc", "path": "/s/ipcns"},
        {"type": "uts", "path": "/s/utsns"},
        {"type": "network", "path": "/run/netns/x"},
    ]


def test_defaults_are_containerds() -> None:
    result = spec()

    assert result["process"]["capabilities"]["bounding"] == defaults.DEFAULT_CAPABILITIES
    assert result["process"]["capabilities"]["ambient"] == []
    assert result["linux"]["maskedPaths"] == defaults.MASKED_PATHS
    assert result["linux"]["readonlyPaths"] == defaults.READONLY_PATHS
    assert result["linux"]["cgroupsPath"] == "/pilothouse/pod-1/c1"
    assert result["root"] == {"path": "/rootfs", "readonly": False}
    assert result["process"]["noNewPrivileges"] is False
    destinations = [m["destination"] for m in result["mounts"]]
    assert destinations == [
        "/proc", "/dev", "/dev/pts", "/dev/mqueue", "/sys", "/sys/fs/cgroup",
        "/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/dev/shm",
    ]  # fmt: skip
    sys_mount = next(m for m in result["mounts"] if m["destination"] == "/sys")
    assert "ro" in sys_mount["options"]


@pytest.mark.parametrize(
    ("add", "drop", "expected"),
    [
        (["NET_ADMIN"], ["kill", "CAP_CHOWN"], [c for c in defaults.DEFAULT_CAPABILITIES if c not in ("CAP_KILL", "CAP_CHOWN")] + ["CAP_NET_ADMIN"]),
        (["ALL"], [], defaults.ALL_CAPABILITIES),
        (["NET_BIND_SERVICE"], ["ALL"], ["CAP_NET_BIND_SERVICE"]),
    ],
    ids=["add-and-drop", "add-all", "drop-all-then-add"],
)
def test_capabilities_add_and_drop(add: list[str], drop: list[str], expected: list[str]) -> None:
    caps = spec(with_security(capabilities=Capability(add_capabilities=add, drop_capabilities=drop)))
    assert caps["process"]["capabilities"]["effective"] == expected


def test_security_context_options() -> None:
    config = with_security(readonly_rootfs=True, no_new_privs=True, masked_paths=[], readonly_paths=["/proc/x"])
    result = spec(config)

    assert result["root"]["readonly"] is True
    assert result["process"]["noNewPrivileges"] is True
    assert result["linux"]["maskedPaths"] == []
    assert result["linux"]["readonlyPaths"] == ["/proc/x"]
    hosts = next(m for m in result["mounts"] if m["destination"] == "/etc/hosts")
    assert "ro" in hosts["options"]


def test_privileged_containers_get_everything() -> None:
    device = DeviceNode(path="/dev/fuse", type="c", major=10, minor=229, file_mode=0o666, uid=0, gid=0)
    result = spec(with_security(privileged=True), devices=[device])

    assert result["process"]["capabilities"]["bounding"] == defaults.ALL_CAPABILITIES
    assert "maskedPaths" not in result["linux"] and "readonlyPaths" not in result["linux"]
    assert result["linux"]["resources"]["devices"] == defaults.PRIVILEGED_DEVICE_RULES
    assert result["linux"]["devices"][0]["path"] == "/dev/fuse"
    assert "rw" in next(m for m in result["mounts"] if m["destination"] == "/sys")["options"]


def test_bind_mounts_replace_standard_ones_and_set_propagation() -> None:
    config = ContainerConfig(
        command=["app"],
        mounts=[
            Mount(container_path="/etc/hosts", host_path="/kubelet/etc-hosts"),
            Mount(container_path="/data", host_path="/host/data", readonly=True, propagation=MountPropagation.HOST_TO_CONTAINER),
        ],
    )
    result = spec(config)
    by_destination = {m["destination"]: m for m in result["mounts"]}

    assert by_destination["/etc/hosts"]["source"] == "/kubelet/etc-hosts"
    assert [m["destination"] for m in result["mounts"]].count("/etc/hosts") == 1
    assert by_destination["/data"]["options"] == ["rbind", "rslave", "ro"]
    assert result["linux"]["rootfsPropagation"] == "rslave"


def test_resources_and_oom_score() -> None:
    resources = LinuxContainerResources(
        cpu_shares=512, cpu_quota=50_000, cpu_period=100_000, memory_limit_in_bytes=1 << 26, pids_limit=20, oom_score_adj=-997
    )
    result = spec(ContainerConfig(command=["app"], linux=LinuxContainerConfig(resources=resources)), min_oom_score_adj=0)

    assert result["linux"]["resources"]["cpu"] == {"shares": 512, "quota": 50_000, "period": 100_000}
    assert result["linux"]["resources"]["memory"] == {"limit": 1 << 26}
    assert result["linux"]["resources"]["pids"] == {"limit": 20}
    assert result["process"]["oomScoreAdj"] == 0  # raised to what this process may set
    assert result["linux"]["resources"]["devices"][0] == {"allow": False, "access": "rwm"}
