"""``resource.Quantity``: Kubernetes' fixed-point numbers with suffixes ("100m", "1Gi", "1e3").

Guarantees, matching k8s.io/apimachinery/pkg/api/resource:

* ``Quantity.parse`` accepts exactly what ``ParseQuantity`` accepts and fails with the same
  messages ("quantities must match the regular expression ...", "unable to parse quantity's
  suffix", "unable to parse numeric part of quantity").
* Values are exact: a quantity is held as a whole number of nano-units, because Kubernetes
  rounds every parsed value up (away from zero) to a multiple of 1e-9. Binary-suffixed values
  are capped at 2^63-1 as upstream caps them.
* ``str(q)`` is the canonical form kube-apiserver serializes: the largest suffix of the
  quantity's format that keeps an integer mantissa ("1500m" -> "1500m", "1.5" -> "1500m",
  "2048Ki" -> "2Mi", "1.5Ki" -> "1536"), except that text already in canonical form is
  returned unchanged (upstream caches it), e.g. "1E3" stays "1E3".
* Comparison, addition and subtraction are exact; ``value()`` and ``milli_value()`` round up
  away from zero like ``Value()`` and ``MilliValue()``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

DECIMAL_SI = "DecimalSI"
BINARY_SI = "BinarySI"
DECIMAL_EXPONENT = "DecimalExponent"

NANO = 10**9
_MAX_INT64 = 2**63 - 1

_SPLIT_RE = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
FORMAT_ERROR = f"quantities must match the regular expression '{_SPLIT_RE}'"
SUFFIX_ERROR = "unable to parse quantity's suffix"
NUMERIC_ERROR = "unable to parse numeric part of quantity"

_DECIMAL_SUFFIXES = {
    "n": -9,
    "u": -6,
    "m": -3,
    "": 0,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}
_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_BY_EXPONENT = {v: k for k, v in _DECIMAL_SUFFIXES.items()}
_BINARY_BY_EXPONENT = {v: k for k, v in _BINARY_SUFFIXES.items()} | {0: ""}
_SUFFIX_CHARS = frozenset("eEinumkKMGTP")
_DIGITS = frozenset("0123456789")
# Digits an int64 holds without overflow (upstream's maxInt64Factors).
_INT64_DIGITS = 18
# Upstream keeps exponents as int32 scales; we refuse absurd ones ("1e999999999") instead,
# because exact integers that large would exhaust memory.
_MAX_EXPONENT = 1000


class QuantityError(ValueError):
    """A string that is not a quantity; ``str(err)`` is upstream's message."""


@functools.total_ordering
@dataclass(frozen=True, eq=False)
class Quantity:
    """An exact quantity: ``nanos`` * 1e-9, printed in ``format``."""

    nanos: int
    format: str = DECIMAL_SI
    # The text it was parsed from, kept only when already canonical (as upstream caches it).
    text: str = field(default="", repr=False)

    # --- construction ---------------------------------------------------------------------

    @classmethod
    def parse(cls, text: str) -> Quantity:
        """Parse ``text`` as ``ParseQuantity`` does (no surrounding whitespace allowed)."""
        if not text:
            raise QuantityError(FORMAT_ERROR)
        if text == "0":
            return cls(0, DECIMAL_SI, "0")
        positive, num, denom, suffix = _split(text)
        base, exponent, fmt = _interpret(suffix)
        digits = int(num + denom)
        if base == 10:
            magnitude = _scale_up(digits, exponent - len(denom) + 9)
        else:
            magnitude = _scale_up(digits << exponent, 9 - len(denom))
            magnitude = min(magnitude, _MAX_INT64 * NANO)
        nanos = magnitude if positive else -magnitude
        return cls(nanos, fmt, text if _kept_verbatim(num, denom, base, exponent, fmt) else "")

    @classmethod
    def from_json(cls, value: Any) -> Quantity:
        """A quantity as it appears in JSON: a string (trimmed, as upstream trims) or number."""
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise QuantityError(FORMAT_ERROR)
        return cls.parse(value.strip() if isinstance(value, str) else repr(value))

    @classmethod
    def from_units(cls, value: int, fmt: str = DECIMAL_SI) -> Quantity:
        return cls(value * NANO, fmt)

    @classmethod
    def from_milli(cls, value: int, fmt: str = DECIMAL_SI) -> Quantity:
        return cls(value * 10**6, fmt)

    # --- reading --------------------------------------------------------------------------

    def __str__(self) -> str:
        return self.text or _canonical(self.nanos, self.format)

    def to_json(self) -> str:
        return str(self)

    def is_zero(self) -> bool:
        return self.nanos == 0

    def sign(self) -> int:
        return (self.nanos > 0) - (self.nanos < 0)

    def value(self) -> int:
        """The value rounded up, away from zero, to a whole number (``Value()``)."""
        return _round_away(self.nanos, NANO)

    def milli_value(self) -> int:
        """The value in thousandths, rounded up away from zero (``MilliValue()``)."""
        return _round_away(self.nanos, 10**6)

    def scaled_value(self, scale: int) -> int:
        """The value in units of 10**scale, rounded up away from zero (``ScaledValue``)."""
        if scale + 9 >= 0:
            return _round_away(self.nanos, 10 ** (scale + 9))
        return self.nanos * 10 ** -(scale + 9)

    def as_float(self) -> float:
        return self.nanos / NANO

    def round_up(self, scale: int) -> Quantity:
        """Rounded up, away from zero, to a multiple of 10**scale (``RoundUp``)."""
        if scale <= -9:
            return self
        unit = 10 ** (scale + 9)
        rounded = _round_away(self.nanos, unit) * unit
        if rounded == self.nanos:
            return self
        return Quantity(rounded, self.format)

    # --- arithmetic and comparison --------------------------------------------------------

    def __add__(self, other: Quantity) -> Quantity:
        return Quantity(self.nanos + other.nanos, self._format_with(other))

    def __sub__(self, other: Quantity) -> Quantity:
        return Quantity(self.nanos - other.nanos, self._format_with(other))

    def __neg__(self) -> Quantity:
        return Quantity(-self.nanos, self.format)

    def __mul__(self, factor: int) -> Quantity:
        return Quantity(self.nanos * factor, self.format)

    def _format_with(self, other: Quantity) -> str:
        # A zero quantity takes the format of what is added to it, as upstream's Add does.
        return other.format if self.nanos == 0 else self.format

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self.nanos == other.nanos

    def __lt__(self, other: Quantity) -> bool:
        return self.nanos < other.nanos

    def __hash__(self) -> int:
        return hash(self.nanos)


def parse_quantity(text: str) -> Quantity:
    return Quantity.parse(text)


def canonical(value: Any) -> str:
    """The canonical text of a JSON quantity value (what kube-apiserver stores)."""
    return str(Quantity.from_json(value))


# --- parsing helpers ---------------------------------------------------------------------


def _split(text: str) -> tuple[bool, str, str, str]:
    """Sign, integer digits, fraction digits and suffix, as upstream's parseQuantityString
    splits them (leading zeros dropped, an empty integer part read as "0")."""
    end = len(text)
    pos = 0
    positive = True
    if text[0] in "+-":
        positive = text[0] == "+"
        pos = 1
    while pos < end and text[pos] == "0":
        pos += 1
    if pos >= end:
        return positive, "0", "", ""
    start = pos
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    num = text[start:pos] or "0"
    denom = ""
    if pos < end and text[pos] == ".":
        pos += 1
        start = pos
        while pos < end and text[pos] in _DIGITS:
            pos += 1
        denom = text[start:pos]
    suffix_start = pos
    while pos < end and text[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos < end:
        raise QuantityError(FORMAT_ERROR)
    return positive, num, denom, text[suffix_start:]


def _interpret(suffix: str) -> tuple[int, int, str]:
    """(base, exponent, format) of a suffix, as upstream's suffixer interprets it."""
    if suffix in _DECIMAL_SUFFIXES:
        return 10, _DECIMAL_SUFFIXES[suffix], DECIMAL_SI
    if suffix in _BINARY_SUFFIXES:
        return 2, _BINARY_SUFFIXES[suffix], BINARY_SI
    if len(suffix) > 1 and suffix[0] in "eE":
        exponent = suffix[1:]
        body = exponent[1:] if exponent[0] in "+-" else exponent
        if body and all(c in _DIGITS for c in body) and int(body) <= _MAX_EXPONENT:
            return 10, int(exponent), DECIMAL_EXPONENT
    raise QuantityError(SUFFIX_ERROR)


def _kept_verbatim(num: str, denom: str, base: int, exponent: int, fmt: str) -> bool:
    """Whether upstream's fast path keeps the input text as the quantity's string form."""
    digits = num + denom
    if base == 2:
        if exponent < 0 or denom or 15 - len(num) - int(exponent * 3 / 10) - 1 < 0:
            return False
        value = int(num)
        return (value << exponent) <= _MAX_INT64 and value & 0x07 != 0
    scale = exponent - len(denom)
    if _INT64_DIGITS - len(digits) < 0 or scale < -9:
        return False
    return (
        fmt in (DECIMAL_SI, DECIMAL_EXPONENT)
        and scale % 3 == 0
        and not digits.endswith("000")
        and digits[0] != "0"
    )


def _scale_up(magnitude: int, power: int) -> int:
    """magnitude * 10**power, rounded up when power is negative."""
    if power >= 0:
        return magnitude * 10**power
    if -power > len(str(magnitude)):
        return 1 if magnitude else 0
    return -(-magnitude // 10**-power)


def _round_away(value: int, unit: int) -> int:
    """value / unit rounded away from zero."""
    quotient = -(-abs(value) // unit)
    return quotient if value >= 0 else -quotient


# --- formatting --------------------------------------------------------------------------


def _canonical(nanos: int, fmt: str) -> str:
    if nanos == 0:
        return "0"
    sign = "-" if nanos < 0 else ""
    magnitude = abs(nanos)
    if fmt == BINARY_SI and magnitude >= 1024 * NANO and magnitude % NANO == 0:
        mantissa, power = _remove_factors(magnitude // NANO, 1024, limit=6)
        return f"{sign}{mantissa}{_BINARY_BY_EXPONENT[power * 10]}"
    mantissa, exponent = _remove_factors(magnitude, 10)
    exponent -= 9
    while exponent % 3:
        mantissa *= 10
        exponent -= 1
    if fmt == DECIMAL_EXPONENT:
        return f"{sign}{mantissa}{'e' + str(exponent) if exponent else ''}"
    # Beyond "E" there is no suffix: keep the mantissa whole at the largest one.
    while exponent > 18:
        mantissa *= 1000
        exponent -= 3
    return f"{sign}{mantissa}{_DECIMAL_BY_EXPONENT[exponent]}"


def _remove_factors(value: int, factor: int, limit: int | None = None) -> tuple[int, int]:
    times = 0
    while value % factor == 0 and (limit is None or times < limit):
        value //= factor
        times += 1
    return value, times


# --- canonical serialization of whole objects --------------------------------------------


def canonicalize_quantities(value: Any, schema: Any) -> Any:
    """``value`` with every field its schema types as a quantity in canonical form, as a
    decode/encode round trip through kube-apiserver leaves it ("0.5" -> "500m").

    ``schema`` is a ``pilothouse.api.schema.Schema`` node. Raises QuantityError for a value
    that is not a quantity: the decode error upstream answers with 400 BadRequest."""
    kind = schema.type
    if kind == "quantity":
        return value if value is None else str(Quantity.from_json(value))
    if kind == "object" and isinstance(value, dict):
        for key, child in value.items():
            field_schema = schema.properties.get(key)
            if field_schema is not None and child is not None:
                value[key] = canonicalize_quantities(child, field_schema)
    elif kind == "map" and isinstance(value, dict):
        for key, child in value.items():
            if child is not None:
                value[key] = canonicalize_quantities(child, schema.values)
    elif kind == "array" and isinstance(value, list):
        value[:] = [
            canonicalize_quantities(item, schema.items) if item is not None else None
            for item in value
        ]
    return value
