"""Lifecycle hooks (postStart, preStop): exec in the container, HTTP GET, or sleep.

:meth:`HookRunner.run` returns None on success, or the message upstream's handler runner
gives on failure (``Exec lifecycle hook ([cmd]) for Container "c" in Pod "p_ns(uid)" failed
- error: ..., message: "..."``). An exec hook fails when its command exits non-zero; an
HTTP hook only when the request cannot be made (the response code does not matter).
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from pilothouse.runtime.errors import ContainerRuntimeError

from . import podutil
from .expansion import expand_with_static_env
from .prober import ActionError, ActionRunner, http_url

Obj = dict[str, Any]
HOOK_HTTP_TIMEOUT = 30.0


class HookRunner:
    def __init__(self, actions: ActionRunner):
        self.actions = actions

    async def run(self, hook: Obj, *, pod: Obj, container: Obj, container_id: str, pod_ip: str) -> str | None:
        where = f'for Container "{container["name"]}" in Pod "{podutil.describe(pod)}"'
        if hook.get("exec") is not None:
            return await self._exec(hook["exec"], container, container_id, where)
        if hook.get("httpGet") is not None:
            return await self._http(hook["httpGet"], container, pod_ip, where)
        if hook.get("sleep") is not None:
            await asyncio.sleep(int(hook["sleep"].get("seconds") or 0))
            return None
        return f"Cannot run handler: invalid handler: {hook}"

    async def _exec(self, action: Obj, container: Obj, container_id: str, where: str) -> str | None:
        raw = list(action.get("command") or [])
        command = expand_with_static_env(raw, container.get("env") or [])
        shown = "[" + " ".join(raw) + "]"
        try:
            response = await self.actions.runtime.exec_sync(container_id, command)
        except ContainerRuntimeError as error:
            return f'Exec lifecycle hook ({shown}) {where} failed - error: {error}, message: ""'
        if response.exit_code == 0:
            return None
        output = (response.stdout + response.stderr).decode(errors="replace")
        cause = f"command '{' '.join(command)}' exited with {response.exit_code}: {response.stderr.decode(errors='replace')}"
        return f"Exec lifecycle hook ({shown}) {where} failed - error: {cause}, message: {_go_quote(output)}"

    async def _http(self, action: Obj, container: Obj, pod_ip: str, where: str) -> str | None:
        path = action.get("path") or ""
        try:
            url = http_url(action, container, pod_ip)
            headers = {h.get("name", ""): h.get("value", "") for h in action.get("httpHeaders") or []}
            async with asyncio.timeout(HOOK_HTTP_TIMEOUT):
                async with self.actions.session().get(url, headers=headers) as response:
                    await response.read()
        except (ActionError, aiohttp.ClientError, OSError, TimeoutError) as error:
            return f"HTTP lifecycle hook ({path}) {where} failed - error: {error}"
        return None


def _go_quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'
