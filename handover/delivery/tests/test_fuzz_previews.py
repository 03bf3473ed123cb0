"""Mutated real files against the type sniffer and every preview maker.

Real seeds (``seeds``: pictures, PDFs, texts, recordings, clips, archives) are damaged the way
transfers, tools and attackers damage files: bits flipped, bytes set to boundary values, pieces
inserted (from the same or another seed), deleted, repeated, the file cut short. Properties:

* the sniffer answers a kind from its allowlist, or refuses with ``Refused``; nothing else;
* a maker returns a preview whose parts exist and open, within the share rule, or refuses with
  ``PreviewError``, never with an exception nobody anticipated (in the sandboxed child that
  becomes the catch-all "the decoder failed", which counts as a crash here), and always within
  its time limit.

Bounded for the normal suite (the module takes well under a minute); HANDOVER_SLOW=1 runs
twenty times as many examples. ``bench/fuzz_previews.py`` does the same with atheris, for hours.
"""

import os
import struct
from collections.abc import Mapping

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from handover.delivery.sniff import Sniffer
from handover.delivery.tests import fuzzing, seeds

SLOW = os.environ.get("HANDOVER_SLOW") == "1"
SCALE = 20 if SLOW else 1


# Mutations -------------------------------------------------------------------------------------

# An edit is (operation, position, argument); positions are taken modulo the length at the time,
# so every edit applies to every file and a shrunk example stays readable.
Edit = tuple[str, int, int | bytes]
BOUNDARIES = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF)


def mutate(data: bytes, edits: list[Edit]) -> bytes:
    """``data`` with the edits applied in order."""
    out = bytearray(data)
    for operation, position, argument in edits:
        at = position % (len(out) + 1)
        if operation == "flip" and at < len(out):
            out[at] ^= 1 << (int(argument) % 8)
        elif operation == "overwrite":
            out[at : at + len(bytes(argument))] = bytes(argument)
        elif operation == "insert":
            out[at:at] = bytes(argument)
        elif operation == "delete":
            del out[at : at + int(argument)]
        elif operation == "repeat":
            out[at:at] = out[at : at + int(argument)] * 3
        elif operation == "truncate":
            del out[at:]
    return bytes(out)


# Sizes and counts at the edges of their fields, big- and little-endian.
BOUNDARY_BYTES = sorted(
    {
        struct.pack(fmt, value & mask)
        for value in BOUNDARIES
        for fmt, mask in ((">I", 2**32 - 1), ("<I", 2**32 - 1), (">H", 0xFFFF), ("<H", 0xFFFF))
    }
)


def _pieces(pool: Mapping[str, bytes]) -> st.SearchStrategy[bytes]:
    """A stretch of a real file: a header, a chunk, a marker from this or another seed."""
    files = [data for _, data in sorted(pool.items()) if data]
    return st.sampled_from(files).flatmap(
        lambda data: st.builds(
            lambda start, length: data[start : start + length],
            st.integers(0, len(data) - 1),
            st.integers(1, 512),
        )
    )


def edits(pool: Mapping[str, bytes]) -> st.SearchStrategy[list[Edit]]:
    # Half the positions fall in the first 256 bytes, where the headers and sizes are.
    position = st.one_of(st.integers(0, 255), st.integers(0, 2**17))
    payload = st.one_of(
        st.binary(min_size=1, max_size=16), st.sampled_from(BOUNDARY_BYTES), _pieces(pool)
    )
    edit = st.one_of(
        st.tuples(st.just("flip"), position, st.integers(0, 7)),
        st.tuples(st.sampled_from(["overwrite", "insert"]), position, payload),
        st.tuples(st.sampled_from(["delete", "repeat"]), position, st.integers(1, 1024)),
        st.tuples(st.just("truncate"), position, st.just(0)),
    )
    return st.lists(edit, min_size=1, max_size=6)


def mutated(pool: Mapping[str, bytes]) -> st.SearchStrategy[tuple[str, list[Edit]]]:
    """(seed name, edits): the name says which seed, and is the file name the maker is given."""
    return st.tuples(st.sampled_from(sorted(pool)), edits({**pool, **seeds.every()}))


def test_mutations_do_what_they_say():
    seed = b"0123456789"
    assert mutate(seed, [("flip", 0, 0)]) == b"1123456789"
    assert mutate(seed, [("overwrite", 12, b"ab")]) == b"0ab3456789"  # 12 mod 11 = 1
    assert mutate(seed, [("insert", 10, b"!")]) == b"0123456789!"
    assert mutate(seed, [("delete", 2, 3), ("truncate", 4, 0)]) == b"0156"
    assert mutate(seed, [("repeat", 8, 5)]) == b"01234567" + b"89" * 3 + b"89"


def test_an_exception_nobody_anticipated_in_a_maker_counts_as_a_crash(monkeypatch):
    def broken(header):
        raise KeyError("vips-loader")

    monkeypatch.setattr("handover.delivery.previews.image._format", broken)
    with pytest.raises(AssertionError, match="KeyError: 'vips-loader'"):
        fuzzing.preview("image", "picture.png", seeds.images()["picture.png"])


# The sniffer -----------------------------------------------------------------------------------


@settings(max_examples=500 * SCALE, deadline=None)
@given(case=mutated(seeds.every()), chunk=st.integers(1, 70_000))
def test_the_sniffer_places_or_refuses_any_mutated_file(case, chunk):
    name, changes = case
    event(fuzzing.sniff(mutate(seeds.every()[name], changes), chunk))


# The makers ------------------------------------------------------------------------------------


def preview(kind: str, name: str, data: bytes) -> None:
    outcome = fuzzing.preview(kind, name, data)
    event(outcome if outcome == "previewed" else "refused")


FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],  # each example forks a decoder or two
)


@settings(FUZZ, max_examples=50 * SCALE)
@given(case=mutated(seeds.images()))
def test_the_image_preview_survives_mutated_pictures(case):
    name, changes = case
    preview("image", name, mutate(seeds.images()[name], changes))


@settings(FUZZ, max_examples=30 * SCALE)
@given(case=mutated(seeds.drawings()))
def test_the_drawing_preview_survives_mutated_drawings(case):
    name, changes = case
    preview("image", name, mutate(seeds.drawings()[name], changes))


@settings(FUZZ, max_examples=50 * SCALE)
@given(case=mutated(seeds.pdfs()))
def test_the_pdf_preview_survives_mutated_documents(case):
    name, changes = case
    preview("pdf", name, mutate(seeds.pdfs()[name], changes))


@settings(FUZZ, max_examples=30 * SCALE)
@given(case=mutated(seeds.texts()))
def test_the_text_preview_survives_mutated_texts(case):
    name, changes = case
    preview("text", name, mutate(seeds.texts()[name], changes))


@settings(FUZZ, max_examples=50 * SCALE)
@given(case=mutated(seeds.archives()))
def test_the_archive_listing_survives_mutated_archives(case):
    name, changes = case
    preview("archive", name, mutate(seeds.archives()[name], changes))


@settings(FUZZ, max_examples=15 * SCALE)
@given(case=mutated(seeds.audios()))
def test_the_audio_preview_survives_mutated_recordings(case):
    name, changes = case
    preview("audio", name, mutate(seeds.audios()[name], changes))


@settings(FUZZ, max_examples=10 * SCALE)
@given(case=mutated(seeds.videos()))
# Found by this test: the WebM's Duration (its 8-byte float at 254) made a microsecond, which
# ffmpeg prints as 0.00 s; the share of it was "-t 0.000", no limit: the whole clip was shown.
@example(case=("clip.webm", [("overwrite", 254, struct.pack(">d", 0.001))]))
def test_the_video_preview_survives_mutated_clips(case):
    name, changes = case
    preview("video", name, mutate(seeds.videos()[name], changes))


@pytest.mark.parametrize("kind", sorted(seeds.by_kind()))
def test_every_seed_unmutated_is_sniffed_as_its_kind_and_previewed(kind):
    """The seeds are sound files of their kind: the properties above are not vacuous."""
    for name, data in seeds.by_kind()[kind].items():
        sniffer = Sniffer()
        sniffer.feed(data)
        assert sniffer.finish().kind == kind, name
        assert fuzzing.preview(kind, name, data) == "previewed", name
