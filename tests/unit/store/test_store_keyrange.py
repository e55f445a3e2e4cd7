"""Prefix bounds: every key starting with a prefix sorts inside [prefix, prefix_end)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pilothouse.store.keyrange import prefix_end, range_start

keys = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6)


@pytest.mark.parametrize(
    ("prefix", "end"),
    [
        ("", None),
        ("/a/", "/a0"),
        ("/a", "/b"),
        ("/\ud7ff", "/\ue000"),
        ("/a\U0010ffff", "/b"),
        ("\U0010ffff\U0010ffff", None),
    ],
)
def test_prefix_end(prefix, end):
    assert prefix_end(prefix) == end


@given(prefix=keys, key=keys)
def test_prefix_end_bounds_exactly_the_keys_with_the_prefix(prefix, key):
    end = prefix_end(prefix)
    inside = key >= prefix and (end is None or key < end)
    assert inside == key.startswith(prefix)
    if end is not None:
        end.encode()  # a bound SQLite can compare with


def test_range_start_resumes_after_a_key_within_the_prefix():
    assert range_start("/a/", None) == ("/a/", True)
    assert range_start("/a/", "/a/x") == ("/a/x", False)
    assert range_start("/a/", "/0") == ("/a/", True)
