"""Variable expansion and word splitting in Dockerfile arguments, as Docker's shell lexer.

``$NAME`` and ``${NAME}`` expand from the build environment (ARGs and ENVs in scope), with
``${NAME:-default}``, ``${NAME-default}``, ``${NAME:+alt}``, ``${NAME+alt}`` and
``${NAME:?message}``. Single quotes keep everything literal; double quotes keep spaces but
expand; the escape character makes the next character literal (inside double quotes only
before ``"``, ``$`` or itself). Quotes are removed from the result.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import BuildError


class ExpansionError(BuildError):
    """An unterminated quote or brace, or a ``${NAME:?message}`` with NAME unset."""


class ShellLexer:
    def __init__(self, escape: str = "\\"):
        self.escape = escape

    def word(self, text: str, env: Mapping[str, str]) -> str:
        """The whole text as one word (quotes removed, variables expanded, no splitting)."""
        return "".join(part for part, _ in _Scanner(text, env, self.escape).scan(split=False))

    def words(self, text: str, env: Mapping[str, str]) -> list[str]:
        """The text split into words on unquoted whitespace, also whitespace that an unquoted
        variable expanded to; empty words are dropped (Docker's ProcessWords)."""
        words: list[str] = []
        current: list[str] = []
        for part, boundary in _Scanner(text, env, self.escape).scan(split=True):
            if boundary:
                if current:
                    words.append("".join(current))
                current = []
            elif part:
                current.append(part)
        if current:
            words.append("".join(current))
        return words


class _Scanner:
    def __init__(self, text: str, env: Mapping[str, str], escape: str):
        self.text = text
        self.env = env
        self.escape = escape
        self.position = 0

    def peek(self) -> str:
        return self.text[self.position] if self.position < len(self.text) else ""

    def next(self) -> str:
        char = self.peek()
        self.position += 1
        return char

    def scan(self, *, split: bool) -> list[tuple[str, bool]]:
        """Parts of the result; ``(whitespace, True)`` marks a word boundary when splitting."""
        parts: list[tuple[str, bool]] = []
        while self.position < len(self.text):
            char = self.next()
            if split and char in " \t\n":
                parts.append((char, True))
            elif char == "'":
                parts.append((self._single_quoted(), False))
            elif char == '"':
                parts.append((self._double_quoted(), False))
            elif char == self.escape:
                parts.append((self.next(), False))
            elif char == "$":
                value = self._variable()
                if split:
                    parts += [(c, c in " \t\n") for c in value]
                else:
                    parts.append((value, False))
            else:
                parts.append((char, False))
        return parts

    def _single_quoted(self) -> str:
        end = self.text.find("'", self.position)
        if end < 0:
            raise ExpansionError("unexpected end of statement while looking for matching single-quote")
        value = self.text[self.position : end]
        self.position = end + 1
        return value

    def _double_quoted(self) -> str:
        result: list[str] = []
        while True:
            char = self.next()
            if char == "":
                raise ExpansionError("unexpected end of statement while looking for matching double-quote")
            if char == '"':
                return "".join(result)
            if char == self.escape and self.peek() in ('"', "$", self.escape) and self.peek():
                result.append(self.next())
            elif char == "$":
                result.append(self._variable())
            else:
                result.append(char)

    def _variable(self) -> str:
        if self.peek() == "{":
            self.next()
            return self._braced()
        name = self._name()
        if not name:
            return "$"
        return self.env.get(name, "")

    def _name(self) -> str:
        start = self.position
        while self.peek() and (self.peek().isalnum() or self.peek() == "_"):
            self.position += 1
        return self.text[start : self.position]

    def _braced(self) -> str:
        name = self._name()
        if not name:
            raise ExpansionError(f"invalid variable name in ${{...}} of {self.text!r}")
        operator = ""
        if self.peek() == ":":
            operator = self.next()
        if self.peek() in ("-", "+", "?"):
            operator += self.next()
        elif operator:
            raise ExpansionError(f"unsupported modifier in ${{{name}:...}}")
        word = self._braced_word() if operator else self._close_brace(name)
        value = self.env.get(name)
        unset = value is None
        empty = unset or value == ""
        missing = empty if operator.startswith(":") else unset
        kind = operator.lstrip(":")
        if kind == "-":
            return word if missing else (value or "")
        if kind == "+":
            return "" if missing else word
        if kind == "?":
            if missing:
                raise ExpansionError(f"{name}: {word or 'is not allowed to be unset'}")
            return value or ""
        return value or ""

    def _close_brace(self, name: str) -> str:
        if self.next() != "}":
            raise ExpansionError(f"missing '}}' in ${{{name}...")
        return ""

    def _braced_word(self) -> str:
        result: list[str] = []
        depth = 0
        while True:
            char = self.next()
            if char == "":
                raise ExpansionError("missing '}' in variable substitution")
            if char == "}" and depth == 0:
                return "".join(result)
            if char == self.escape:
                result.append(self.next())
            elif char == "$":
                result.append(self._variable())
            elif char == "'":
                result.append(self._single_quoted())
            elif char == '"':
                result.append(self._double_quoted())
            else:
                depth += char == "{"
                depth -= char == "}"
                result.append(char)
