"""``.dockerignore``: which paths of the build context COPY and ADD cannot see.

Docker's rules (moby/patternmatcher): one pattern per line, ``#`` comments, patterns
relative to the context root (a leading ``/`` is dropped), ``*`` and ``?`` within one path
component, ``**`` across any number of components, ``[...]`` classes, ``!`` re-includes.
The last matching pattern wins, and a pattern matching a directory matches everything in it.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    exclusion: bool


class DockerIgnore:
    def __init__(self, lines: list[str]):
        self.patterns: list[_Pattern] = []
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            exclusion = line.startswith("!")
            if exclusion:
                line = line[1:].strip()
            cleaned = posixpath.normpath(line).lstrip("/")
            if cleaned in ("", "."):
                continue
            self.patterns.append(_Pattern(re.compile(pattern_regex(cleaned)), exclusion))

    @classmethod
    def load(cls, context: Path) -> DockerIgnore:
        path = context / ".dockerignore"
        return cls(path.read_text().splitlines() if path.is_file() else [])

    def ignores(self, relative: str) -> bool:
        """Whether the context path ``relative`` (``a/b/c``) is excluded."""
        parents = relative.split("/")
        matched = False
        for pattern in self.patterns:
            if pattern.exclusion != matched:
                continue
            match = bool(pattern.regex.match(relative)) or any(
                pattern.regex.match("/".join(parents[: i + 1])) for i in range(len(parents) - 1)
            )
            if match:
                matched = not pattern.exclusion
        return matched


def pattern_regex(pattern: str, *, double_star: bool = True) -> str:
    """A regex for a path pattern; ``double_star=False`` gives Go's ``filepath.Match``."""
    out = ["^"]
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            if double_star and pattern.startswith("**", i):
                i += 1
                if pattern.startswith("/", i + 1):
                    i += 1  # "**/" also matches no directory at all
                    out.append("(?:.*/)?")
                else:
                    out.append(".*")
            else:
                out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end]
                out.append("[" + ("^" + body[1:] if body.startswith("^") or body.startswith("!") else body) + "]")
                i = end
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    out.append("$")
    return "".join(out)
