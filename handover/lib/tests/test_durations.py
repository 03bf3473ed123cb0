from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handover.lib.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("48h", timedelta(hours=48)),
        ("3d", timedelta(days=3)),
        ("0s", timedelta(0)),
        ("0003h", timedelta(hours=3)),
        (" 3 d ", timedelta(days=3)),
        ("\t7m\n", timedelta(minutes=7)),
        ("3650d", timedelta(days=3650)),
    ],
)
def test_parses_an_integer_and_a_unit(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", " ", "3", "d", "3w", "3D", "-1h", "+1h", "1.5h", "3dd", "3h30m", "3 days", "1234567890s"],
)
def test_refuses_anything_else(text):
    with pytest.raises(ValueError, match="is not a duration like 90s, 15m, 48h or 3d"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=90), "90s"),
        (timedelta(minutes=90), "90m"),
        (timedelta(hours=48), "2d"),
        (timedelta(hours=25), "25h"),
        (timedelta(minutes=15), "15m"),
        (timedelta(0), "0s"),
    ],
)
def test_formats_in_the_largest_exact_unit(delta, text):
    assert format_duration(delta) == text


def test_refuses_more_than_ten_years():
    with pytest.raises(ValueError, match="longer than ten years"):
        parse_duration("3651d")
    with pytest.raises(ValueError, match="longer than ten years"):
        parse_duration("999999999s")


def test_refuses_digits_of_other_scripts():
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration("\u0663d")  # ARABIC-INDIC DIGIT THREE


@given(st.integers(min_value=0, max_value=3650 * 86400))
def test_format_then_parse_gives_back_the_duration(seconds):
    delta = timedelta(seconds=seconds)
    assert parse_duration(format_duration(delta)) == delta
