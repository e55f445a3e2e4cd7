"""Records survive a round trip through JSON."""

from __future__ import annotations

import orjson

from pilothouse.runtime.codec import decode, encode
from pilothouse.runtime.interface import (
    ContainerConfig,
    ContainerMetadata,
    KeyValue,
    LinuxContainerConfig,
    LinuxContainerResources,
    LinuxContainerSecurityContext,
    Mount,
    MountPropagation,
    NamespaceMode,
    NamespaceOption,
)


def test_nested_dataclasses_enums_optionals_and_collections_round_trip() -> None:
    config = ContainerConfig(
        metadata=ContainerMetadata(name="app", attempt=2),
        command=["sh"],
        envs=[KeyValue("A", "1")],
        mounts=[Mount("/d", "/h", readonly=True, propagation=MountPropagation.BIDIRECTIONAL)],
        labels={"k": "v"},
        linux=LinuxContainerConfig(
            resources=LinuxContainerResources(memory_limit_in_bytes=5, unified={"memory.high": "4"}),
            security_context=LinuxContainerSecurityContext(
                run_as_user=0, masked_paths=[], namespace_options=NamespaceOption(pid=NamespaceMode.POD)
            ),
        ),
    )

    decoded = decode(ContainerConfig, orjson.loads(orjson.dumps(encode(config))))

    assert decoded == config
    assert decoded.linux.security_context.readonly_paths is None
    assert decoded.linux.security_context.masked_paths == []


def test_unknown_keys_are_ignored_and_missing_ones_defaulted() -> None:
    assert decode(ContainerMetadata, {"name": "x", "future_field": 1}) == ContainerMetadata(name="x")
