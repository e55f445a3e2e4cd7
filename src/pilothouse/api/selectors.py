"""Label selectors and field selectors, as k8s.io/apimachinery defines them.

Guarantees:

* ``LabelSelector.parse`` accepts exactly the language of ``labels.Parse`` (``=``, ``==``,
  ``!=``, ``in (...)``, ``notin (...)``, ``key``, ``!key``, ``>``, ``<``), validates keys as
  qualified names and values as label values, and fails with upstream's messages (raised as
  ``errors.BadRequest``, which is what kube-apiserver answers for a bad ``?labelSelector=``).
* ``LabelSelector.from_object`` turns a ``metav1.LabelSelector`` into a selector, reporting a
  malformed one as the ``FieldError`` list ``ValidateLabelSelector`` would produce. A ``None``
  selector selects *nothing* and an empty ``{}`` selects *everything*: controllers rely on the
  difference (a Service without a selector has no managed endpoints; a PodDisruptionBudget
  with ``selector: {}`` covers every pod in its namespace).
* ``str(selector)`` is upstream's ``String()``: requirements sorted by key, values sorted, the
  canonical form published e.g. in ``status.selector`` of the scale subresource.
* ``FieldSelector.parse`` is ``fields.ParseSelector``: ``k=v``, ``k==v``, ``k!=v`` joined by
  commas, with ``\\,`` ``\\=`` and ``\\\\`` escapes in values.
* Matching does no parsing and no regular expressions: every requirement is compiled once
  into a closure over dictionary lookups, because the API server runs ``matches`` on every
  object of a list and on every watch event.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from pilothouse.api import errors
from pilothouse.api.errors import FieldError

Labels = Mapping[str, str]
Predicate = Callable[[Labels], bool]

# selection.Operator values.
EQUALS = "="
DOUBLE_EQUALS = "=="
NOT_EQUALS = "!="
IN = "in"
NOT_IN = "notin"
EXISTS = "exists"
DOES_NOT_EXIST = "!"
GREATER_THAN = "gt"
LESS_THAN = "lt"

# The order upstream lists binary operators in its "expected: ..." message.
_BINARY_OPERATORS = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN)

# --- label key and value syntax (k8s.io/apimachinery/pkg/util/validation) ------------------

_QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QUALIFIED_NAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
    "an alphanumeric character"
)
_LABEL_VALUE_FMT = f"({_QUALIFIED_NAME_FMT})?"
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character"
)
_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = rf"{_DNS1123_LABEL_FMT}(\.{_DNS1123_LABEL_FMT})*"
_DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character"
)
_QUALIFIED_NAME_RE = re.compile(_QUALIFIED_NAME_FMT)
_DNS1123_SUBDOMAIN_RE = re.compile(_DNS1123_SUBDOMAIN_FMT)
_QUALIFIED_NAME_MAX = 63
_LABEL_VALUE_MAX = 63
_DNS1123_SUBDOMAIN_MAX = 253


def _regex_error(message: str, fmt: str, *examples: str) -> str:
    """validation.RegexError, including its doubled space before each " or "."""
    text = message + " (e.g. "
    for i, example in enumerate(examples):
        if i:
            text += " or "
        text += f"'{example}', "
    return text + f"regex used for validation is '{fmt}')"


def _dns1123_subdomain_errors(value: str) -> list[str]:
    found = []
    if len(value) > _DNS1123_SUBDOMAIN_MAX:
        found.append(f"must be no more than {_DNS1123_SUBDOMAIN_MAX} characters")
    if not _DNS1123_SUBDOMAIN_RE.fullmatch(value):
        found.append(_regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return found


def qualified_name_errors(value: str) -> list[str]:
    """``validation.IsQualifiedName``: what is wrong with a label key (empty when valid)."""
    parts = value.split("/")
    if len(parts) > 2:
        return [
            "a qualified name "
            + _regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    found = []
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            found.append("prefix part must be non-empty")
        else:
            found.extend("prefix part " + m for m in _dns1123_subdomain_errors(prefix))
    if not name:
        found.append("name part must be non-empty")
    elif len(name) > _QUALIFIED_NAME_MAX:
        found.append(f"name part must be no more than {_QUALIFIED_NAME_MAX} characters")
    if not _QUALIFIED_NAME_RE.fullmatch(name):
        found.append(
            "name part "
            + _regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return found


def label_value_errors(value: str) -> list[str]:
    """``validation.IsValidLabelValue``: what is wrong with a label value (empty when valid)."""
    found = []
    if len(value) > _LABEL_VALUE_MAX:
        found.append(f"must be no more than {_LABEL_VALUE_MAX} characters")
    if value and not _QUALIFIED_NAME_RE.fullmatch(value):
        found.append(
            _regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345")
        )
    return found


# --- requirements ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """One condition on one label: ``key``, an operator, and the values it compares with."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.operator == EXISTS:
            return self.key
        if self.operator == DOES_NOT_EXIST:
            return "!" + self.key
        values = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        if self.operator in (IN, NOT_IN):
            return f"{self.key} {self.operator} ({values})"
        symbol = {GREATER_THAN: ">", LESS_THAN: "<"}.get(self.operator, self.operator)
        return f"{self.key}{symbol}{values}"

    def predicate(self) -> Predicate:
        """A function of a label map that is true when this requirement holds."""
        key, values = self.key, self.values
        op = self.operator
        if op == EXISTS:
            return lambda labels: key in labels
        if op == DOES_NOT_EXIST:
            return lambda labels: key not in labels
        if op in (GREATER_THAN, LESS_THAN):
            return _comparison(key, int(values[0]), greater=op == GREATER_THAN)
        positive = op in (EQUALS, DOUBLE_EQUALS, IN)
        if len(values) == 1:
            value = values[0]
            if positive:
                return lambda labels: labels.get(key) == value
            # A missing label satisfies != and notin.
            return lambda labels: labels.get(key) != value
        allowed = frozenset(values)
        if positive:
            return lambda labels: labels.get(key) in allowed
        return lambda labels: labels.get(key) not in allowed


def _comparison(key: str, bound: int, *, greater: bool) -> Predicate:
    def compare(labels: Labels) -> bool:
        value = _parse_int64(labels.get(key))
        if value is None:
            return False
        return value > bound if greater else value < bound

    return compare


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _parse_int64(text: str | None) -> int | None:
    """strconv.ParseInt(text, 10, 64): optional sign and ASCII digits, in int64 range."""
    if not text:
        return None
    digits = text[1:] if text[0] in "+-" else text
    if not (digits.isascii() and digits.isdigit()):
        return None
    value = int(text)
    return value if _INT64_MIN <= value <= _INT64_MAX else None


def _go_quote(value: str) -> str:
    """Go's %q of a string, for the ASCII text selectors hold."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    return f'"{escaped}"'


def _invalid(path: str, value: str, details: list[str]) -> str:
    """The text of ``field.Invalid(path, value, strings.Join(details, "; ")).Error()``."""
    return f"{path}: Invalid value: {_go_quote(value)}: {'; '.join(details)}"


def _aggregate(messages: list[str]) -> str:
    """utilerrors.NewAggregate(...).Error(): one message alone, several deduplicated in []."""
    unique = list(dict.fromkeys(messages))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


def _requirement_problems(key: str, operator: str, values: Sequence[str]) -> list[str]:
    """What ``labels.NewRequirement`` rejects, as its field error messages (without a path
    prefix: the parser's path is nil, so children are named from the root)."""
    problems = []
    if operator in (GREATER_THAN, LESS_THAN):
        for i, value in enumerate(values):
            if _parse_int64(value) is None:
                problems.append(
                    _invalid(
                        f"values[{i}]",
                        value,
                        ["for 'Gt', 'Lt' operators, the value must be an integer"],
                    )
                )
    for i, value in enumerate(values):
        found = label_value_errors(value)
        if found:
            problems.append(_invalid(f"values[{i}][{key}]", value, found))
    return problems


# --- label selectors ------------------------------------------------------------------------


class LabelSelectorError(ValueError):
    """A ``metav1.LabelSelector`` that is malformed; ``errors`` says where and why."""

    def __init__(self, field_errors: list[FieldError]):
        super().__init__(_aggregate([e.message() for e in field_errors]))
        self.errors = field_errors


class LabelSelector:
    """A conjunction of label requirements (or the selector that matches nothing)."""

    __slots__ = ("requirements", "_nothing", "_match")

    def __init__(self, requirements: Sequence[Requirement] = (), *, nothing: bool = False):
        # Sorted by key as upstream's Add sorts them; stable, so equal keys keep their order.
        self.requirements: tuple[Requirement, ...] = tuple(
            sorted(requirements, key=lambda r: r.key)
        )
        self._nothing = nothing
        self._match = _compile(self.requirements, nothing)

    @classmethod
    def everything(cls) -> LabelSelector:
        return cls()

    @classmethod
    def nothing(cls) -> LabelSelector:
        return cls(nothing=True)

    @classmethod
    def parse(cls, text: str) -> LabelSelector:
        """Parse the ``?labelSelector=`` syntax; raise ``errors.BadRequest`` when invalid."""
        return cls(_LabelParser(text).parse())

    @classmethod
    def from_object(
        cls, selector: Mapping[str, Any] | None, *, path: str = "selector"
    ) -> LabelSelector:
        """The selector a ``metav1.LabelSelector`` stands for (``LabelSelectorAsSelector``).

        ``None`` selects nothing; ``{}`` selects everything. A malformed selector raises
        ``LabelSelectorError`` whose ``errors`` are rooted at ``path``.
        """
        if selector is None:
            return cls.nothing()
        problems = validate_label_selector(selector, path)
        if problems:
            raise LabelSelectorError(problems)
        requirements = [
            Requirement(key, EQUALS, (value,))
            for key, value in (selector.get("matchLabels") or {}).items()
        ]
        for expression in selector.get("matchExpressions") or ():
            operator = _EXPRESSION_OPERATORS[expression["operator"]]
            values = tuple(expression.get("values") or ())
            requirements.append(Requirement(expression["key"], operator, values))
        return cls(requirements)

    @property
    def empty(self) -> bool:
        """True when the selector restricts nothing (the "nothing" selector is not empty)."""
        return not self.requirements and not self._nothing

    @property
    def selects_nothing(self) -> bool:
        return self._nothing

    def matches(self, labels: Labels | None) -> bool:
        return self._match(labels or _NO_LABELS)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        return "LabelSelector(<nothing>)" if self._nothing else f"LabelSelector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LabelSelector):
            return NotImplemented
        return self._nothing == other._nothing and self.requirements == other.requirements

    def __hash__(self) -> int:
        return hash((self._nothing, self.requirements))


_NO_LABELS: Labels = {}


def _compile(requirements: tuple[Requirement, ...], nothing: bool) -> Predicate:
    """One function for the whole selector, without a loop for the common single term."""
    if nothing:
        return lambda labels: False
    predicates = tuple(r.predicate() for r in requirements)
    if not predicates:
        return lambda labels: True
    if len(predicates) == 1:
        return predicates[0]

    def all_hold(labels: Labels) -> bool:
        # A plain loop: all() over a generator costs a frame per call on this hot path.
        for predicate in predicates:  # noqa: SIM110
            if not predicate(labels):
                return False
        return True

    return all_hold


_EXPRESSION_OPERATORS = {
    "In": IN,
    "NotIn": NOT_IN,
    "Exists": EXISTS,
    "DoesNotExist": DOES_NOT_EXIST,
}


def validate_label_selector(selector: Mapping[str, Any], path: str) -> list[FieldError]:
    """``metav1validation.ValidateLabelSelector`` for a selector at ``path``."""
    found: list[FieldError] = []
    labels_path = f"{path}.matchLabels"
    for key, value in (selector.get("matchLabels") or {}).items():
        found.extend(errors.invalid(labels_path, key, m) for m in qualified_name_errors(key))
        found.extend(errors.invalid(labels_path, value, m) for m in label_value_errors(value))
    for i, expression in enumerate(selector.get("matchExpressions") or ()):
        found.extend(_validate_expression(expression, f"{path}.matchExpressions[{i}]"))
    return found


def _validate_expression(expression: Mapping[str, Any], path: str) -> list[FieldError]:
    found: list[FieldError] = []
    operator = expression.get("operator", "")
    values = expression.get("values") or []
    if operator in ("In", "NotIn"):
        if not values:
            found.append(
                errors.required(
                    f"{path}.values", "must be specified when `operator` is 'In' or 'NotIn'"
                )
            )
    elif operator in ("Exists", "DoesNotExist"):
        if values:
            found.append(
                errors.forbidden(
                    f"{path}.values",
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                )
            )
    else:
        found.append(errors.invalid(f"{path}.operator", operator, "not a valid selector operator"))
    key = expression.get("key", "")
    found.extend(errors.invalid(f"{path}.key", key, m) for m in qualified_name_errors(key))
    for i, value in enumerate(values):
        found.extend(
            errors.invalid(f"{path}.values[{i}]", value, m) for m in label_value_errors(value)
        )
    return found


def format_label_selector(selector: Mapping[str, Any] | None) -> str:
    """``metav1.FormatLabelSelector``: the string form, ``<none>`` when it is empty (or
    selects nothing) and ``<error>`` when it is malformed."""
    try:
        text = str(LabelSelector.from_object(selector))
    except LabelSelectorError:
        return "<error>"
    return text or "<none>"


def format_labels(labels: Mapping[str, str] | None) -> str:
    """``labels.FormatLabels``: ``k=v`` pairs sorted by key, or ``<none>``."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


# --- the label selector parser (labels.Parse) ----------------------------------------------

# Tokens of upstream's lexer.
_END, _CLOSE, _COMMA, _NOT, _DOUBLE_EQ, _EQ, _GT, _ID, _IN, _LT, _NEQ, _NOTIN, _OPEN = range(13)
_KEYWORDS = {
    ")": _CLOSE,
    ",": _COMMA,
    "!": _NOT,
    "==": _DOUBLE_EQ,
    "=": _EQ,
    ">": _GT,
    "in": _IN,
    "<": _LT,
    "!=": _NEQ,
    "notin": _NOTIN,
    "(": _OPEN,
}
_SPECIAL = frozenset("=!(),><")
_WHITESPACE = frozenset(" \t\r\n")
_OPERATOR_TOKENS = {
    _IN: IN,
    _EQ: EQUALS,
    _DOUBLE_EQ: DOUBLE_EQUALS,
    _GT: GREATER_THAN,
    _LT: LESS_THAN,
    _NOTIN: NOT_IN,
    _NEQ: NOT_EQUALS,
}


class _ParseError(Exception):
    pass


def _lex(text: str) -> list[tuple[int, str]]:
    """Upstream's Lexer: identifiers run until a special symbol or whitespace; a run of
    special symbols yields the longest operator it starts with."""
    tokens: list[tuple[int, str]] = []
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos] in _WHITESPACE:
            pos += 1
        if pos >= end:
            tokens.append((_END, ""))
            return tokens
        if text[pos] in _SPECIAL:
            pos = _lex_symbol(text, pos, tokens)
        else:
            start = pos
            while pos < end and text[pos] not in _SPECIAL and text[pos] not in _WHITESPACE:
                pos += 1
            word = text[start:pos]
            tokens.append((_KEYWORDS.get(word, _ID), word))


def _lex_symbol(text: str, pos: int, tokens: list[tuple[int, str]]) -> int:
    # Every special character is an operator by itself; extend while the run still is one.
    symbol = text[pos]
    pos += 1
    while pos < len(text) and symbol + text[pos] in _KEYWORDS:
        symbol += text[pos]
        pos += 1
    tokens.append((_KEYWORDS[symbol], symbol))
    return pos


class _LabelParser:
    """labels.Parser, with its two contexts: inside values, "in" and "notin" are words."""

    def __init__(self, text: str):
        self.tokens = _lex(text)
        self.position = 0

    def _peek(self, values: bool = True) -> tuple[int, str]:
        return self._as_context(self.tokens[self.position], values)

    def _next(self, values: bool = True) -> tuple[int, str]:
        token = self.tokens[self.position]
        self.position += 1
        return self._as_context(token, values)

    @staticmethod
    def _as_context(token: tuple[int, str], values: bool) -> tuple[int, str]:
        if values and token[0] in (_IN, _NOTIN):
            return _ID, token[1]
        return token

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            kind, literal = self._peek()
            if kind == _END:
                return requirements
            if kind not in (_ID, _NOT):
                raise errors.BadRequest(
                    f"found '{literal}', expected: !, identifier, or 'end of string'"
                )
            try:
                requirements.append(self._requirement())
            except _ParseError as e:
                raise errors.BadRequest(f"unable to parse requirement: {e}") from None
            kind, literal = self._next()
            if kind == _END:
                return requirements
            if kind != _COMMA:
                raise errors.BadRequest(f"found '{literal}', expected: ',' or 'end of string'")
            kind, literal = self._peek()
            if kind not in (_ID, _NOT):
                raise errors.BadRequest(f"found '{literal}', expected: identifier after ','")

    def _requirement(self) -> Requirement:
        key, operator = self._key_and_inferred_operator()
        if operator in (EXISTS, DOES_NOT_EXIST):
            return Requirement(key, operator)
        operator = self._operator()
        if operator in (IN, NOT_IN):
            values = self._value_set()
        else:
            values = self._exact_value()
        # The parser collects values in a set: sorted and without duplicates.
        ordered = sorted(set(values))
        problems = _requirement_problems(key, operator, ordered)
        if problems:
            raise _ParseError(_aggregate(problems))
        return Requirement(key, operator, tuple(ordered))

    def _key_and_inferred_operator(self) -> tuple[str, str]:
        operator = ""
        kind, literal = self._next()
        if kind == _NOT:
            operator = DOES_NOT_EXIST
            kind, literal = self._next()
        if kind != _ID:
            raise _ParseError(f"found '{literal}', expected: identifier")
        found = qualified_name_errors(literal)
        if found:
            # The parser's field path is nil, which field.Path prints as "<nil>".
            raise _ParseError(_invalid("<nil>", literal, found))
        if self._peek()[0] in (_END, _COMMA) and operator != DOES_NOT_EXIST:
            operator = EXISTS
        return literal, operator

    def _operator(self) -> str:
        kind, literal = self._next(values=False)
        if kind not in _OPERATOR_TOKENS:
            raise _ParseError(f"found '{literal}', expected: {', '.join(_BINARY_OPERATORS)}")
        return _OPERATOR_TOKENS[kind]

    def _value_set(self) -> list[str]:
        kind, literal = self._next()
        if kind != _OPEN:
            raise _ParseError(f"found '{literal}' expected: '('")
        kind, literal = self._peek()
        if kind == _CLOSE:
            self._next()
            return [""]
        if kind not in (_ID, _COMMA):
            raise _ParseError(f"found '{literal}', expected: ',', ')' or identifier")
        values = self._identifiers()
        self._next()  # the ")" that ended the list
        return values

    def _identifiers(self) -> list[str]:
        """A comma-separated list of possibly empty identifiers, up to (not past) ')'."""
        values: list[str] = []
        while True:
            kind, literal = self._next()
            if kind == _ID:
                values.append(literal)
                following, text = self._peek()
                if following == _CLOSE:
                    return values
                if following != _COMMA:
                    raise _ParseError(f"found '{text}', expected: ',' or ')'")
            elif kind == _COMMA:
                following = self._peek()[0]
                # An empty slot before or after a comma is the empty value.
                if not values or following in (_CLOSE, _COMMA):
                    values.append("")
                if following == _CLOSE:
                    return values
            else:
                raise _ParseError(f"found '{literal}', expected: ',', or identifier")

    def _exact_value(self) -> list[str]:
        if self._peek()[0] in (_END, _COMMA):
            return [""]
        kind, literal = self._next()
        if kind != _ID:
            raise _ParseError(f"found '{literal}', expected: identifier")
        return [literal]


# --- field selectors (fields.ParseSelector) ------------------------------------------------


class FieldRequirement(NamedTuple):
    """``(field, operator, value)`` where operator is "=" (also written "==") or "!="."""

    field: str
    operator: str
    value: str

    def __str__(self) -> str:
        return f"{self.field}{self.operator}{escape_field_value(self.value)}"


class FieldSelector:
    """A conjunction of field equalities and inequalities over an object's field set."""

    __slots__ = ("requirements", "_equal", "_unequal")

    def __init__(self, requirements: Sequence[FieldRequirement] = ()):
        self.requirements: tuple[FieldRequirement, ...] = tuple(requirements)
        self._equal = tuple((r.field, r.value) for r in self.requirements if r.operator == "=")
        self._unequal = tuple((r.field, r.value) for r in self.requirements if r.operator != "=")

    @classmethod
    def parse(cls, text: str) -> FieldSelector:
        """Parse ``?fieldSelector=``; raise ``errors.BadRequest`` with upstream's message."""
        requirements = []
        for term in sorted(_split_terms(text)):
            if not term:
                continue
            parsed = _split_term(term)
            if parsed is None:
                raise errors.BadRequest(f"invalid selector: '{text}'; can't understand '{term}'")
            field, operator, raw = parsed
            requirements.append(FieldRequirement(field, operator, _unescape(raw)))
        return cls(requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, fields: Mapping[str, str]) -> bool:
        """A field missing from ``fields`` reads as the empty string, as upstream's Set.Get."""
        for field, value in self._equal:
            if fields.get(field, "") != value:
                return False
        for field, value in self._unequal:  # noqa: SIM110 (a loop beats all() here)
            if fields.get(field, "") == value:
                return False
        return True

    def exact(self, field: str) -> str | None:
        """The value ``field`` must equal, when the selector pins it (RequiresExactMatch)."""
        for name, value in self._equal:
            if name == field:
                return value
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        return f"FieldSelector({str(self)!r})"


def escape_field_value(value: str) -> str:
    """fields.EscapeValue: backslash, comma and equals sign are escaped with a backslash."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def _split_terms(text: str) -> list[str]:
    """Split on commas not escaped by a backslash (escapes are kept for unescaping)."""
    if not text:
        return []
    terms = []
    start = 0
    escaped = False
    for i, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    """Split at the first operator; "!=" and "==" win over "=" at the same position."""
    for i in range(len(term)):
        for operator in ("!=", "==", "="):
            if term.startswith(operator, i):
                normalized = "!=" if operator == "!=" else "="
                return term[:i], normalized, term[i + len(operator) :]
    return None


def _unescape(value: str) -> str:
    if "\\" not in value and "," not in value and "=" not in value:
        return value
    out = []
    escaped = False
    for char in value:
        if escaped:
            if char not in "\\,=":
                raise errors.BadRequest(
                    f"invalid field selector: invalid escape sequence: \\{char}"
                )
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",=":
            # Go prints the rune with %v: its code point.
            raise errors.BadRequest(
                f"invalid field selector: unescaped character in value: {ord(char)}"
            )
        else:
            out.append(char)
    if escaped:
        raise errors.BadRequest("invalid field selector: invalid escape sequence: \\")
    return "".join(out)
