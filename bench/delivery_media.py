"""Test files for bench/delivery.py, made on the spot so nothing large is kept in the repository:
a photo-like JPEG, a text PDF, a 1080p clip with sound, an MP3, and big UTF-8 text files."""

import subprocess
import zipfile
import zlib
from pathlib import Path

import imageio_ffmpeg  # type: ignore[import-untyped]
from PIL import Image, ImageChops, ImageFilter

NOISE_TILE = 1000  # noise is drawn once at this size and tiled: drawing 24 MP of it takes 10 s


def photo(path: Path, width: int, height: int) -> None:
    """Smooth gradients and soft blobs (sky, skin, walls) under sensor-like noise, JPEG q90:
    it compresses and decodes like a photo, unlike a flat test card."""
    size = (width, height)
    across = Image.linear_gradient("L").resize(size)
    down = Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_90).resize(size)
    radial = Image.radial_gradient("L").resize(size)
    blobs = Image.effect_noise((width // 50, height // 50), 60).filter(ImageFilter.GaussianBlur(2))
    blobs = blobs.resize(size, Image.Resampling.BILINEAR)
    picture = Image.merge(
        "RGB",
        (
            ImageChops.blend(across, blobs, 0.5),
            ImageChops.blend(down, blobs.transpose(Image.Transpose.FLIP_LEFT_RIGHT), 0.5),
            ImageChops.blend(radial, blobs.transpose(Image.Transpose.FLIP_TOP_BOTTOM), 0.5),
        ),
    )
    tile = Image.merge("RGB", [Image.effect_noise((NOISE_TILE, NOISE_TILE), 12) for _ in "rgb"])
    noise = Image.new("RGB", size)
    for x in range(0, width, NOISE_TILE):
        for y in range(0, height, NOISE_TILE):
            noise.paste(tile, (x, y))
    ImageChops.add(picture, noise, offset=-128).save(path, "JPEG", quality=90)


# --- a PDF written by hand: A4 pages of Helvetica text, content streams deflated ---

A4 = (595, 842)  # points
_WORDS = [
    *("delivery", "escrow", "order", "buyer", "seller", "preview", "original", "watermark"),
    *("release", "licence", "refund", "dispute", "evidence", "payment", "capture"),
    *("clearance", "revision", "milestone", "invoice", "contract", "scope"),
]


def pdf_document(path: Path, pages: int) -> None:
    """A ``pages``-page A4 document of justified-looking text, as a word processor exports it."""
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, filled in below once the page numbers are known
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    kids = []
    for number in range(pages):
        stream = zlib.compress(_page_text(number).encode("latin-1"))
        objects.append(
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream)
        )
        content = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R >> >> >>" % (*A4, content)
        )
        kids.append(len(objects))
    refs = b" ".join(b"%d 0 R" % kid for kid in kids)
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (refs, pages)
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path.write_bytes(bytes(out))


def _page_text(number: int) -> str:
    lines = [f"BT /F1 16 Tf 72 770 Td (Chapter {number + 1}) Tj ET"]
    y = 740
    for line in range(52):
        words = [_WORDS[(number * 7 + line * 3 + i) % len(_WORDS)] for i in range(12)]
        lines.append(f"BT /F1 10 Tf 72 {y} Td ({' '.join(words).capitalize()}.) Tj ET")
        y -= 13
    lines.append(f"BT /F1 9 Tf 290 40 Td (Page {number + 1}) Tj ET")
    return "\n".join(lines)


# --- audio and video, with the ffmpeg the product uses ---


def ffmpeg(*args: str) -> None:
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-y", *args]
    subprocess.run(command, check=True, stdin=subprocess.DEVNULL)


def video_clip(path: Path, seconds: int) -> None:
    """1080p30 ``testsrc2`` (moving shapes, a clock, colour bars) with a 440 Hz tone, H.264 at
    8 Mbit/s (what a phone or an export preset writes) and AAC, in MP4."""
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
        "-c:v", "libx264", "-preset", "veryfast", "-b:v", "8M", "-maxrate", "10M",
        "-bufsize", "16M", "-pix_fmt", "yuv420p", "-g", "60",
        "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-movflags", "+faststart", str(path),
    )  # fmt: skip


def mp3(path: Path, seconds: int) -> None:
    """A tone under pink noise, stereo 44.1 kHz at 192 kbit/s: decodes like music would."""
    ffmpeg(
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}",
        "-f", "lavfi", "-i", f"anoisesrc=d={seconds}:c=pink:r=44100:a=0.1",
        "-filter_complex", "[0:a][1:a]amix=inputs=2,aformat=channel_layouts=stereo",
        "-c:a", "libmp3lame", "-b:a", "192k", str(path),
    )  # fmt: skip


# --- big uploads: UTF-8 text, which the server accepts and validates to the last byte ---

BLOCK = 1024 * 1024


def text_file(path: Path, size: int, *, ascii_only: bool = False) -> None:
    """``size`` bytes of log-like UTF-8 lines, with a few accented letters and a euro sign on
    every line as European text has them, or none with ``ascii_only``."""
    line = "2026-11-26T12:00:00Z order={:08d} café delivery chunk ok, naïve résumé €{:05d}\n"
    if ascii_only:
        line = "2026-11-26T12:00:00Z order={:08d} cafe delivery chunk ok, naive resume EUR{:05d}\n"
    lines, length = [], 0
    number = 0
    while length < BLOCK:
        text = line.format(number, number % 99999)
        lines.append(text)
        length += len(text.encode())
        number += 1
    block = "".join(lines).encode()[:BLOCK]
    block = block[: block.rindex(b"\n") + 1]
    block += b"#" * (BLOCK - len(block) - 1) + b"\n"  # whole lines, exactly one block
    with path.open("wb") as out:
        for _ in range(size // BLOCK):
            out.write(block)
        out.write(b"x" * (size % BLOCK))  # ASCII, so the cut cannot split a character


def stored_zip(path: Path, member: Path) -> None:
    """A zip holding ``member`` uncompressed: as large as the file, and cheap to make."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        archive.write(member, member.name)
