"""The API client every component uses: config, REST verbs, informers, work queues."""

from pilothouse.client.config import ClientConfig, ConfigError
from pilothouse.client.informer import Handlers, Informer, InformerFactory, object_key, split_key
from pilothouse.client.rest import APIClient, ObjectList, ResourceClient, WatchEvent
from pilothouse.client.workqueue import WorkQueue, run_workers

__all__ = [
    "APIClient", "ClientConfig", "ConfigError", "Handlers", "Informer", "InformerFactory",
    "ObjectList", "ResourceClient", "WatchEvent", "WorkQueue", "object_key", "run_workers",
    "split_key",
]
