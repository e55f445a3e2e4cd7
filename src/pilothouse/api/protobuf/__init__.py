"""The Kubernetes protobuf wire encoding of API objects (``application/vnd.kubernetes.protobuf``).

``decode(body)`` turns a request body into the JSON-form dict of the object. Message layouts
come from ``descriptors.json``, extracted from the descriptors kubectl itself is built with.
"""

from pilothouse.api.protobuf.decode import MAGIC, MEDIA_TYPE, decode

__all__ = ["MAGIC", "MEDIA_TYPE", "decode"]
