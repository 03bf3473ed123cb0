"""The bounds themselves, without a database: which numbers are ids, and how deep JSON may go."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handover.lib.bounds import MAX_ID, MAX_JSON_DEPTH, IdConverter, json_parse
from handover.lib.errors import InvalidInput


def depth(value) -> int:
    """The reference: recursive, fine for the small values generated here."""
    if isinstance(value, dict):
        value = list(value.values())
    if not isinstance(value, list):
        return 0
    return 1 + max((depth(item) for item in value), default=0)


def wrapped(levels: int, inner="x"):
    value = inner
    for n in range(levels):
        value = [value] if n % 2 else {"k": value}
    return value


@pytest.mark.parametrize("number", [1, 12, MAX_ID])
def test_a_url_id_is_any_number_a_key_can_hold(number):
    assert IdConverter().to_python(str(number)) == number


@pytest.mark.parametrize("text", ["0", "00", str(MAX_ID + 1), str(2**64 - 1)])
def test_a_url_number_no_key_can_hold_does_not_match(text):
    with pytest.raises(ValueError):
        IdConverter().to_python(text)


def test_json_at_the_depth_limit_parses():
    value = wrapped(MAX_JSON_DEPTH)
    assert json_parse(json.dumps(value)) == value


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH + 1, 500])
def test_json_past_the_depth_limit_is_refused(levels):
    with pytest.raises(InvalidInput) as refused:
        json_parse(json.dumps(wrapped(levels)))
    assert refused.value.code == "too_deep"


@pytest.mark.parametrize("raw", ["[" * 100_000 + "]" * 100_000, "[" * 100_000, '{"a":' * 50_000])
def test_json_past_the_recursion_limit_is_refused_not_a_crash(raw):
    with pytest.raises(InvalidInput) as refused:
        json_parse(raw)
    assert refused.value.code == "too_deep"


def test_wide_json_is_not_deep():
    value = {"items": [[n] for n in range(50_000)]}
    assert json_parse(json.dumps(value)) == value


def test_json_longer_than_asked_is_refused_before_it_is_parsed():
    with pytest.raises(InvalidInput) as refused:
        json_parse("[" * 11, max_size=10)  # unparsed: this would be a ValueError
    assert refused.value.code == "too_long"


def test_malformed_json_is_a_value_error_as_with_json_loads():
    with pytest.raises(ValueError):
        json_parse("{bad")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner),
    max_leaves=60,
)


@given(value=json_values, extra=st.integers(0, MAX_JSON_DEPTH + 2))
def test_the_iterative_check_agrees_with_the_recursive_reference(value, extra):
    value = wrapped(extra, value)
    raw = json.dumps(value)
    if depth(value) <= MAX_JSON_DEPTH:
        assert json_parse(raw) == value
    else:
        with pytest.raises(InvalidInput):
            json_parse(raw)
