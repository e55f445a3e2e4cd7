"""Running one CNI plugin binary as the CNI 1.0 execution protocol prescribes.

The runtime's parameters go in environment variables (CNI_COMMAND, CNI_CONTAINERID,
CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH), the network configuration on stdin; the plugin
answers with a result on stdout and exit status 0, or an error object on stdout and a non-zero
status. Each call has a deadline; the plugin sees only PATH and the CNI variables, so nothing
of the caller's environment changes its behaviour.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..process import CommandTimeout, run, search_path
from .errors import InvalidConfig, InvalidResult, PluginError, PluginNotFound, PluginTimeout

# A plugin type names a file in a plugin directory, never a path.
_PLUGIN_TYPE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class PluginCall:
    """The per-invocation parameters of the execution protocol."""

    command: str
    container_id: str = ""
    netns: str = ""
    ifname: str = ""
    args: tuple[tuple[str, str], ...] = ()

    def environment(self, plugin_dirs: Sequence[Path]) -> dict[str, str]:
        return {
            "PATH": search_path(),
            "CNI_COMMAND": self.command,
            "CNI_CONTAINERID": self.container_id,
            "CNI_NETNS": self.netns,
            "CNI_IFNAME": self.ifname,
            "CNI_ARGS": ";".join(f"{key}={value}" for key, value in self.args),
            "CNI_PATH": os.pathsep.join(str(directory) for directory in plugin_dirs),
        }


class PluginExecutor:
    """Finds plugins in ``plugin_dirs`` (first match wins, like CNI_PATH) and runs them."""

    def __init__(self, *, plugin_dirs: Sequence[Path], timeout: float):
        self.plugin_dirs = tuple(plugin_dirs)
        self.timeout = timeout

    def find(self, plugin_type: str) -> Path:
        if not _PLUGIN_TYPE_RE.match(plugin_type):
            raise InvalidConfig(f"invalid plugin type {plugin_type!r}")
        for directory in self.plugin_dirs:
            candidate = directory / plugin_type
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
        searched = ", ".join(str(directory) for directory in self.plugin_dirs)
        raise PluginNotFound(f"CNI plugin {plugin_type!r} not found in {searched}")

    async def run(
        self, plugin_type: str, call: PluginCall, config: bytes
    ) -> Mapping[str, Any] | None:
        """Runs the plugin; returns its JSON output (None when it printed nothing)."""
        binary = self.find(plugin_type)
        try:
            completed = await run(
                [str(binary)],
                stdin=config,
                env=call.environment(self.plugin_dirs),
                time_limit=self.timeout,
            )
        except CommandTimeout as exc:
            raise PluginTimeout(f"plugin {plugin_type} {call.command}: {exc}") from None
        output = _decode(plugin_type, call.command, completed.stdout)
        if completed.returncode != 0:
            raise _plugin_error(plugin_type, call.command, output, completed.stderr)
        return output


def _decode(plugin: str, command: str, stdout: bytes) -> Mapping[str, Any] | None:
    if not stdout.strip():
        return None
    try:
        output = orjson.loads(stdout)
    except orjson.JSONDecodeError:
        output = None
    if not isinstance(output, dict):
        excerpt = stdout[:200].decode(errors="replace")
        raise InvalidResult(f"plugin {plugin} {command} printed no JSON object: {excerpt!r}")
    return output


def _plugin_error(
    plugin: str, command: str, output: Mapping[str, Any] | None, stderr: bytes
) -> PluginError:
    if output is None or not isinstance(output.get("code"), int):
        # Not the error object the specification requires; stderr is all there is to go on.
        message = stderr.decode(errors="replace").strip() or "exited non-zero without an error"
        return PluginError(plugin, command, 0, message)
    return PluginError(
        plugin,
        command,
        output["code"],
        str(output.get("msg", "")),
        str(output.get("details", "")),
    )
