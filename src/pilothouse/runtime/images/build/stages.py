"""Splitting a Dockerfile into build stages and choosing which ones a target needs.

ARGs before the first FROM are global: they may be used in FROM lines (and re-declared in a
stage to be used there). ``FROM base AS name`` names a stage; later stages may build on it
(``FROM name``) or copy from it (``COPY --from=name`` or ``--from=<index>``). Only the stages
the target stage depends on are built, as BuildKit does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..manifests import host_platform
from .dockerfile import Dockerfile, Instruction
from .expand import ShellLexer

_STAGE_NAME_RE = re.compile(r"^[a-z][a-z0-9-_.]*$")


@dataclass
class Stage:
    index: int
    base: str  # image reference, "scratch", or an earlier stage's name
    name: str | None
    line: int
    instructions: list[Instruction] = field(default_factory=list)
    dependencies: set[int] = field(default_factory=set)


@dataclass
class StagePlan:
    global_args: dict[str, str | None]  # name -> default (None: no default)
    stages: list[Stage]

    def target(self, name: str | None) -> Stage:
        if name is None:
            return self.stages[-1]
        for stage in self.stages:
            if stage.name == name.lower():
                return stage
        raise KeyError(name)

    def needed(self, target: Stage) -> list[Stage]:
        """``target`` and the stages it depends on, in Dockerfile order."""
        wanted = {target.index}
        pending = [target]
        while pending:
            for dependency in pending.pop().dependencies:
                if dependency not in wanted:
                    wanted.add(dependency)
                    pending.append(self.stages[dependency])
        return [s for s in self.stages if s.index in wanted]


def plan_stages(dockerfile: Dockerfile, build_args: dict[str, str]) -> StagePlan:
    lexer = ShellLexer(dockerfile.escape)
    global_args: dict[str, str | None] = {}
    stages: list[Stage] = []
    for instruction in dockerfile.instructions:
        if instruction.keyword == "ARG" and not stages:
            for name, default in parse_arg(instruction, lexer, _global_values(global_args, build_args), dockerfile):
                global_args[name] = default
            continue
        if instruction.keyword == "FROM":
            stages.append(_stage(instruction, len(stages), lexer, _global_values(global_args, build_args), dockerfile, stages))
            continue
        if not stages:
            raise dockerfile.error(instruction.line, f"{instruction.keyword} before the first FROM: no build stage in current context")
        stage = stages[-1]
        stage.instructions.append(instruction)
        source = instruction.flags.get("from") if instruction.keyword == "COPY" else None
        if source is not None:
            dependency = _stage_ref(source, stages[:-1])
            if dependency is not None:
                stage.dependencies.add(dependency)
    if not stages:
        raise dockerfile.error(max(1, len(dockerfile.instructions)), "no FROM instruction: a Dockerfile must have at least one build stage")
    return StagePlan(global_args=global_args, stages=stages)


def parse_arg(
    instruction: Instruction, lexer: ShellLexer, env: dict[str, str], dockerfile: Dockerfile
) -> list[tuple[str, str | None]]:
    """``ARG a b=1``: the names with their (expanded) defaults."""
    declared = []
    for word in lexer.words(instruction.args, env) if instruction.args else []:
        name, equals, default = word.partition("=")
        if not name:
            raise dockerfile.error(instruction.line, "ARG names can not be blank")
        declared.append((name, default if equals else None))
    if not declared:
        raise dockerfile.error(instruction.line, "ARG requires exactly one argument")
    return declared


def _global_values(global_args: dict[str, str | None], build_args: dict[str, str]) -> dict[str, str]:
    values = {}
    for name, default in global_args.items():
        value = build_args.get(name, default)
        if value is not None:
            values[name] = value
    return values


def _stage(
    instruction: Instruction,
    index: int,
    lexer: ShellLexer,
    env: dict[str, str],
    dockerfile: Dockerfile,
    earlier: list[Stage],
) -> Stage:
    if "platform" in instruction.flags:
        _check_platform(instruction, lexer, env, dockerfile)
    words = lexer.words(instruction.args, env)
    if len(words) not in (1, 3) or (len(words) == 3 and words[1].lower() != "as"):
        raise dockerfile.error(instruction.line, "FROM requires either one or three arguments: FROM <image> [AS <name>]")
    name = words[2].lower() if len(words) == 3 else None
    if name is not None and not _STAGE_NAME_RE.match(name):
        raise dockerfile.error(instruction.line, f"invalid name for build stage: {words[2]!r}, name can't start with a number or contain symbols")
    if name is not None and any(s.name == name for s in earlier):
        raise dockerfile.error(instruction.line, f"duplicate stage name {name!r}")
    stage = Stage(index=index, base=words[0], name=name, line=instruction.line)
    dependency = _stage_ref(words[0], earlier, by_index=False)
    if dependency is not None:
        stage.dependencies.add(dependency)
    return stage


def _check_platform(instruction: Instruction, lexer: ShellLexer, env: dict[str, str], dockerfile: Dockerfile) -> None:
    """``FROM --platform=``: only this machine's platform can be built (no emulation)."""
    here = host_platform()
    automatic = {"BUILDPLATFORM": str(here), "TARGETPLATFORM": str(here)}
    wanted = lexer.word(instruction.flags["platform"], {**automatic, **env})
    parts = wanted.split("/")
    if parts[:2] != [here.os, here.architecture] or (len(parts) > 2 and parts[2] != here.variant):
        raise dockerfile.error(instruction.line, f"FROM --platform={wanted}: only {here} can be built on this machine")


def _stage_ref(text: str, earlier: list[Stage], *, by_index: bool = True) -> int | None:
    for stage in earlier:
        if stage.name is not None and stage.name == text.lower():
            return stage.index
    if by_index and text.isdigit() and int(text) < len(earlier):
        return int(text)
    return None
