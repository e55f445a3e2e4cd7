"""Per-key exponential back-off, as client-go's flowcontrol.Backoff keeps it for the kubelet.

Each key (a container of a pod, or an image a pod pulls) has a delay that starts at
``initial`` and doubles up to ``maximum`` each time :meth:`Backoff.next` records a failure.
A key forgets its delay when nothing happened to it for twice ``maximum`` (so a container
that ran fine for a long while starts over at ``initial``). Times are wall-clock seconds,
because the events they are compared with (a container's finish time) are.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Entry:
    delay: float
    last_update: float


class Backoff:
    def __init__(
        self, initial: float, maximum: float, *, clock: Callable[[], float] = time.time
    ):
        self.initial = initial
        self.maximum = maximum
        self.clock = clock
        self._entries: dict[str, _Entry] = {}

    def delay(self, key: str) -> float:
        """The current delay of ``key`` (0 if it has none)."""
        entry = self._entries.get(key)
        return entry.delay if entry else 0.0

    def next(self, key: str, event_time: float) -> None:
        """Records a failure at ``event_time``: the next delay doubles (or starts)."""
        entry = self._entries.get(key)
        if entry is None or self._expired(event_time, entry):
            entry = self._entries[key] = _Entry(self.initial, 0.0)
        else:
            entry.delay = min(entry.delay * 2, self.maximum)
        entry.last_update = self.clock()

    def in_backoff_since(self, key: str, event_time: float) -> bool:
        """Whether less than the delay has passed since ``event_time`` (a container's exit)."""
        return self.remaining_since(key, event_time) > 0

    def remaining_since(self, key: str, event_time: float) -> float:
        """Seconds until the delay since ``event_time`` is over (0: not backing off)."""
        entry = self._entries.get(key)
        if entry is None or self._expired(event_time, entry):
            return 0.0
        return max(entry.delay - (self.clock() - event_time), 0.0)

    def remaining_since_update(self, key: str, event_time: float) -> float:
        """Seconds until the delay since the last failure is over, seen at ``event_time``."""
        entry = self._entries.get(key)
        if entry is None or self._expired(event_time, entry):
            return 0.0
        return max(entry.delay - (event_time - entry.last_update), 0.0)

    def reset(self, key: str) -> None:
        self._entries.pop(key, None)

    def gc(self) -> None:
        """Forgets keys that have been quiet long enough to start over anyway."""
        now = self.clock()
        for key in [k for k, e in self._entries.items() if self._expired(now, e)]:
            del self._entries[key]

    def _expired(self, event_time: float, entry: _Entry) -> bool:
        return event_time - entry.last_update > self.maximum * 2
