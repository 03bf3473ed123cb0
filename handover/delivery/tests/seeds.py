"""Small real files of every kind a preview is made for: the seeds that the fuzz tests and the
atheris harness (``bench/fuzz_previews.py``) mutate.

Data only, made on the spot, deterministically, and small (a few KiB each), so that one mutated
example costs a few milliseconds of decoding and the mutations land in headers as often as in
the payload. Audio and video are made by the ffmpeg binary of imageio-ffmpeg, as the preview
tests do.
"""

import base64
import functools
import gzip
import io
import math
import struct
import subprocess
import tarfile
import tempfile
import wave
from pathlib import Path

import imageio_ffmpeg  # type: ignore[import-untyped]
from PIL import Image, ImageDraw

from handover.delivery.tests import corpus


def _picture(fmt: str, size: tuple[int, int] = (48, 32), **params: object) -> bytes:
    image = Image.new("RGB", size, (30, 110, 200))
    draw = ImageDraw.Draw(image)
    draw.ellipse((4, 4, size[0] - 4, size[1] - 4), fill=(250, 200, 0))
    draw.line((0, 0, *size), fill=(0, 0, 0), width=2)
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


@functools.cache
def images() -> dict[str, bytes]:
    return {
        "picture.png": _picture("PNG"),
        "photo.jpg": _picture("JPEG", quality=80),
        "progressive.jpg": _picture("JPEG", quality=80, progressive=True),
        "picture.webp": _picture("WEBP", quality=70),
        "picture.gif": _picture("GIF"),
        "scan.tiff": _picture("TIFF", compression="tiff_lzw"),
    }


def drawings() -> dict[str, bytes]:
    """SVG drawings as editors write them: shapes, a gradient, text, a reused symbol, a path."""
    embedded = base64.b64encode(_picture("PNG")).decode()
    return {
        "logo.svg": (
            b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
            b' width="120" height="60" viewBox="0 0 120 60">'
            b'<defs><linearGradient id="g"><stop offset="0" stop-color="#f60"/>'
            b'<stop offset="1" stop-color="#06f"/></linearGradient>'
            b'<symbol id="dot"><circle cx="5" cy="5" r="5"/></symbol></defs>'
            b'<rect width="120" height="60" rx="8" fill="url(#g)"/>'
            b'<text x="10" y="38" font-size="20" fill="#fff">Logo</text>'
            b'<use xlink:href="#dot" x="100" y="10"/>'
            b'<path d="M10 50 Q 60 20 110 50" stroke="#000" fill="none"/></svg>'
        ),
        "badge.svg": (
            b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
            b"<style>.a { fill: #393; stroke: #000 }</style>"
            b'<circle class="a" cx="16" cy="16" r="12"/>'
            b'<image width="16" height="16" href="data:image/png;base64,'
            + embedded.encode()
            + b'"/>'
            b"</svg>"
        ),
    }


def _pdf_of_pictures(pages: int) -> bytes:
    """A PDF as a scanner writes it: one JPEG picture a page (Pillow's PDF writer)."""
    sheets = []
    for number in range(pages):
        sheet = Image.new("RGB", (60, 85), "white")
        ImageDraw.Draw(sheet).text((4, 4), f"p{number + 1}", fill="black")
        sheets.append(sheet)
    out = io.BytesIO()
    sheets[0].save(out, "PDF", save_all=True, append_images=sheets[1:], resolution=10)
    return out.getvalue()


@functools.cache
def pdfs() -> dict[str, bytes]:
    return {
        "text.pdf": corpus.pdf(),  # a font, a content stream, an exact xref table
        "pictures-1.pdf": _pdf_of_pictures(1),
        "pictures-4.pdf": _pdf_of_pictures(4),  # four pages: the first one is shown
    }


# Text seeds carry the file name the preview is asked for: the name picks the lexer.
PROSE = "\n".join(
    f"Paragraph {n}: the delivered article, with words ü, ✓ and 世界 in it." for n in range(12)
)
MARKDOWN = (
    "# Title\n\nIntro text.\n\n## Part one\n\n- a list item\n- another\n\n```py\nx = 1\n```\n"
)
PYTHON = '''"""A module."""
import os


class Greeter:
    def __init__(self, name: str) -> None:
        self.name = name

    def greet(self, loud: bool = False) -> str:
        text = f"hello {self.name}"
        return text.upper() if loud else text


def main(argv: list[str]) -> int:
    print(Greeter(os.getcwd()).greet())
    return 0
'''
CSV = "name,amount,currency\n" + "".join(f"row {n},{n * 100},EUR\n" for n in range(10))
HTML_AS_TEXT = "<p>An HTML fragment delivered as text</p>\n<ul><li>one</li><li>two</li></ul>\n" * 4


@functools.cache
def texts() -> dict[str, bytes]:
    return {
        "article.txt": PROSE.encode(),
        "README.md": MARKDOWN.encode(),
        "greeter.py": PYTHON.encode(),
        "data.csv": CSV.encode(),
        "fragment.html.txt": HTML_AS_TEXT.encode(),
        "utf16.txt": PROSE[:400].encode("utf-16"),  # with its byte order mark
    }


def _wav(channels: int, width: int, rate: int = 8000, seconds: float = 0.5) -> bytes:
    peak = 2 ** (8 * width - 1) - 1
    samples = [round(peak * 0.5 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(rate)]
    frames = b"".join(
        (s + 128 if width == 1 else s).to_bytes(width, "little", signed=width > 1) * channels
        for s in samples[: int(rate * seconds)]
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as recording:
        recording.setnchannels(channels)
        recording.setsampwidth(width)
        recording.setframerate(rate)
        recording.writeframes(frames)
    return out.getvalue()


def _ffmpeg(*args: str) -> bytes:
    """A file made by ffmpeg from lavfi sources (written to a scratch file, since MP4 seeks)."""
    with tempfile.TemporaryDirectory() as scratch:
        dest = Path(scratch, "out")
        command = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel"]
        subprocess.run([*command, "error", *args, "-y", str(dest)], check=True)
        return dest.read_bytes()


@functools.cache
def audios() -> dict[str, bytes]:
    tone = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000:duration=1"]
    return {
        "mono16.wav": _wav(1, 2),
        "stereo8.wav": _wav(2, 1),
        "song.mp3": _ffmpeg(*tone, "-c:a", "libmp3lame", "-b:a", "16k", "-f", "mp3"),
        "song.ogg": _ffmpeg(*tone, "-c:a", "libvorbis", "-f", "ogg"),
    }


@functools.cache
def videos() -> dict[str, bytes]:
    picture = ["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=5:duration=1"]
    sound = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000:duration=1"]
    h264 = ["-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", "-g", "5"]
    return {
        "clip.mp4": _ffmpeg(*picture, *sound, *h264, "-c:a", "aac", "-b:a", "16k", "-f", "mp4"),
        "clip.webm": _ffmpeg(*picture, "-c:v", "libvpx", "-b:v", "50k", "-f", "webm"),
    }


@functools.cache
def archives() -> dict[str, bytes]:
    members = [("docs/readme.txt", b"hello\n" * 20), ("src/main.py", PYTHON.encode())]
    tar = corpus.tar_of(*members)
    return {
        "work.zip": corpus.zip_of(*members),
        "work.tar": tar,
        "work.tar.gz": gzip.compress(tar, mtime=0),
    }


def others() -> dict[str, bytes]:
    """Bytes the sniffer must place or refuse: executables, markup, documents."""
    return {
        "elf": corpus.ELF,
        "pe": corpus.PE,
        "page.html": b"<!doctype html><html><body><script>alert(1)</script></body></html>",
        "drawing.svg": b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>',
        "empty": b"",
        "riff-header": struct.pack("<4sI4s", b"RIFF", 4, b"WAVE"),
        "tar-header-only": tarfile.TarInfo("x").tobuf(),
    }


# Kind (as ``handover.delivery.kinds.Kind`` names it) -> its seeds, by file name.
def by_kind() -> dict[str, dict[str, bytes]]:
    return {
        "image": {**images(), **drawings()},
        "pdf": pdfs(),
        "text": texts(),
        "audio": audios(),
        "video": videos(),
        "archive": archives(),
    }


def every() -> dict[str, bytes]:
    """Every seed of every kind, and the others, by file name."""
    found = {name: data for kind in by_kind().values() for name, data in kind.items()}
    return {**found, **others()}
