"""What a fuzzed file must get from the sniffer and from the preview makers, checked the same way
by the Hypothesis tests (``test_fuzz_previews``) and the atheris harness
(``bench/fuzz_previews.py``). Neither needs Django.

A failed check raises AssertionError; anything else a check lets through is a finding too.
"""

import json
import logging
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from PIL import Image

from handover.delivery.kinds import Refused
from handover.delivery.previews import Limits, PreviewError, Result, make, share
from handover.delivery.sniff import ALLOWED, Sniffer

# Small limits: a seed is a few KiB, so anything near these is the decoder going astray.
LIMITS = Limits(
    max_pixels=4_000_000,
    timeout_s=5.0,
    memory_bytes=2**30,  # as deployed: less starves ffmpeg's threads (EAGAIN) on a busy machine
    image_edge=200,
    pdf_pages=2,
    audio_seconds=2,
    video_seconds=1,
    video_height=48,
    text_lines=10,
    archive_entries=20,
)
GRACE_S = 2.0  # past the time limit: killing and reaping the child, removing scratch files
LABEL = "PREVIEW · order 7 · buyer fuzz"
# What the sandbox says when its child raised something other than PreviewError: an exception
# nobody anticipated, which the fuzzers count as a crash (the sandbox logs its traceback).
UNANTICIPATED = "the decoder failed on this file"
CONTENT_TYPES = {
    "image": {"image/jpeg"},
    "pdf": {"image/jpeg"},
    "text": {"image/png"},
    "audio": {"audio/mpeg"},
    "video": {"video/mp4", "image/jpeg"},
    "archive": set(),
}


def sniff(data: bytes, chunk: int) -> str:
    """Feed ``data`` in chunks of ``chunk`` bytes; the kind found, or "refused <code>"."""
    sniffer = Sniffer()
    try:
        for at in range(0, len(data), chunk):
            sniffer.feed(data[at : at + chunk])
        found = sniffer.finish()
    except Refused as refused:
        assert refused.code in ("unsupported_type", "empty_file"), refused.code
        assert refused.detail
        return f"refused {refused.code}"
    assert found in ALLOWED.values(), found
    return str(found.kind)


def preview(kind: str, name: str, data: bytes, limits: Limits = LIMITS) -> str:
    """Make the preview of ``data`` and check it, or check the refusal; "previewed" or
    "refused: <reason>"."""
    with tempfile.TemporaryDirectory(prefix="fuzz-") as scratch:
        src, out_dir = Path(scratch, "original"), Path(scratch, "out")
        src.write_bytes(data)
        out_dir.mkdir()
        started = time.monotonic()
        result, reason = None, ""
        with unanticipated_errors() as tracebacks:
            try:
                result = make(kind, src, out_dir, label=LABEL, name=name, limits=limits)
            except PreviewError as refusal:
                reason = str(refusal)
                assert reason != UNANTICIPATED, "\n".join(tracebacks)
        elapsed = time.monotonic() - started
        assert elapsed <= limits.timeout_s + GRACE_S, f"took {elapsed:.1f} s"
        if result is None:
            return f"refused: {reason}"
        assert_valid_preview(kind, result, out_dir, limits)
        return "previewed"


@contextmanager
def unanticipated_errors() -> Iterator[list[str]]:
    """The tracebacks the sandbox logs meanwhile."""
    found: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            found.append(record.getMessage())

    handler = Collect(logging.WARNING)
    sandbox_logger = logging.getLogger("handover.delivery.previews.sandbox")
    sandbox_logger.addHandler(handler)
    try:
        yield found
    finally:
        sandbox_logger.removeHandler(handler)


def assert_valid_preview(kind: str, result: Result, out_dir: Path, limits: Limits) -> None:
    """Parts of the kind's types that exist and open, facts the API can serve, the share rule."""
    json.dumps(result.info)
    assert {part.content_type for part in result.parts} <= CONTENT_TYPES[kind], result.parts
    assert bool(result.parts) == bool(CONTENT_TYPES[kind]), result.parts
    for part in result.parts:
        assert part.path.parent == out_dir, part.path
        assert part.path.stat().st_size > 0, part.path
        if part.content_type.startswith("image/"):
            with Image.open(part.path) as picture:
                picture.load()
    assert_within_share(kind, result.info, limits)


def assert_within_share(kind: str, info: dict[str, Any], limits: Limits) -> None:
    if kind == "image" and info["format"] == "svg":  # a drawing has no pixels of its own
        assert max(info["preview_width"], info["preview_height"]) <= limits.drawing_edge, info
    elif kind == "image":
        shown = info["preview_width"] * info["preview_height"]
        assert shown <= share(info["width"] * info["height"]), info
    elif kind == "pdf":
        assert info["pages_shown"] <= min(share(info["pages"]), limits.pdf_pages), info
    elif kind == "text":
        assert info["characters_shown"] <= share(info["characters"]), info
        assert info["words_shown"] <= share(info["words"]), info
    elif kind == "audio":
        assert info["snippet_s"] <= min(info["duration_s"] / 4, limits.audio_seconds) + 0.01, info
    elif kind == "video":
        # The clip is cut at a frame, so it may run a frame or two past the share.
        assert info["clip_s"] <= min(info["duration_s"] / 4, limits.video_seconds) + 0.5, info
