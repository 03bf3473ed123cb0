"""Protected previews, one module per kind. Each module has

    make(src: Path, out_dir: Path, *, label: str, name: str, limits: Limits) -> Result

It reads the original at ``src`` (a local file), writes its preview files into ``out_dir`` and
says what it wrote. It raises ``PreviewError`` with a reason a person can read when the file
cannot be previewed (broken, truncated, too large when decoded, too slow)."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# One rule for every kind: a preview shows at most this share of the work (lines, words and
# characters of a text, pages of a PDF or area of its one page, pixels of a picture, seconds of
# audio and video; or of each video frame, when the whole video is shown), rounded down, so it
# never holds all of even the shortest file.
SHARE = 4


def share(total: int) -> int:
    """How many of ``total`` units a preview may show: a quarter, rounded down."""
    return max(0, total) // SHARE


def share_seconds(duration_s: float, cap_s: float) -> float:
    """Seconds of a recording a preview may play: a quarter of it, at most ``cap_s``."""
    return min(cap_s, max(0.0, duration_s) / SHARE)


class PreviewError(Exception):
    """The file cannot be previewed; the message is shown to the parties as the reason."""


@dataclass(frozen=True)
class Limits:
    max_pixels: int = 100_000_000  # decoded image size refused above this (decompression bombs)
    timeout_s: float = 120.0  # wall time for one preview, child process included
    memory_bytes: int = 1024 * 2**20  # address space of the child doing the decoding
    image_edge: int = 1600  # long edge of an image preview
    drawing_edge: int = 800  # long edge of an SVG preview, whatever size the drawing declares
    pdf_pages: int = 3
    audio_seconds: int = 30
    video_seconds: float = 20  # HANDOVER_PREVIEW_CLIP
    video_height: int = 480
    # HANDOVER_PREVIEW_VIDEO=whole: every second instead of the first quarter, but a quarter of
    # each frame's pixels at most (half its width and height), this many lines at most.
    video_whole: bool = False
    video_whole_height: int = 240
    text_lines: int = 40
    archive_entries: int = 1000  # entries listed; the count goes on


@dataclass
class Part:
    path: Path  # inside out_dir
    content_type: str


@dataclass
class Result:
    parts: list[Part] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)  # JSON-safe, shown through the API


def make(kind: str, src: Path, out_dir: Path, *, label: str, name: str, limits: Limits) -> Result:
    """The preview of a file of this kind (see ``handover.delivery.kinds.Kind``)."""
    from importlib import import_module

    if kind not in MODULES:
        raise PreviewError(f"Files of kind {kind} have no preview.")
    module_name = MODULES[kind]
    if kind == "image":
        from handover.delivery.previews.svg import is_svg

        module_name = "svg" if is_svg(src) else module_name
    module = import_module(f"handover.delivery.previews.{module_name}")
    result: Result = module.make(src, out_dir, label=label, name=name, limits=limits)
    return result


# Kind -> module; imported when first needed, so a worker loads only what it uses.
MODULES = {
    "image": "image",
    "pdf": "pdf",
    "audio": "audio",
    "video": "video",
    "text": "text",
    "archive": "archive",
}
