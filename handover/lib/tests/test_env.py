from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from handover.lib.env import (
    env_base_url,
    env_bool,
    env_choice,
    env_duration,
    env_int,
    env_path,
    env_percent,
    env_str,
)
from handover.lib.links import page_url

NAME = "HANDOVER_TEST_SETTING"


@pytest.fixture
def setenv(monkeypatch):
    def set_value(value: str) -> None:
        monkeypatch.setenv(NAME, value)

    monkeypatch.delenv(NAME, raising=False)
    return set_value


def refused(read, expected: str) -> None:
    with pytest.raises(ImproperlyConfigured) as caught:
        read()
    assert str(caught.value).startswith(f"{NAME}=")
    assert f"expected {expected}" in str(caught.value)


def test_unset_variables_take_their_defaults(setenv):
    assert env_str(NAME, "x") == "x"
    assert env_bool(NAME, True) is True
    assert env_int(NAME, 7, minimum=1) == 7
    assert env_duration(NAME, "48h") == timedelta(hours=48)
    assert env_percent(NAME, "5.5") == Decimal("5.5")
    assert env_choice(NAME, "test", {"test", "manual"}) == "test"
    assert env_path(NAME, Path("var")) == Path("var").resolve()


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1", True),
        ("true", True),
        (" YES ", True),
        ("on", True),
        ("0", False),
        ("False", False),
        ("no", False),
        ("off", False),
        ("", False),
    ],
)
def test_env_bool_reads_the_usual_words(setenv, raw, value):
    setenv(raw)
    assert env_bool(NAME, not value) is value


@pytest.mark.parametrize("raw", ["2", "y", "enabled", "truee"])
def test_env_bool_refuses_other_words(setenv, raw):
    setenv(raw)
    refused(lambda: env_bool(NAME, False), "true or false")


@pytest.mark.parametrize(("raw", "value"), [("50", 50), (" 8 ", 8), ("1", 1)])
def test_env_int_reads_integers(setenv, raw, value):
    setenv(raw)
    assert env_int(NAME, 0, minimum=1) == value


@pytest.mark.parametrize("raw", ["", "abc", "5.0", "1e3"])
def test_env_int_refuses_non_integers(setenv, raw):
    setenv(raw)
    refused(lambda: env_int(NAME, 1), "an integer")


@pytest.mark.parametrize("raw", ["0", "-3"])
def test_env_int_refuses_values_below_the_minimum(setenv, raw):
    setenv(raw)
    refused(lambda: env_int(NAME, 1, minimum=1), "an integer of at least 1")


def test_env_duration_reads_a_duration(setenv):
    setenv("15m")
    assert env_duration(NAME, "1h") == timedelta(minutes=15)


@pytest.mark.parametrize("raw", ["", "15", "1.5h", "3w"])
def test_env_duration_refuses_what_is_not_a_duration(setenv, raw):
    setenv(raw)
    refused(lambda: env_duration(NAME, "1h"), "a duration like 90s, 15m, 48h or 3d")


def test_env_duration_refuses_zero(setenv):
    setenv("0s")
    refused(lambda: env_duration(NAME, "1h"), "a duration above zero")


def test_env_duration_checks_its_default_too(setenv):
    refused(lambda: env_duration(NAME, "soon"), "a duration like 90s, 15m, 48h or 3d")


@pytest.mark.parametrize(
    ("raw", "value"),
    [("20", "20"), ("5.5", "5.5"), (" 0 ", "0"), ("99.9999", "99.9999"), ("1e1", "10")],
)
def test_env_percent_reads_a_percentage(setenv, raw, value):
    setenv(raw)
    assert env_percent(NAME, "0") == Decimal(value)


@pytest.mark.parametrize("raw", ["abc", "", "5%"])
def test_env_percent_refuses_what_is_not_a_number(setenv, raw):
    setenv(raw)
    refused(lambda: env_percent(NAME, "0"), "a percentage like 20 or 5.5")


@pytest.mark.parametrize("raw", ["-1", "100", "250", "NaN", "sNaN", "Infinity", "5.55555"])
def test_env_percent_refuses_values_out_of_range_or_too_precise(setenv, raw):
    setenv(raw)
    refused(lambda: env_percent(NAME, "0"), "a percentage from 0 up to 100 with at most 4 decimals")


def test_env_choice_takes_only_a_listed_value(setenv):
    setenv("manual")
    assert env_choice(NAME, "test", {"test", "manual"}) == "manual"
    setenv("stripe")
    refused(lambda: env_choice(NAME, "test", {"test", "manual"}), "one of manual, test")


def test_env_path_expands_and_resolves(setenv, tmp_path):
    setenv(str(tmp_path / "a" / ".." / "data"))
    assert env_path(NAME, Path("var")) == tmp_path / "data"
    setenv("")
    assert env_path(NAME, tmp_path) == tmp_path.resolve()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://handover.example.com/", "https://handover.example.com"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        (" https://example.com/market/ ", "https://example.com/market"),
    ],
)
def test_a_base_url_is_kept_without_its_trailing_slash(monkeypatch, raw, expected):
    monkeypatch.setenv("HANDOVER_BASE_URL", raw)
    assert env_base_url("HANDOVER_BASE_URL", "http://x") == expected


@pytest.mark.parametrize(
    "raw",
    ["example.com", "ftp://example.com", "https://", "https://a.b/?q=1", "https://a.b/#x", ""],
)
def test_a_base_url_that_is_no_web_address_stops_start_up(monkeypatch, raw):
    monkeypatch.setenv("HANDOVER_BASE_URL", raw)
    with pytest.raises(ImproperlyConfigured, match="HANDOVER_BASE_URL"):
        env_base_url("HANDOVER_BASE_URL", "http://x")


def test_page_url_is_the_base_url_and_the_page_path(settings):
    settings.HANDOVER_BASE_URL = "https://handover.example.com/market"
    assert page_url("web:order", 7) == "https://handover.example.com/market/orders/7/"
