"""The CNI runtime side: ADD, CHECK and DEL of a network configuration list, with a cache.

What it guarantees, beyond executing plugins exactly as CNI spec 1.0 describes (ADD in
order with each plugin's result as the next one's ``prevResult``; CHECK in order and DEL in
reverse order, both with the cached ADD result as ``prevResult``; execution stops at the
first error):

- A failed ADD is rolled back with a DEL of the whole list, as the specification advises,
  before the error is raised; if that DEL fails too, the cache entry stays for a later DEL.
- DEL is idempotent and never fails because the attachment is half set up or already gone:
  it uses the configuration cached at ADD (or the caller's when nothing is cached), and runs
  with an empty CNI_NETNS when the namespace recorded at ADD no longer exists, so plugins
  release what lives outside the sandbox (addresses, host port rules) and skip the rest.
- No plugin is ever pointed at the node's own namespace or at a namespace other than the
  one ADD wired (see ``netns``): ADD refuses it, DEL substitutes an empty CNI_NETNS.
- ADD on an attachment that already exists first DELs it, so an ADD retried after a crash
  starts from a clean state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .cache import AttachmentCache, CachedAttachment, validate_attachment_key
from .conflist import NetworkConfigList, plugin_config
from .errors import CNIError, InvalidNetns, InvalidResult, NotAttached
from .exec import PluginCall, PluginExecutor
from .netns import netns_identity, own_netns_identity
from .types import Result, parse_result

DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class RuntimeConf:
    """The runtime's arguments to one attachment: which sandbox, which interface, extras."""

    container_id: str
    netns: str
    ifname: str
    # CNI_ARGS, in order (Kubernetes runtimes pass K8S_POD_NAMESPACE, K8S_POD_NAME, ...).
    args: tuple[tuple[str, str], ...] = ()
    # Capability arguments (e.g. "portMappings"), sent as runtimeConfig to declaring plugins.
    capability_args: Mapping[str, Any] = field(default_factory=dict)


class CNIInvoker:
    def __init__(
        self,
        *,
        plugin_dirs: Sequence[Path],
        cache_dir: Path,
        timeout: float = DEFAULT_TIMEOUT,
    ):
        self.executor = PluginExecutor(plugin_dirs=plugin_dirs, timeout=timeout)
        self.cache = AttachmentCache(cache_dir)

    async def add(self, network: NetworkConfigList, rt: RuntimeConf) -> Result:
        """Attaches the sandbox to ``network``; returns the final result of the list."""
        validate_attachment_key(rt.container_id, rt.ifname)
        identity = _sandbox_identity(rt.netns)
        stale = await self.cached(network.name, rt.container_id, rt.ifname)
        if stale is not None:
            await self._delete(stale)
        pending = CachedAttachment(
            network_name=network.name,
            container_id=rt.container_id,
            ifname=rt.ifname,
            netns=rt.netns,
            netns_identity=identity,
            config=network.to_bytes(),
            cni_args=rt.args,
            capability_args=rt.capability_args,
        )
        await asyncio.to_thread(self.cache.store, pending)
        try:
            raw = await self._add_plugins(network, rt)
            result = parse_result(raw)
        except CNIError as error:
            await self._roll_back(pending, error)
            raise
        await asyncio.to_thread(self.cache.store, replace(pending, result=raw))
        return result

    async def check(self, network: NetworkConfigList, rt: RuntimeConf) -> None:
        """Runs CHECK on every plugin; raises if the attachment is not as ADD left it."""
        if network.disable_check:
            return
        attachment = await self.cached(network.name, rt.container_id, rt.ifname)
        if attachment is None or attachment.result is None:
            raise NotAttached(
                f"{rt.container_id}/{rt.ifname} has no completed ADD on network {network.name}"
            )
        if netns_identity(attachment.netns) != attachment.netns_identity:
            raise InvalidNetns(f"network namespace {attachment.netns} of {rt.container_id} is gone")
        cached_network = NetworkConfigList.from_bytes(attachment.config)
        call = _call("CHECK", attachment.container_id, attachment.netns, attachment.ifname,
                     attachment.cni_args)
        for plugin in cached_network.plugins:
            config = plugin_config(
                cached_network,
                plugin,
                capability_args=attachment.capability_args,
                prev_result=attachment.result,
            )
            await self.executor.run(plugin["type"], call, config)

    async def delete(self, network: NetworkConfigList, rt: RuntimeConf) -> None:
        """Detaches the sandbox; succeeds when there is nothing (left) to detach."""
        validate_attachment_key(rt.container_id, rt.ifname)
        attachment = await self.cached(network.name, rt.container_id, rt.ifname)
        if attachment is None:
            # Nothing cached: ADD never started here, or DEL already ran. Plugins still
            # release anything keyed by the container ID alone.
            attachment = CachedAttachment(
                network_name=network.name,
                container_id=rt.container_id,
                ifname=rt.ifname,
                netns=rt.netns,
                netns_identity=_foreign_identity(rt.netns),
                config=network.to_bytes(),
                cni_args=rt.args,
                capability_args=rt.capability_args,
            )
        await self._delete(attachment)

    async def delete_cached(self, network_name: str) -> None:
        """Detaches every sandbox the cache knows on ``network_name``, from the cached
        configurations alone: cleans up a node whose settings (or cluster) are gone."""
        for attachment in await self.cached_attachments(network_name):
            await self._delete(attachment)

    async def cached(
        self, network_name: str, container_id: str, ifname: str
    ) -> CachedAttachment | None:
        return await asyncio.to_thread(self.cache.load, network_name, container_id, ifname)

    async def cached_attachments(self, network_name: str) -> list[CachedAttachment]:
        return await asyncio.to_thread(self.cache.entries, network_name)

    async def supported_versions(self, plugin_type: str, cni_version: str) -> tuple[str, ...]:
        """The spec versions a plugin reports through VERSION."""
        stdin = f'{{"cniVersion":"{cni_version}"}}'.encode()
        output = await self.executor.run(plugin_type, PluginCall("VERSION"), stdin)
        versions = (output or {}).get("supportedVersions")
        if not isinstance(versions, list):
            raise InvalidResult(f"plugin {plugin_type} VERSION gave no supportedVersions")
        return tuple(str(version) for version in versions)

    async def _add_plugins(self, network: NetworkConfigList, rt: RuntimeConf) -> Mapping[str, Any]:
        call = _call("ADD", rt.container_id, rt.netns, rt.ifname, rt.args)
        previous: Mapping[str, Any] | None = None
        for plugin in network.plugins:
            config = plugin_config(
                network, plugin, capability_args=rt.capability_args, prev_result=previous
            )
            output = await self.executor.run(plugin["type"], call, config)
            if output is None:
                raise InvalidResult(f"plugin {plugin['type']} ADD printed no result")
            previous = output
        assert previous is not None  # a NetworkConfigList has at least one plugin
        return previous

    async def _roll_back(self, pending: CachedAttachment, error: CNIError) -> None:
        try:
            await self._delete(pending)
        except CNIError as rollback_error:
            error.add_note(f"rolling back with DEL failed too, will retry at DEL: {rollback_error}")

    async def _delete(self, attachment: CachedAttachment) -> None:
        network = NetworkConfigList.from_bytes(attachment.config)
        # Only the namespace ADD wired is ever entered; if it is gone, its veth went with it.
        alive = (
            attachment.netns_identity is not None
            and netns_identity(attachment.netns) == attachment.netns_identity
        )
        call = _call("DEL", attachment.container_id, attachment.netns if alive else "",
                     attachment.ifname, attachment.cni_args)
        for plugin in reversed(network.plugins):
            config = plugin_config(
                network,
                plugin,
                capability_args=attachment.capability_args,
                prev_result=attachment.result,
            )
            await self.executor.run(plugin["type"], call, config)
        await asyncio.to_thread(
            self.cache.remove, attachment.network_name, attachment.container_id, attachment.ifname
        )


def _call(
    command: str, container_id: str, netns: str, ifname: str, args: tuple[tuple[str, str], ...]
) -> PluginCall:
    return PluginCall(command, container_id=container_id, netns=netns, ifname=ifname, args=args)


def _sandbox_identity(path: str) -> tuple[int, int]:
    identity = netns_identity(path)
    if identity is None:
        raise InvalidNetns(f"network namespace {path!r} does not exist")
    if identity == own_netns_identity():
        raise InvalidNetns(f"{path!r} is the node's own network namespace, not a sandbox's")
    return identity


def _foreign_identity(path: str) -> tuple[int, int] | None:
    identity = netns_identity(path)
    return identity if identity is not None and identity != own_netns_identity() else None
