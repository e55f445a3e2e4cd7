"""Conversion between the versions the API serves and the version it stores.

Two kinds are served in more than one shape: Events (core/v1, stored, and events.k8s.io/v1)
and HorizontalPodAutoscalers (autoscaling/v2, stored, and autoscaling/v1). ``convert`` turns
an object into another apiVersion of the same kind; converting to the object's own
apiVersion returns it unchanged (the same dict, no copy).
"""

from __future__ import annotations

from collections.abc import Callable

from pilothouse.api.kinds import event, hpa
from pilothouse.api.strategy import Obj

Converter = Callable[[Obj], Obj]

CONVERTERS: dict[tuple[str, str, str], Converter] = {
    ("Event", "v1", "events.k8s.io/v1"): event.to_events_v1,
    ("Event", "events.k8s.io/v1", "v1"): event.to_core_v1,
    ("HorizontalPodAutoscaler", "autoscaling/v2", "autoscaling/v1"): hpa.to_v1,
    ("HorizontalPodAutoscaler", "autoscaling/v1", "autoscaling/v2"): hpa.to_v2,
}


class ConversionError(ValueError):
    """No conversion exists between the two versions of this kind."""


def convert(obj: Obj, *, to_api_version: str) -> Obj:
    kind, from_api_version = obj.get("kind", ""), obj.get("apiVersion", "")
    if from_api_version == to_api_version:
        return obj
    converter = CONVERTERS.get((kind, from_api_version, to_api_version))
    if converter is None:
        raise ConversionError(
            f"no conversion of {kind} from {from_api_version} to {to_api_version}"
        )
    return converter(obj)
