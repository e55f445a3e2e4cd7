"""Network configuration lists and the per-plugin configuration the runtime derives from them.

Follows CNI spec 1.0 ("Network configuration lists", "Deriving execution configuration from
plugin configuration"): each plugin receives its own object with the list's ``name`` and
``cniVersion`` injected, ``runtimeConfig`` holding only the capability arguments the plugin
declares in ``capabilities``, and ``prevResult`` when there is one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from .errors import InvalidConfig

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class NetworkConfigList:
    name: str
    cni_version: str
    plugins: tuple[Mapping[str, Any], ...]
    disable_check: bool = False

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise InvalidConfig(f"invalid network name {self.name!r}")
        if not self.plugins:
            raise InvalidConfig(f"network {self.name} has no plugins")
        for plugin in self.plugins:
            if not isinstance(plugin.get("type"), str):
                raise InvalidConfig(f"network {self.name}: a plugin has no type")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "cniVersion": self.cni_version,
            "name": self.name,
            "plugins": [dict(plugin) for plugin in self.plugins],
        }
        if self.disable_check:
            data["disableCheck"] = True
        return data

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.to_json())

    @classmethod
    def from_bytes(cls, data: bytes) -> NetworkConfigList:
        try:
            parsed = orjson.loads(data)
            return cls(
                name=parsed["name"],
                cni_version=parsed["cniVersion"],
                plugins=tuple(parsed["plugins"]),
                disable_check=_is_true(parsed.get("disableCheck", False)),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise InvalidConfig(f"malformed network configuration list: {exc!r}") from exc


def plugin_config(
    network: NetworkConfigList,
    plugin: Mapping[str, Any],
    *,
    capability_args: Mapping[str, Any],
    prev_result: Mapping[str, Any] | None,
) -> bytes:
    """The stdin of one plugin execution."""
    config = dict(plugin)
    config["name"] = network.name
    config["cniVersion"] = network.cni_version
    declared = plugin.get("capabilities") or {}
    runtime_config = {
        key: value for key, value in capability_args.items() if declared.get(key) is True
    }
    if runtime_config:
        config["runtimeConfig"] = runtime_config
    else:
        config.pop("runtimeConfig", None)
    if prev_result is not None:
        config["prevResult"] = prev_result
    return orjson.dumps(config)


def _is_true(value: Any) -> bool:
    # The specification writes disableCheck as a string; accept the boolean too.
    return value is True or (isinstance(value, str) and value.lower() == "true")
