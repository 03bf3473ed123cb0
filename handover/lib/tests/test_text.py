"""The one text check: bidi controls refused wherever they sit, clean text (right-to-left
letters among it) returned as it came."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handover.lib.errors import InvalidInput
from handover.lib.text import text_check

# Spelled out here rather than imported, so that the set itself is pinned.
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
CLEAN = st.text(
    st.characters(
        exclude_categories=("Cs", "Cc"), exclude_characters=BIDI, include_characters="\n\t"
    ),
    max_size=60,
)


def with_control(text: str, control: str, at: int) -> str:
    at = at % (len(text) + 1)
    return text[:at] + control + text[at:]


HOSTILE = st.builds(with_control, CLEAN, st.sampled_from(BIDI), st.integers(min_value=0))


@given(text=CLEAN)
def test_clean_text_comes_back_unchanged(text):
    assert text_check(text, field="message", limit=60, required=False) == text


@given(text=HOSTILE)
def test_a_bidi_control_anywhere_is_refused_and_named(text):
    with pytest.raises(InvalidInput) as refused:
        text_check(text, field="message", limit=1000, required=False)
    assert refused.value.code == "bidi_control"
    assert refused.value.detail.startswith("The message may not contain U+")


@given(text=HOSTILE)
def test_a_caller_code_wins_over_the_default(text):
    with pytest.raises(InvalidInput) as refused:
        text_check(text, field="file name", limit=1000, one_line=True, code="bad_file_name")
    assert refused.value.code == "bad_file_name"


def test_right_to_left_letters_and_joiners_are_kept():
    text = "שלום عليكم 👩\u200d💻 naïve\nline two"
    assert text_check(text, field="message", limit=100) == text


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "may not be empty"),
        (" \n\t", "may not be empty"),
        ("a\x00b", "NUL characters"),
        ("x" * 11, "at most 10 characters"),
        ("bad\u202eevil", r"U\+202E RIGHT-TO-LEFT OVERRIDE"),
    ],
)
def test_each_refusal_says_what_is_wrong_with_the_field(text, problem):
    with pytest.raises(InvalidInput, match=problem) as refused:
        text_check(text, field="note", limit=10)
    assert refused.value.status == 400
    assert refused.value.detail.startswith("The note ")


@pytest.mark.parametrize("control", ["\n", "\r", "\t", "\x1b", "\x85"])
def test_one_line_text_refuses_every_control_character(control):
    assert text_check(f"a{control}b", field="note", limit=10) == f"a{control}b"
    with pytest.raises(InvalidInput, match="control characters"):
        text_check(f"a{control}b", field="note", limit=10, one_line=True)
