"""resource.Quantity: parsing, canonical text, arithmetic, as apimachinery does them."""

import pytest

from pilothouse.api.quantity import (
    BINARY_SI,
    DECIMAL_EXPONENT,
    DECIMAL_SI,
    FORMAT_ERROR,
    NUMERIC_ERROR,
    SUFFIX_ERROR,
    Quantity,
    QuantityError,
    canonical,
    canonicalize_quantities,
)
from pilothouse.api.schema import Schemas


@pytest.mark.parametrize(
    ("text", "expected", "fmt"),
    [
        ("0", "0", DECIMAL_SI),
        ("00", "0", DECIMAL_SI),
        ("100m", "100m", DECIMAL_SI),
        ("0.1", "100m", DECIMAL_SI),
        (".5", "500m", DECIMAL_SI),
        ("1.5", "1500m", DECIMAL_SI),
        ("1000m", "1", DECIMAL_SI),
        ("1000", "1k", DECIMAL_SI),
        ("1500", "1500", DECIMAL_SI),
        ("1.5G", "1500M", DECIMAL_SI),
        ("1n", "1n", DECIMAL_SI),
        ("0.0000000001", "1n", DECIMAL_SI),
        ("-100m", "-100m", DECIMAL_SI),
        ("1Ki", "1Ki", BINARY_SI),
        ("2048Ki", "2Mi", BINARY_SI),
        ("1.5Gi", "1536Mi", BINARY_SI),
        ("1.5Ki", "1536", BINARY_SI),
        ("0.5Ki", "512", BINARY_SI),
        ("1000Ki", "1000Ki", BINARY_SI),
        ("8Ei", "9223372036854775807", BINARY_SI),
        ("1e3", "1e3", DECIMAL_EXPONENT),
        ("1E3", "1E3", DECIMAL_EXPONENT),
        ("12e1", "120", DECIMAL_EXPONENT),
        ("1e-2", "10e-3", DECIMAL_EXPONENT),
    ],
    ids=lambda value: str(value),
)
def test_parse_and_canonical_text(text, expected, fmt):
    quantity = Quantity.parse(text)
    assert str(quantity) == expected
    assert quantity.format == fmt


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", FORMAT_ERROR),
        ("abc", FORMAT_ERROR),
        ("1x", FORMAT_ERROR),
        ("1Kib", FORMAT_ERROR),
        ("1 ", FORMAT_ERROR),
        ("1..2", FORMAT_ERROR),
        ("1e", SUFFIX_ERROR),
        ("1Mb", FORMAT_ERROR),
    ],
    ids=["empty", "letters", "bad-suffix", "long-suffix", "space", "two-dots", "bare-e", "mb"],
)
def test_invalid_quantities_fail_with_upstream_messages(text, message):
    with pytest.raises(QuantityError) as err:
        Quantity.parse(text)
    assert str(err.value) == message


def test_format_error_names_the_regular_expression():
    assert FORMAT_ERROR == (
        "quantities must match the regular expression "
        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )
    assert NUMERIC_ERROR == "unable to parse numeric part of quantity"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("  250m ", "250m"), (2, "2"), (0.5, "500m"), (1e3, "1k")],
    ids=["trimmed-string", "int", "float", "float-exponent"],
)
def test_json_values(value, expected):
    assert canonical(value) == expected


def test_json_rejects_booleans():
    with pytest.raises(QuantityError):
        Quantity.from_json(True)


def test_comparison_is_by_value_not_format():
    assert Quantity.parse("1Gi") > Quantity.parse("1G")
    assert Quantity.parse("1000m") == Quantity.parse("1")
    assert Quantity.parse("1k") == Quantity.parse("1e3")
    assert len({Quantity.parse("1"), Quantity.parse("1000m")}) == 1


def test_arithmetic_keeps_the_left_format_unless_zero():
    total = Quantity.parse("1Gi") + Quantity.parse("512Mi")
    assert str(total) == "1536Mi"
    assert (Quantity.from_units(0) + Quantity.parse("1Ki")).format == BINARY_SI
    assert str(Quantity.parse("1") - Quantity.parse("250m")) == "750m"
    assert str(-Quantity.parse("1k")) == "-1k"
    assert str(Quantity.parse("100m") * 3) == "300m"


@pytest.mark.parametrize(
    ("text", "value", "milli"),
    [("100m", 1, 100), ("1.5", 2, 1500), ("-1.5", -2, -1500), ("1Ki", 1024, 1024000), ("1n", 1, 1)],
    ids=["100m", "1.5", "-1.5", "1Ki", "1n"],
)
def test_values_round_up_away_from_zero(text, value, milli):
    quantity = Quantity.parse(text)
    assert quantity.value() == value
    assert quantity.milli_value() == milli


def test_round_up_to_milli():
    assert str(Quantity.parse("0.0001").round_up(-3)) == "1m"
    assert str(Quantity.parse("1.0005").round_up(-3)) == "1001m"
    assert str(Quantity.parse("250m").round_up(-3)) == "250m"


def test_scaled_value():
    assert Quantity.parse("1.5G").scaled_value(6) == 1500
    assert Quantity.parse("1").scaled_value(-3) == 1000


def test_canonicalize_quantities_follows_the_schema():
    schema = Schemas.load().for_kind("", "v1", "Pod")
    pod = {
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "resources": {
                        "limits": {"cpu": "0.5", "memory": "1.5Gi"},
                        "requests": {"cpu": 1},
                    },
                }
            ],
            "overhead": {"cpu": "1000m"},
        }
    }
    canonicalize_quantities(pod, schema)
    assert pod["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "500m", "memory": "1536Mi"},
        "requests": {"cpu": "1"},
    }
    assert pod["spec"]["overhead"] == {"cpu": "1"}


def test_canonicalize_quantities_rejects_bad_values():
    schema = Schemas.load().for_kind("", "v1", "PersistentVolumeClaim")
    claim = {"spec": {"resources": {"requests": {"storage": "ten gigs"}}}}
    with pytest.raises(QuantityError):
        canonicalize_quantities(claim, schema)
