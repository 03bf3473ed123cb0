"""The hostile-upload corpus itself: big enough, well formed, its expectations consistent with
the API's rules, and its content verdicts the ones the sniffer gives."""

import re
import time

import pytest

from handover.delivery.kinds import Kind, Refused
from handover.delivery.sniff import Sniffer
from handover.delivery.tests import corpus
from handover.delivery.tests.corpus import CASES, MAX_FILE_SIZE, Case

ERRORS_BY_STATUS = {
    400: {"empty_file", "bad_file_name", "no_files"},
    413: {"file_too_large"},
    415: {"unsupported_type"},
}
BAD_NAME = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")
PREVIEWED = {Kind.IMAGE, Kind.PDF, Kind.AUDIO, Kind.VIDEO, Kind.TEXT, Kind.ARCHIVE}


def name_error(filename: str) -> str | None:
    """The API's name rules: the parser keeps the last path component and drops a part whose
    name is then empty or a dot entry; control and bidi characters and over-long names are
    refused."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    if name in ("", ".", ".."):
        return "no_files"
    if BAD_NAME.search(name) or len(name) > 255:
        return "bad_file_name"
    return None


def content_decides(case: Case) -> bool:
    """Whether only the bytes decide the answer (the name and size are fine)."""
    return name_error(case.filename) is None and len(case.data) <= MAX_FILE_SIZE


def by_id(case: Case) -> str:
    return case.id


def test_the_corpus_is_large_and_its_ids_unique_slugs():
    assert len(CASES) >= 45
    ids = [case.id for case in CASES]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9-]*", i) for i in ids)


def test_the_corpus_covers_every_outcome():
    outcomes = {(c.status, c.error, c.preview) for c in CASES}
    for expected in [
        (201, None, "ready"),
        (201, None, "failed"),
        (201, None, "none"),
        (400, "empty_file", None),
        (400, "bad_file_name", None),
        (400, "no_files", None),
        (413, "file_too_large", None),
        (415, "unsupported_type", None),
    ]:
        assert expected in outcomes


@pytest.mark.parametrize("case", CASES, ids=by_id)
def test_each_case_is_well_formed(case: Case):
    assert case.note and "\n" not in case.note
    assert 0 <= len(case.data) <= 2 * 1024 * 1024
    if case.status == 201:
        assert case.error is None
        assert case.kind in set(Kind)
        assert case.preview in ("ready", "failed", "none", None)
    else:
        assert case.error in ERRORS_BY_STATUS[case.status]
        assert case.kind is None and case.preview is None


@pytest.mark.parametrize("case", CASES, ids=by_id)
def test_each_expectation_follows_the_name_and_size_rules(case: Case):
    expected_name_error = name_error(case.filename)
    if expected_name_error:
        assert (case.status, case.error) == (400, expected_name_error)
    elif len(case.data) > MAX_FILE_SIZE:
        assert (case.status, case.error) == (413, "file_too_large")
    elif not case.data:
        assert (case.status, case.error) == (400, "empty_file")
    else:
        assert case.status in (201, 415)


@pytest.mark.parametrize("case", [c for c in CASES if c.status == 201], ids=by_id)
def test_each_preview_expectation_follows_the_kind(case: Case):
    if case.kind == Kind.OTHER:
        assert case.preview == "none"  # never rendered: no preview to make or to fail
    else:
        assert case.kind in PREVIEWED and case.preview != "none"


@pytest.mark.parametrize("case", [c for c in CASES if content_decides(c)], ids=by_id)
def test_the_sniffer_agrees_with_each_content_verdict(case: Case):
    sniffer = Sniffer()
    try:
        for at in range(0, len(case.data), 1024 * 1024):
            sniffer.feed(case.data[at : at + 1024 * 1024])
        verdict: tuple[int, str | None] = (201, sniffer.finish().kind)
    except Refused as refused:
        verdict = (400 if refused.code == "empty_file" else 415, refused.code)
    if case.status == 201:
        assert verdict == (201, case.kind)
    else:
        assert verdict == (case.status, case.error)


def test_the_corpus_is_generated_quickly_and_the_same_every_time():
    start = time.perf_counter()
    again = corpus.build_cases()
    took = time.perf_counter() - start
    print(f"corpus: {len(again)} cases, {sum(len(c.data) for c in again):,} bytes, {took:.2f} s")
    assert again == CASES
    assert took < 4  # about 0.4 s here; the brief allows 2 s on a quiet machine
