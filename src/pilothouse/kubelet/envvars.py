"""A container's environment, resolved as upstream's makeEnvironmentVariables resolves it.

Order of resolution, exactly upstream's: envFrom sources first (ConfigMaps and Secrets, with
their prefix; a missing optional source is skipped), then each ``env`` entry in order,
replacing what envFrom set: a literal ``value`` has its ``$(VAR)`` references expanded
against the variables so far and the service variables; ``valueFrom`` reads a ConfigMap or
Secret key (optional ones may be missing), a pod field (fieldRef) or a resource
(resourceFieldRef with its divisor, the node's allocatable standing in for a missing
limit). Service variables not overridden come last. Errors carry upstream's messages
(``configmap "x" not found``, ``couldn't find key k in ConfigMap ns/x``), which the pod
reports as CreateContainerConfigError.

:func:`service_environment` gives the Docker-link style variables of the services a pod
sees: those of its namespace when enableServiceLinks, and always ``kubernetes`` from
``default``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import podutil
from .errors import ConfigError
from .expansion import expand, mapping_for
from .fieldpath import FieldPathError, extract_resource_value, pod_field_value

Obj = dict[str, Any]
MASTER_SERVICES = frozenset({"kubernetes"})


class ClusterReader(Protocol):
    """Reads the objects a container's environment refers to; None when not found."""

    async def config_map(self, namespace: str, name: str) -> Obj | None: ...

    async def secret(self, namespace: str, name: str) -> Obj | None: ...


@dataclass
class EnvironmentContext:
    reader: ClusterReader
    service_env: Mapping[str, str] = field(default_factory=dict)
    pod_ips: tuple[str, ...] = ()
    host_ips: tuple[str, ...] = ()
    node_allocatable: Mapping[str, str] = field(default_factory=dict)
    _config_maps: dict[str, Obj] = field(default_factory=dict)
    _secrets: dict[str, Obj] = field(default_factory=dict)

    async def config_map(self, namespace: str, name: str, *, optional: bool) -> Obj | None:
        if name not in self._config_maps:
            found = await self.reader.config_map(namespace, name)
            if found is None:
                if optional:
                    return None
                raise ConfigError(f'configmap "{name}" not found')
            self._config_maps[name] = found
        return self._config_maps[name]

    async def secret(self, namespace: str, name: str, *, optional: bool) -> Obj | None:
        if name not in self._secrets:
            found = await self.reader.secret(namespace, name)
            if found is None:
                if optional:
                    return None
                raise ConfigError(f'secret "{name}" not found')
            self._secrets[name] = found
        return self._secrets[name]


async def make_environment(pod: Obj, container: Obj, context: EnvironmentContext) -> list[tuple[str, str]]:
    namespace = podutil.namespace(pod)
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix") or ""
        for key, value in (await _env_from(namespace, source, context)).items():
            env[prefix + key] = value
    lookup = mapping_for(env, context.service_env)
    for entry in container.get("env") or []:
        value = entry.get("value")
        if value:
            env[entry["name"]] = expand(value, lookup)
        elif entry.get("valueFrom"):
            resolved = await _value_from(pod, container, entry["valueFrom"], context)
            if resolved is None:
                continue  # an optional source that is missing
            env[entry["name"]] = resolved
        else:
            env[entry["name"]] = ""
    result = list(env.items())
    result += [(k, v) for k, v in sorted(context.service_env.items()) if k not in env]
    return result


async def _env_from(namespace: str, source: Obj, context: EnvironmentContext) -> dict[str, str]:
    if source.get("configMapRef"):
        ref = source["configMapRef"]
        config_map = await context.config_map(namespace, ref.get("name", ""), optional=bool(ref.get("optional")))
        return dict((config_map or {}).get("data") or {})
    if source.get("secretRef"):
        ref = source["secretRef"]
        secret = await context.secret(namespace, ref.get("name", ""), optional=bool(ref.get("optional")))
        return {k: _decode(v) for k, v in ((secret or {}).get("data") or {}).items()}
    return {}


async def _value_from(pod: Obj, container: Obj, source: Obj, context: EnvironmentContext) -> str | None:
    namespace = podutil.namespace(pod)
    if source.get("fieldRef"):
        return field_value(pod, source["fieldRef"].get("fieldPath", ""), context.pod_ips, context.host_ips)
    if source.get("resourceFieldRef"):
        return resource_value(pod, container, source["resourceFieldRef"], context.node_allocatable)
    if source.get("configMapKeyRef"):
        ref = source["configMapKeyRef"]
        optional = bool(ref.get("optional"))
        name, key = ref.get("name", ""), ref.get("key", "")
        config_map = await context.config_map(namespace, name, optional=optional)
        if config_map is None:
            return None
        data = config_map.get("data") or {}
        if key not in data:
            if optional:
                return None
            raise ConfigError(f"couldn't find key {key} in ConfigMap {namespace}/{name}")
        return str(data[key])
    if source.get("secretKeyRef"):
        ref = source["secretKeyRef"]
        optional = bool(ref.get("optional"))
        name, key = ref.get("name", ""), ref.get("key", "")
        secret = await context.secret(namespace, name, optional=optional)
        if secret is None:
            return None
        data = secret.get("data") or {}
        if key not in data:
            if optional:
                return None
            raise ConfigError(f"couldn't find key {key} in Secret {namespace}/{name}")
        return _decode(data[key])
    return ""


def _decode(value: str) -> str:
    return base64.b64decode(value).decode(errors="replace")


# -- fieldRef and resourceFieldRef ----------------------------------------------------------


def field_value(pod: Obj, path: str, pod_ips: tuple[str, ...], host_ips: tuple[str, ...]) -> str:
    """The value of a downward API field of the pod."""
    try:
        return pod_field_value(pod, path, pod_ips=pod_ips, host_ips=host_ips)
    except FieldPathError as error:
        raise ConfigError(str(error)) from None


def resource_value(pod: Obj, container: Obj, ref: Obj, node_allocatable: Mapping[str, str]) -> str:
    """The value of a container resource (this container's unless the ref names another)."""
    try:
        return extract_resource_value(ref, pod, node_allocatable, container=container)
    except FieldPathError as error:
        raise ConfigError(str(error)) from None


# -- services --------------------------------------------------------------------------------


def service_environment(services: Iterable[Obj], namespace: str, enable_service_links: bool) -> dict[str, str]:
    chosen: dict[str, Obj] = {}
    for service in services:
        meta = service.get("metadata") or {}
        cluster_ip = (service.get("spec") or {}).get("clusterIP") or ""
        if cluster_ip in ("", "None"):
            continue
        name = meta.get("name", "")
        if meta.get("namespace") == "default" and name in MASTER_SERVICES:
            chosen.setdefault(name, service)
        elif meta.get("namespace") == namespace and enable_service_links:
            chosen[name] = service
    env: dict[str, str] = {}
    for name in sorted(chosen):
        env.update(_service_variables(chosen[name]))
    return env


def _service_variables(service: Obj) -> dict[str, str]:
    spec = service.get("spec") or {}
    prefix = _env_name(service["metadata"]["name"])
    ip = spec["clusterIP"]
    ports = spec.get("ports") or []
    env = {f"{prefix}_SERVICE_HOST": ip}
    if not ports:
        return env
    env[f"{prefix}_SERVICE_PORT"] = str(ports[0].get("port"))
    for port in ports:
        if port.get("name"):
            env[f"{prefix}_SERVICE_PORT_{_env_name(port['name'])}"] = str(port.get("port"))
    host = f"[{ip}]" if ":" in ip else ip
    for index, port in enumerate(ports):
        protocol = (port.get("protocol") or "TCP").lower()
        number = port.get("port")
        url = f"{protocol}://{host}:{number}"
        if index == 0:
            env[f"{prefix}_PORT"] = url
        base = f"{prefix}_PORT_{number}_{protocol.upper()}"
        env[base] = url
        env[f"{base}_PROTO"] = protocol
        env[f"{base}_PORT"] = str(number)
        env[f"{base}_ADDR"] = ip
    return env


def _env_name(name: str) -> str:
    return name.upper().replace("-", "_")
