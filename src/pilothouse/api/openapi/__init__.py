"""The OpenAPI documents kube-apiserver serves, generated from the kinds registry.

- ``openapi_v3_index(registry)``: ``/openapi/v3``, each group-version with a content hash.
- ``openapi_v3_group_version(registry, schemas, group, version)``: ``/openapi/v3/apis/<g>/<v>``.
- ``openapi_v2(registry, schemas)``: ``/openapi/v2`` as JSON, and
  ``openapi_v2_protobuf(document)``: the same as gnostic protobuf, which kubectl asks for.

Documents are built from the registry on each call, so custom resources added at run time
appear; callers cache the serialized bytes and rebuild on ``Registry.on_change``. Schemas are
upstream's (see ``definitions``); paths and operations follow kube-apiserver's (``routes``).
"""

from pilothouse.api.openapi.gnostic import MEDIA_TYPE as V2_PROTOBUF_MEDIA_TYPE
from pilothouse.api.openapi.gnostic import RESPONSE_MEDIA_TYPE as V2_PROTOBUF_RESPONSE_MEDIA_TYPE
from pilothouse.api.openapi.gnostic import openapi_v2_protobuf
from pilothouse.api.openapi.v2 import openapi_v2
from pilothouse.api.openapi.v3 import (
    content_hash,
    group_version_path,
    openapi_v3_group_version,
    openapi_v3_index,
)

__all__ = [
    "V2_PROTOBUF_MEDIA_TYPE",
    "V2_PROTOBUF_RESPONSE_MEDIA_TYPE",
    "content_hash",
    "group_version_path",
    "openapi_v2",
    "openapi_v2_protobuf",
    "openapi_v3_group_version",
    "openapi_v3_index",
]
