"""Object transformations of the write path: the three patch types, and field ownership with
server-side apply. Pure functions on decoded JSON objects; no I/O.

- ``apply_json_patch`` (RFC 6902, as evanphx/json-patch v4 applies it)
- ``apply_merge_patch`` (RFC 7386, as evanphx/json-patch's MergePatch)
- ``apply_strategic_merge_patch`` (apimachinery's strategicpatch, driven by our schemas)
- ``FieldManager`` (managedFields on create/update/patch, and server-side apply)

Each module's docstring states the upstream behaviour it reproduces.
"""

from pilothouse.api.patch.fieldmanager import LAST_APPLIED, FieldManager
from pilothouse.api.patch.jsonpatch import apply_json_patch
from pilothouse.api.patch.mergepatch import apply_merge_patch
from pilothouse.api.patch.strategic import apply_strategic_merge_patch

__all__ = [
    "LAST_APPLIED",
    "FieldManager",
    "apply_json_patch",
    "apply_merge_patch",
    "apply_strategic_merge_patch",
]
