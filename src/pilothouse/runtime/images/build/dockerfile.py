"""Parsing a Dockerfile into instructions, as Docker's parser does.

- Parser directives (``# escape=`` and ``# syntax=``) are read only at the very top; the
  escape character (``\\`` or a backtick) ends a line that continues on the next one.
- Comment lines are dropped, also inside a continued instruction; blank continuation lines
  are skipped.
- Each instruction keeps the line it starts on, its flags (``--from=build``), its raw
  arguments and, when they are a JSON array of strings, its exec form.

Errors are :class:`DockerfileError` naming the file and line: ``Dockerfile:3: unknown
instruction: RUNN``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ..errors import DockerfileError

INSTRUCTIONS = frozenset(
    {
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
        "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
    }
)
_DIRECTIVE_RE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_FLAG_RE = re.compile(r"^--([a-zA-Z][a-zA-Z0-9-]*)(?:=(\S*))?$")


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str  # upper case
    args: str  # everything after the keyword and flags, continuations joined
    flags: dict[str, str] = field(default_factory=dict)
    exec_form: list[str] | None = None  # the arguments if they are a JSON array of strings
    original: str = ""  # the instruction as written, for messages and cache keys


@dataclass(frozen=True)
class Dockerfile:
    filename: str
    escape: str
    instructions: list[Instruction]

    def error(self, line: int, message: str) -> DockerfileError:
        return DockerfileError(self.filename, line, message)


def parse_dockerfile(text: str, *, filename: str = "Dockerfile") -> Dockerfile:
    lines = text.splitlines()
    escape, first = _directives(lines, filename)
    instructions = []
    number = first
    while number < len(lines):
        start = number
        text = lines[number].strip()
        number += 1
        if not text or text.startswith("#"):
            continue
        # Like Docker: drop the escape at the end, append the next meaningful line with its
        # leading whitespace trimmed, without adding a separator.
        while text.rstrip().endswith(escape):
            text = text.rstrip()[: -len(escape)]
            while number < len(lines):
                candidate = lines[number].lstrip()
                number += 1
                if candidate.strip() and not candidate.startswith("#"):
                    text += candidate.rstrip()
                    break
            else:
                break
        instructions.append(_instruction(text.strip(), start + 1, filename))
    return Dockerfile(filename=filename, escape=escape, instructions=instructions)


def _directives(lines: list[str], filename: str) -> tuple[str, int]:
    escape = "\\"
    seen: set[str] = set()
    for number, line in enumerate(lines):
        match = _DIRECTIVE_RE.match(line.strip())
        if match is None:
            return escape, number
        name, value = match.group(1).lower(), match.group(2)
        if name in seen:
            raise DockerfileError(filename, number + 1, f"only one {name} parser directive can be used")
        seen.add(name)
        if name == "escape":
            if value not in ("\\", "`"):
                raise DockerfileError(filename, number + 1, f"invalid escape token {value!r}: must be ` or \\")
            escape = value
    return escape, len(lines)


def _instruction(text: str, line: int, filename: str) -> Instruction:
    keyword, _, rest = text.partition(" ")
    keyword_upper = keyword.upper()
    if keyword_upper not in INSTRUCTIONS:
        raise DockerfileError(filename, line, f"unknown instruction: {keyword}")
    flags, args = _split_flags(rest.strip(), keyword_upper, line, filename)
    return Instruction(
        line=line,
        keyword=keyword_upper,
        args=args,
        flags=flags,
        exec_form=parse_exec_form(args),
        original=f"{keyword_upper} {rest.strip()}".strip(),
    )


# The flags each instruction accepts: name -> whether it is a boolean (no value needed).
FLAGS: dict[str, dict[str, bool]] = {
    "ADD": {"chown": False, "chmod": False, "link": True, "checksum": False, "keep-git-dir": True},
    "COPY": {"from": False, "chown": False, "chmod": False, "link": True, "parents": True},
    "FROM": {"platform": False},
    "RUN": {"mount": False, "network": False, "security": False},
    "HEALTHCHECK": {"interval": False, "timeout": False, "start-period": False, "start-interval": False, "retries": False},
}


def _split_flags(rest: str, keyword: str, line: int, filename: str) -> tuple[dict[str, str], str]:
    flags: dict[str, str] = {}
    allowed = FLAGS.get(keyword, {})
    while allowed and rest.startswith("--"):
        token, _, remainder = rest.partition(" ")
        if token == "--":
            break
        match = _FLAG_RE.match(token)
        if match is None:
            raise DockerfileError(filename, line, f"invalid flag {token!r}")
        name, value = match.group(1), match.group(2)
        if name not in allowed:
            raise DockerfileError(filename, line, f"unknown flag: --{name}")
        if value is None and not allowed[name]:
            raise DockerfileError(filename, line, f"missing a value on flag: --{name}")
        flags[name] = value if value is not None else "true"
        rest = remainder.strip()
    return flags, rest


def parse_exec_form(args: str) -> list[str] | None:
    """The arguments as a list if they are a JSON array of strings (the exec form)."""
    if not args.startswith("["):
        return None
    try:
        value = json.loads(args)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None
