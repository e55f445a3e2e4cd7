"""Dataclasses to JSON-ready dicts and back, for the records the runtime keeps on disk.

``decode(cls, encode(obj)) == obj`` for the interface's dataclasses: nested dataclasses,
``list[...]``, ``dict[str, ...]``, ``X | None`` and int enums. Unknown keys are ignored and
missing ones take the field's default, so records written by an older version still load.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


def encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        return {key: encode(item) for key, item in value.items()}
    return value


def decode(cls: type[T], data: Any) -> T:
    return _decode(cls, data)


def _decode(hint: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _decode(inner, data)
    if origin is list:
        (item,) = typing.get_args(hint)
        return [_decode(item, element) for element in data]
    if origin is dict:
        _key, item = typing.get_args(hint)
        return {key: _decode(item, element) for key, element in data.items()}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = _field_types(hint)
        known = {name: _decode(hints[name], value) for name, value in data.items() if name in hints}
        return hint(**known)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(data)
    return data


@cache
def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}
