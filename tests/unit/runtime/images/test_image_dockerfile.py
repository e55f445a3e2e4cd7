"""Dockerfile parsing, variable expansion, .dockerignore and config-only instructions."""

from __future__ import annotations

import pytest

from pilothouse.runtime.images.build import instructions
from pilothouse.runtime.images.build.dockerfile import parse_dockerfile
from pilothouse.runtime.images.build.expand import ExpansionError, ShellLexer
from pilothouse.runtime.images.build.ignore import DockerIgnore
from pilothouse.runtime.images.build.stages import plan_stages
from pilothouse.runtime.images.errors import BuildError, DockerfileError


def test_continuations_comments_and_forms() -> None:
    dockerfile = parse_dockerfile(
        "# syntax=docker/dockerfile:1\n"
        "FROM busybox AS base\n"
        "# a comment\n"
        "RUN echo a \\\n"
        "  # comment inside\n"
        "\n"
        "  && echo b\\\n"
        "c\n"
        'CMD ["sh", "-c", "x"]\n'
        "ENTRYPOINT echo [not json\n"
        "copy --from=base --chown=1:2 a /b/\n"
    )
    run, cmd, entrypoint, copy = dockerfile.instructions[1:]
    assert (run.line, run.args) == (4, "echo a && echo bc")
    assert (cmd.line, cmd.exec_form) == (9, ["sh", "-c", "x"])
    assert entrypoint.exec_form is None
    assert (copy.keyword, copy.flags, copy.args) == ("COPY", {"from": "base", "chown": "1:2"}, "a /b/")


def test_escape_directive() -> None:
    dockerfile = parse_dockerfile("# escape=`\nFROM scratch\nCOPY a `\n  c:\\dir\\\n")
    assert dockerfile.escape == "`"
    assert dockerfile.instructions[1].args == "a c:\\dir\\"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("FROM busybox\nRUN true\nRUNN x\n", 3, "unknown instruction: RUNN"),
        ("# escape=x\nFROM a\n", 1, "invalid escape token"),
        ("# escape=`\n# escape=\\\nFROM a\n", 2, "only one escape parser directive"),
        ("FROM busybox\nCOPY --from x y\n", 2, "missing a value on flag: --from"),
        ("FROM busybox\nCOPY --frmo=x y z\n", 2, "unknown flag: --frmo"),
    ],
)
def test_parse_errors_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(DockerfileError) as caught:
        parse_dockerfile(text, filename="Dockerfile")
    assert caught.value.line == line
    assert str(caught.value).startswith(f"Dockerfile:{line}: ")
    assert message in str(caught.value)


def test_stages_args_and_dependencies() -> None:
    dockerfile = parse_dockerfile(
        "ARG BASE=busybox\nARG TAG\n"
        "FROM $BASE:${TAG:-latest} AS build\n"
        "FROM scratch AS unused\n"
        "FROM build AS test\n"
        "FROM scratch\nCOPY --from=test /a /a\nCOPY --from=0 /b /b\n"
    )
    plan = plan_stages(dockerfile, {"TAG": "1.36"})
    assert [s.base for s in plan.stages] == ["busybox:1.36", "scratch", "build", "scratch"]
    assert [s.index for s in plan.needed(plan.target(None))] == [0, 2, 3]
    assert [s.index for s in plan.needed(plan.target("test"))] == [0, 2]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("RUN true\n", "before the first FROM"),
        ("FROM a b\n", "FROM requires either one or three arguments"),
        ("FROM a AS 1x\n", "invalid name for build stage"),
        ("FROM a AS x\nFROM b AS x\n", "duplicate stage name"),
        ("ARG\nFROM a\n", "ARG requires exactly one argument"),
    ],
)
def test_stage_errors(text: str, message: str) -> None:
    with pytest.raises(DockerfileError, match=message):
        plan_stages(parse_dockerfile(text), {})


@pytest.mark.parametrize(
    ("text", "word", "words"),
    [
        ("$A", "x y", ["x", "y"]),
        ('"$A"', "x y", ["x y"]),
        ("'$A'", "$A", ["$A"]),
        ("${B:-def}", "def", ["def"]),
        ("${B-def}", "", []),
        ("${NOPE-def}", "def", ["def"]),
        ("${C:+alt}", "alt", ["alt"]),
        ("${NOPE:+alt}", "", []),
        ("a\\ b", "a b", ["a b"]),
        ('"a \\"q\\" b"', 'a "q" b', ['a "q" b']),
        ("pre${C}post $", "precpost $", ["precpost", "$"]),
        ('x "" y', "x  y", ["x", "y"]),
    ],
)
def test_expansion_like_docker(text: str, word: str, words: list[str]) -> None:
    env = {"A": "x y", "B": "", "C": "c"}
    lexer = ShellLexer()
    assert lexer.word(text, env) == word
    assert lexer.words(text, env) == words


@pytest.mark.parametrize("text", ["'open", '"open', "${open", "${NOPE:?must be set}"])
def test_expansion_errors(text: str) -> None:
    with pytest.raises(ExpansionError):
        ShellLexer().word(text, {})


def test_dockerignore_rules() -> None:
    ignore = DockerIgnore(
        ["# comment", "*.log", "!keep.log", "build/", "**/secret*", "/tmp/x", "docs", "!docs/README.md", "a?c", "[xy].txt"]
    )
    expected = {
        "a.log": True, "keep.log": False, "sub/a.log": False, "build/x/y": True, "buildx": False,
        "a/b/secret.txt": True, "secret": True, "tmp/x/y": True, "docs/a": True,
        "docs/README.md": False, "abc": True, "x.txt": True, "z.txt": False, "src/main.py": False,
    }
    assert {path: ignore.ignores(path) for path in expected} == expected


def _section_after(*lines: str, base: dict | None = None) -> dict:  # type: ignore[type-arg]
    section = dict(base or {"Cmd": ["sh"], "Env": ["PATH=/bin"]})
    scope = instructions.StageScope(lexer=ShellLexer(), args={"V": "1.0"})
    for instruction in parse_dockerfile("FROM x\n" + "\n".join(lines)).instructions[1:]:
        instructions.apply(instruction, section, scope)
    return section


def test_env_label_expose_user_stopsignal() -> None:
    section = _section_after(
        'ENV A=$V B="two words" PATH=/usr/bin:$PATH',
        "ENV LEGACY value with spaces",
        'LABEL org.v="${V}" "spaced key"=x',
        "EXPOSE 80 53/udp 8000-8001/TCP",
        "USER app:app",
        "STOPSIGNAL SIGINT",
        'VOLUME ["/data"]',
    )
    assert section["Env"] == ["A=1.0", "B=two words", "PATH=/usr/bin:/bin", "LEGACY=value with spaces"]
    assert section["Labels"] == {"org.v": "1.0", "spaced key": "x"}
    assert section["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}, "8000/tcp": {}, "8001/tcp": {}}
    assert (section["User"], section["StopSignal"], section["Volumes"]) == ("app:app", "SIGINT", {"/data": {}})


@pytest.mark.parametrize(
    ("lines", "entrypoint", "cmd"),
    [
        (["ENTRYPOINT [\"/app\"]"], ["/app"], None),  # the base image's CMD is dropped
        (["CMD [\"x\"]", "ENTRYPOINT [\"/app\"]"], ["/app"], ["x"]),  # set in this stage: kept
        (["ENTRYPOINT [\"/app\"]", "CMD [\"x\"]"], ["/app"], ["x"]),
        (["ENTRYPOINT /app --flag"], ["/bin/sh", "-c", "/app --flag"], None),
        (["CMD echo $HOME"], None, ["/bin/sh", "-c", "echo $HOME"]),
        (['SHELL ["/bin/bash", "-ec"]', "CMD echo hi"], None, ["/bin/bash", "-ec", "echo hi"]),
    ],
)
def test_entrypoint_and_cmd_combine_like_docker(lines: list[str], entrypoint: list[str] | None, cmd: list[str] | None) -> None:
    section = _section_after(*lines)
    assert section.get("Entrypoint") == entrypoint
    assert section.get("Cmd", ["sh"]) == (cmd if lines[0] != "CMD echo $HOME" else cmd)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("ENV", "requires at least one argument"),
        ("ENV =x", "names can not be blank"),
        ("LABEL novalue", "key=value"),
        ("EXPOSE eighty", "invalid containerPort"),
        ("SHELL /bin/sh -c", "JSON form"),
        ("HEALTHCHECK --interval=5x CMD true", "invalid duration"),
    ],
)
def test_instruction_errors(line: str, message: str) -> None:
    with pytest.raises(BuildError, match=message):
        _section_after(line)


def test_healthcheck() -> None:
    section = _section_after("HEALTHCHECK --interval=1m30s --retries=3 CMD curl -f http://localhost/")
    assert section["Healthcheck"] == {
        "Test": ["CMD-SHELL", "curl -f http://localhost/"], "Interval": 90_000_000_000, "Retries": 3,
    }


def test_from_platform_must_be_this_machine() -> None:
    from pilothouse.runtime.images.manifests import host_platform

    here = host_platform()
    plan = plan_stages(parse_dockerfile(f"FROM --platform=$BUILDPLATFORM busybox\nFROM --platform={here} busybox\n"), {})
    assert len(plan.stages) == 2
    with pytest.raises(DockerfileError, match="Dockerfile:1: FROM --platform=linux/s390x: only"):
        plan_stages(parse_dockerfile("FROM --platform=linux/s390x busybox\n"), {})
