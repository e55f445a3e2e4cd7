"""Instructions that change only the image config: ENV, LABEL, EXPOSE, USER, CMD, ENTRYPOINT...

Each handler edits the config's ``config`` section in place and returns what the history
records (``/bin/sh -c #(nop) ENV A=b``), with Docker's rules: key=value pairs with quotes
(and the legacy ``ENV key value``), ports normalised to ``80/tcp``, exec and shell forms of
CMD and ENTRYPOINT, and a new ENTRYPOINT dropping a CMD inherited from the base image (but
not one set earlier in the same stage).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import BuildError
from .dockerfile import Instruction, parse_exec_form
from .expand import ShellLexer

DEFAULT_SHELL = ["/bin/sh", "-c"]
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_PORT_RE = re.compile(r"^(\d+)(?:-(\d+))?(?:/(tcp|udp|sctp))?$", re.IGNORECASE)
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


@dataclass
class StageScope:
    """What a stage's instructions see besides the config: ARG values, SHELL, CMD set here."""

    lexer: ShellLexer
    args: dict[str, str] = field(default_factory=dict)
    shell: list[str] = field(default_factory=lambda: list(DEFAULT_SHELL))
    cmd_set: bool = False

    def env(self, section: dict[str, Any]) -> dict[str, str]:
        """Variables for expansion and RUN: ARG values, overridden by ENV."""
        values = dict(self.args)
        for entry in section.get("Env") or []:
            name, _, value = entry.partition("=")
            values[name] = value
        return values


Handler = Callable[[Instruction, dict[str, Any], StageScope], str]


def apply(instruction: Instruction, section: dict[str, Any], scope: StageScope) -> str:
    handler = HANDLERS.get(instruction.keyword)
    if handler is None:
        raise BuildError(f"{instruction.keyword} changes the filesystem, not only the config")
    return handler(instruction, section, scope)


def _key_values(instruction: Instruction, scope: StageScope, section: dict[str, Any]) -> list[tuple[str, str]]:
    env = scope.env(section)
    words = scope.lexer.words(instruction.args, env)
    if not words:
        raise BuildError(f"{instruction.keyword} requires at least one argument")
    if "=" not in words[0]:
        if instruction.keyword == "LABEL":
            raise BuildError("LABEL requires key=value pairs")
        if len(words) < 2:
            raise BuildError(f"{instruction.keyword} {words[0]} needs a value (or use {words[0]}=value)")
        _, _, rest = instruction.args.strip().partition(" ")
        return [(words[0], scope.lexer.word(rest.strip(), env))]
    pairs = []
    for word in words:
        name, equals, value = word.partition("=")
        if not equals or not name:
            raise BuildError(f"{instruction.keyword} names can not be blank" if not name else f"{instruction.keyword}: {word!r} is not key=value")
        pairs.append((name, value))
    return pairs


def _env(instruction: Instruction, section: dict[str, Any], scope: StageScope) -> str:
    pairs = _key_values(instruction, scope, section)
    env = list(section.get("Env") or [])
    for name, value in pairs:
        env = [e for e in env if e.partition("=")[0] != name] + [f"{name}={value}"]
    section["Env"] = env
    return "ENV " + " ".join(f"{n}={v}" for n, v in pairs)


def _label(instruction: Instruction, section: dict[str, Any], scope: StageScope) -> str:
    pairs = _key_values(instruction, scope, section)
    section["Labels"] = {**(section.get("Labels") or {}), **dict(pairs)}
    return "LABEL " + " ".join(f"{n}={v}" for n, v in pairs)


def _expose(instruction: Instruction, section: dict[str, Any], scope: StageScope) -> str:
    ports = dict(section.get("ExposedPorts") or {})
    words = scope.lexer.words(instruction.args, scope.env(section))
    if not words:
        raise BuildError("EXPOSE requires at least one argument")
    for word in words:
        match = _PORT_RE.match(word)
        if match is None:
            raise BuildError(f"invalid containerPort: {word}")
        first, last, protocol = int(match.group(1)), int(match.group(2) or match.group(1)), (match.group(3) or "tcp").lower()
        for port in range(first, last + 1):
            ports[f"{port}/{protocol}"] = {}
    section["ExposedPorts"] = ports
    return "EXPOSE " + " ".join(sorted(ports))


def _user(instruction: Instruction, section: dict[str, Any], scope: StageScope) -> str:
    user = scope.lexer.word(instruction.args, scope.env(section)).strip()
    if not user:
        raise BuildError("USER requires exactly one argument")
    section["User"] = user
    return f"USER {user}"


def command_form(instruction: Instruction, scope: StageScope) -> list[str]:
    """The argv of an exec-form instruction, or the shell form wrapped in the stage's SHELL."""
    if instruction.exec_form is not None:
        return list(instruction.exec_form)
    if not instruction.args:
        raise BuildError(f"{instruction.keyword} requires at least one argument")
    return [*scope.shell, instruction.args]


def _cmd(instruction: Instruction, section: dict[str, Any], scope: StageScope) -> str:
    section["Cmd"] = command_form(instruction, scope)
    scope.cmd_set = True
    return f"CMD {_render(section['Cmd'])}"


def _entrypoint(instruction: Instruction, section: dict[str, Any], scope: StageScope) -> str:
    section["Entrypoint"] = command_form(instruction, scope)
    if not scope.cmd_set:
        section["Cmd"] = None  # a base image's CMD means nothing to a new ENTRYPOINT
    return f"ENTRYPOINT {_render(section['Entrypoint'])}"


def _stopsignal(instruction: Instruction, section: dict[str, Any], scope: StageScope) -> str:
    signal = scope.lexer.word(instruction.args, scope.env(section)).strip()
    if not re.match(r"^(SIG)?[A-Z0-9+-]+$", signal) or not signal:
        raise BuildError(f"invalid stop signal {signal!r}")
    section["StopSignal"] = signal
    return f"STOPSIGNAL {signal}"


def _shell(instruction: Instruction, section: dict[str, Any], scope: StageScope) -> str:
    if not instruction.exec_form:
        raise BuildError("SHELL requires the arguments to be in JSON form")
    scope.shell = list(instruction.exec_form)
    section["Shell"] = list(instruction.exec_form)
    return f"SHELL {_render(scope.shell)}"


def _volume(instruction: Instruction, section: dict[str, Any], scope: StageScope) -> str:
    paths = instruction.exec_form if instruction.exec_form is not None else scope.lexer.words(instruction.args, scope.env(section))
    if not paths or any(not p.strip() for p in paths):
        raise BuildError("VOLUME specified can not be an empty string")
    section["Volumes"] = {**(section.get("Volumes") or {}), **{p: {} for p in paths}}
    return f"VOLUME {_render(paths)}"


def _healthcheck(instruction: Instruction, section: dict[str, Any], scope: StageScope) -> str:
    if instruction.args.upper() == "NONE":
        section["Healthcheck"] = {"Test": ["NONE"]}
        return "HEALTHCHECK NONE"
    kind, _, rest = instruction.args.partition(" ")
    if kind.upper() != "CMD" or not rest.strip():
        raise BuildError("HEALTHCHECK requires NONE or CMD followed by a command")
    inner = Instruction(instruction.line, "CMD", rest.strip(), exec_form=parse_exec_form(rest.strip()))
    test = ["CMD", *inner.exec_form] if inner.exec_form is not None else ["CMD-SHELL", inner.args]
    check: dict[str, Any] = {"Test": test}
    for flag, key in (("interval", "Interval"), ("timeout", "Timeout"), ("start-period", "StartPeriod")):
        if flag in instruction.flags:
            check[key] = _duration(instruction.flags[flag])
    if "retries" in instruction.flags:
        check["Retries"] = int(instruction.flags["retries"])
    section["Healthcheck"] = check
    return f"HEALTHCHECK {_render(test)}"


def _onbuild(instruction: Instruction, section: dict[str, Any], scope: StageScope) -> str:
    section["OnBuild"] = [*(section.get("OnBuild") or []), instruction.args]
    return f"ONBUILD {instruction.args}"


def _duration(text: str) -> int:
    total, position = 0, 0
    for match in _DURATION_RE.finditer(text):
        if match.start() != position:
            break
        total += int(float(match.group(1)) * _DURATION_UNITS[match.group(2)])
        position = match.end()
    if position != len(text) or not text:
        raise BuildError(f"invalid duration {text!r}")
    return total


def _render(argv: list[str] | None) -> str:
    return json.dumps(argv)


HANDLERS: dict[str, Handler] = {
    "ENV": _env,
    "LABEL": _label,
    "EXPOSE": _expose,
    "USER": _user,
    "CMD": _cmd,
    "ENTRYPOINT": _entrypoint,
    "STOPSIGNAL": _stopsignal,
    "SHELL": _shell,
    "VOLUME": _volume,
    "HEALTHCHECK": _healthcheck,
    "ONBUILD": _onbuild,
}
