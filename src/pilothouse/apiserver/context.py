"""What the request handlers share: the registry, schemas, storage and per-kind rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pilothouse.api.resources import Registry, ResourceType
from pilothouse.api.schema import Schema, Schemas
from pilothouse.apiserver.allocators import ServiceAllocations
from pilothouse.apiserver.cacher import Cacher
from pilothouse.apiserver.storage import ObjectStorage
from pilothouse.store.interface import Store


@dataclass
class Settings:
    service_cidr: str = "10.96.0.0/12"
    cluster_cidr: str = "10.244.0.0/16"
    # Address clients inside the cluster reach this server at (kubernetes Service endpoints).
    advertise_address: str = "127.0.0.1"
    port: int = 6443


@dataclass
class APIContext:
    registry: Registry
    schemas: Schemas
    store: Store
    cacher: Cacher
    storage: ObjectStorage
    allocations: ServiceAllocations
    settings: Settings
    _schema_cache: dict[tuple[str, str, str], Schema | None] = field(default_factory=dict)

    def schema_for(self, resource: ResourceType) -> Schema | None:
        """The schema of a resource in its served version (None for unknown kinds)."""
        key = (resource.group, resource.version, resource.kind)
        if key not in self._schema_cache:
            self._schema_cache[key] = self.schemas.for_kind(*key)
        return self._schema_cache[key]

    def storage_schema_for(self, resource: ResourceType) -> Schema | None:
        return self.schema_for(self.registry.storage_resource(resource))


Obj = dict[str, Any]
