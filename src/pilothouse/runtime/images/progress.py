"""Progress of pulls and pushes: events from the registry code, drawn on a terminal.

The registry code reports per item (a layer, the config) a status such as ``Downloading``
with byte counts; a :class:`ProgressSink` decides what to do with it. :class:`TerminalProgress`
draws one line per item and redraws them in place on a terminal (as ``docker pull`` does),
or prints only status changes when the output is not a terminal.
"""

from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO

REDRAW_INTERVAL = 0.1


class ProgressSink(Protocol):
    def update(self, item: str, status: str, current: int = 0, total: int | None = None) -> None:
        """``item`` (a short digest) is now in ``status``, ``current`` of ``total`` bytes."""


class TerminalProgress:
    """Docker-style progress lines on ``stream``."""

    def __init__(self, stream: TextIO | None = None):
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()
        self._items: dict[str, str] = {}
        self._statuses: dict[str, str] = {}
        self._drawn_lines = 0
        self._last_draw = 0.0

    def update(self, item: str, status: str, current: int = 0, total: int | None = None) -> None:
        line = f"{item}: {status}"
        if total:
            line += f" {_bar(current, total)} {_human(current)}/{_human(total)}"
        changed = self._statuses.get(item) != status
        self._statuses[item] = status
        self._items[item] = line
        if not self._tty:
            if changed:
                self._stream.write(f"{item}: {status}\n")
                self._stream.flush()
            return
        now = time.monotonic()
        if total and current < total and now - self._last_draw < REDRAW_INTERVAL:
            return
        self._last_draw = now
        self._redraw()

    def _redraw(self) -> None:
        if self._drawn_lines:
            self._stream.write(f"\x1b[{self._drawn_lines}A")
        for line in self._items.values():
            self._stream.write(f"\x1b[2K{line}\n")
        self._drawn_lines = len(self._items)
        self._stream.flush()


def _bar(current: int, total: int, width: int = 40) -> str:
    filled = min(width, width * current // max(total, 1))
    arrow = ">" if filled < width else ""
    return "[" + "=" * max(filled - len(arrow), 0) + arrow + " " * (width - filled) + "]"


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.3g}{unit}"
        value /= 1000
    return f"{value:.3g}GB"
