"""``$(VAR)`` references in container commands, args and environment values.

The rules of Kubernetes' forked ``expansion`` package, exactly: ``$(NAME)`` is replaced by
the variable's value when it is defined and left as written when it is not; ``$$`` is an
escaped ``$``; a ``$`` followed by anything else, or an unterminated ``$(``, stays as is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

Lookup = Callable[[str], str]


def mapping_for(*contexts: Mapping[str, str]) -> Lookup:
    """Looks names up in ``contexts`` in order; unknown names expand to themselves."""

    def lookup(name: str) -> str:
        for context in contexts:
            if name in context:
                return context[name]
        return f"$({name})"

    return lookup


def expand(text: str, mapping: Lookup) -> str:
    out: list[str] = []
    checkpoint = 0
    cursor = 0
    while cursor < len(text):
        if text[cursor] == "$" and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            read, is_variable, advance = _read_variable_name(text[cursor + 1 :])
            out.append(mapping(read) if is_variable else read)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    return "".join(out) + text[checkpoint:]


def _read_variable_name(text: str) -> tuple[str, bool, int]:
    if text[0] == "$":
        return "$", False, 1
    if text[0] == "(":
        closer = text.find(")", 1)
        if closer != -1:
            return text[1:closer], True, closer + 1
        return "$(", False, 1
    return "$" + text[0], False, 1


def expand_command_and_args(
    command: list[str], args: list[str], env: Mapping[str, str]
) -> tuple[list[str], list[str]]:
    """A container's command and args with references to its final environment expanded."""
    mapping = mapping_for(env)
    return [expand(c, mapping) for c in command], [expand(a, mapping) for a in args]


def expand_with_static_env(command: list[str], env: list[dict[str, object]]) -> list[str]:
    """A probe's or hook's exec command, expanded with the container's literal env values
    only (upstream's ExpandContainerCommandOnlyStatic)."""
    static = {str(e["name"]): str(e["value"]) for e in env if e.get("value") is not None}
    mapping = mapping_for(static)
    return [expand(c, mapping) for c in command]
