"""JSON values rendered the way Go renders them.

kube-apiserver computes several strings with Go's encoders and clients see them verbatim: the
keys of managedFields entries (``k:{"name":"x"}``), the ``last-applied-configuration``
annotation, and error messages that print values with fmt's ``%v``. To produce the same bytes:

- ``dumps`` is encoding/json: compact, object keys sorted, and ``<``, ``>``, ``&``, U+2028 and
  U+2029 escaped (Go escapes them for safe embedding in HTML; orjson does not).
- ``format_value`` is fmt's ``%v`` of a decoded JSON value: ``map[a:1 b:[x y]]`` with sorted
  keys, ``<nil>`` for null, floats in ``%g`` form.
- ``quote`` is fmt's ``%q`` (strconv.Quote).
- ``type_name`` is reflect's name of the Go type a decoded JSON value has.
"""

from __future__ import annotations

import decimal
from typing import Any

import orjson

_HTML_ESCAPES = (
    (b"<", b"\\u003c"),
    (b">", b"\\u003e"),
    (b"&", b"\\u0026"),
    ("\u2028".encode(), b"\\u2028"),
    ("\u2029".encode(), b"\\u2029"),
)

_QUOTE_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    '"': '\\"',
    "\\": "\\\\",
}


def dumps_bytes(value: Any) -> bytes:
    """encoding/json's Marshal of a decoded JSON value."""
    data = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    for raw, escaped in _HTML_ESCAPES:
        if raw in data:
            data = data.replace(raw, escaped)
    return data


def dumps(value: Any) -> str:
    return dumps_bytes(value).decode()


def dumps_ordered(value: dict[str, Any]) -> str:
    """encoding/json's Marshal of a struct: fields in declaration order (``value``'s order)."""
    data = orjson.dumps(value)
    for raw, escaped in _HTML_ESCAPES:
        if raw in data:
            data = data.replace(raw, escaped)
    return data.decode()


def quote(text: str) -> str:
    """fmt's %q of a string."""
    out = ['"']
    for ch in text:
        escaped = _QUOTE_ESCAPES.get(ch)
        if escaped is not None:
            out.append(escaped)
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def format_float(number: float) -> str:
    """strconv.FormatFloat(f, 'g', -1, 64), which is what fmt's %v prints for a float64."""
    if number == 0:
        return "-0" if str(number).startswith("-") else "0"
    sign, digits, exponent = decimal.Decimal(repr(number)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(str(d) for d in digits)
    point = exponent + len(text)  # position of the decimal point within the shortest digits
    prefix = "-" if sign else ""
    exp = point - 1
    # With the shortest precision Go takes 6 as the precision that decides on %e.
    if exp < -4 or exp >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{text}"
    if point >= len(text):
        return f"{prefix}{text}{'0' * (point - len(text))}"
    return f"{prefix}{text[:point]}.{text[point:]}"


def format_value(value: Any) -> str:
    """fmt's %v of a decoded JSON value (as Go holds it: map[string]interface{}, ...)."""
    if value is None:
        return "<nil>"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{format_value(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(format_value(v) for v in value) + "]"
    return str(value)


def type_name(value: Any) -> str:
    """reflect.TypeOf(value).String() for a value decoded by encoding/json into interface{}
    (with integers kept as int64, as apimachinery decodes them)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    return "map[string]interface {}"


def json_kind(value: Any) -> str:
    """How encoding/json names a JSON value in "cannot unmarshal X into ..." errors."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"
