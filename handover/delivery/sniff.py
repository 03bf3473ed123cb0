"""Decide a delivered file's kind from its bytes while it streams in.

Only the first 64 KiB (the head) are kept. Binary types are decided from the head by signature;
after that a chunk costs nothing. A file with no known signature must be text, so it is decoded
to the end, chunk by chunk, and refused at the first byte that is not text.

Decisions worth knowing:

* Text is UTF-8 (BOM optional) without NUL, or UTF-16 with a BOM (validated to the end: no lone
  surrogates, no U+0000). Latin-1 and other legacy encodings are refused: every byte string
  without NUL is "valid" Latin-1, so accepting it means accepting NUL-free binary under a text
  label, by a printable-ratio guess that real Windows-1252 files fail (0x80-0x9F); and a file
  that starts as ASCII and turns Latin-1 later could only be caught after it was called UTF-8.
  The uploader is told to save the text as UTF-8, or put the file in a zip archive.
* HTML is text we must never render: OTHER (download only), still validated as text to the end.
  SVG is validated the same way and is an IMAGE: its preview is drawn from a cleaned copy in the
  sandbox (``previews.svg``), and the original is only ever sent as a download. A text head
  that is all prolog (comments, declarations, whitespace) for the whole 64 KiB is treated as
  HTML: we cannot see its first element, so we assume the worst.
* filetype's matchers are used where they are exact (JPEG, PNG, WebP, AVI, gzip, 7z, xz, fonts);
  ours are stricter where its test is a short ASCII prefix a text file could start with (GIF,
  bzip2, FLAC, Ogg, PSD), or where it reads too little (ISO media brands, ZIP documents, MP3).
"""

import codecs
import re
from collections.abc import Callable
from typing import Any

from filetype.types import archive, font, image, video  # type: ignore[import-untyped]

from handover.delivery.kinds import Kind, Refused, Sniffed

HEAD_SIZE = 64 * 1024  # every signature below is decided within it
EXECUTABLE_PREFIX = 64  # executables are known from this many bytes, so the upload stops early

_OOXML = "application/vnd.openxmlformats-officedocument"
_ODF_TYPES = (
    "text",
    "text-template",
    "text-master",
    "text-web",
    "spreadsheet",
    "spreadsheet-template",
    "presentation",
    "presentation-template",
    "graphics",
    "graphics-template",
    "chart",
    "formula",
    "database",
    "image",
)

# The allowlist: every detected type Handover accepts, and what it is.
ALLOWED: dict[str, Sniffed] = {
    "jpeg": Sniffed(Kind.IMAGE, "image/jpeg"),
    "png": Sniffed(Kind.IMAGE, "image/png"),
    "gif": Sniffed(Kind.IMAGE, "image/gif"),
    "webp": Sniffed(Kind.IMAGE, "image/webp"),
    "tiff": Sniffed(Kind.IMAGE, "image/tiff"),
    "heic": Sniffed(Kind.IMAGE, "image/heic"),
    "heif": Sniffed(Kind.IMAGE, "image/heif"),
    "avif": Sniffed(Kind.IMAGE, "image/avif"),
    "pdf": Sniffed(Kind.PDF, "application/pdf"),
    "mp3": Sniffed(Kind.AUDIO, "audio/mpeg"),
    "wav": Sniffed(Kind.AUDIO, "audio/wav"),
    "flac": Sniffed(Kind.AUDIO, "audio/flac"),
    "ogg": Sniffed(Kind.AUDIO, "audio/ogg"),
    "m4a": Sniffed(Kind.AUDIO, "audio/mp4"),
    "aiff": Sniffed(Kind.AUDIO, "audio/aiff"),
    "mp4": Sniffed(Kind.VIDEO, "video/mp4"),
    "mov": Sniffed(Kind.VIDEO, "video/quicktime"),
    "m4v": Sniffed(Kind.VIDEO, "video/x-m4v"),
    "3gp": Sniffed(Kind.VIDEO, "video/3gpp"),
    "3g2": Sniffed(Kind.VIDEO, "video/3gpp2"),
    "webm": Sniffed(Kind.VIDEO, "video/webm"),
    "mkv": Sniffed(Kind.VIDEO, "video/x-matroska"),
    "avi": Sniffed(Kind.VIDEO, "video/x-msvideo"),
    "ogv": Sniffed(Kind.VIDEO, "video/ogg"),
    "zip": Sniffed(Kind.ARCHIVE, "application/zip"),
    "tar": Sniffed(Kind.ARCHIVE, "application/x-tar"),
    "gzip": Sniffed(Kind.ARCHIVE, "application/gzip"),
    "bzip2": Sniffed(Kind.ARCHIVE, "application/x-bzip2"),
    "xz": Sniffed(Kind.ARCHIVE, "application/x-xz"),
    "7z": Sniffed(Kind.ARCHIVE, "application/x-7z-compressed"),
    # ZIP-based documents: their listing says nothing, the buyer downloads them.
    "docx": Sniffed(Kind.OTHER, f"{_OOXML}.wordprocessingml.document"),
    "xlsx": Sniffed(Kind.OTHER, f"{_OOXML}.spreadsheetml.sheet"),
    "pptx": Sniffed(Kind.OTHER, f"{_OOXML}.presentationml.presentation"),
    "opc": Sniffed(Kind.OTHER, "application/zip"),  # another Open Packaging format (vsdx, 3mf)
    "epub": Sniffed(Kind.OTHER, "application/epub+zip"),
    **{
        f"odf-{sub}": Sniffed(Kind.OTHER, f"application/vnd.oasis.opendocument.{sub}")
        for sub in _ODF_TYPES
    },
    "html": Sniffed(Kind.OTHER, "text/html"),
    "svg": Sniffed(Kind.IMAGE, "image/svg+xml"),
    "psd": Sniffed(Kind.OTHER, "image/vnd.adobe.photoshop"),
    "ttf": Sniffed(Kind.OTHER, "font/ttf"),
    "otf": Sniffed(Kind.OTHER, "font/otf"),
    "woff": Sniffed(Kind.OTHER, "font/woff"),
    "woff2": Sniffed(Kind.OTHER, "font/woff2"),
    "ole2": Sniffed(Kind.OTHER, "application/x-ole-storage"),  # .doc, .xls, .ppt
    "rtf": Sniffed(Kind.OTHER, "application/rtf"),
    "postscript": Sniffed(Kind.OTHER, "application/postscript"),
    "blend": Sniffed(Kind.OTHER, "application/x-blender"),
    "text": Sniffed(Kind.TEXT, "text/plain; charset=utf-8"),
    "text-utf16": Sniffed(Kind.TEXT, "text/plain; charset=utf-16"),
}

_PROGRAM = "Executable programs cannot be delivered"
NOT_TEXT = (
    "This file is not valid text and not a known type, so it cannot be delivered "
    "(save text as UTF-8; other files can go inside a zip archive)."
)
# Types recognised only to be refused, with the reason the uploader reads.
REFUSED: dict[str, str] = {
    "elf": f"{_PROGRAM} (this looks like a Linux program or library).",
    "pe": f"{_PROGRAM} (this looks like a Windows program).",
    "macho": f"{_PROGRAM} (this looks like a macOS program).",
    "java-class": f"{_PROGRAM} (this looks like a compiled Java class).",
    "lnk": "Windows shortcuts cannot be delivered.",
    "msi": f"{_PROGRAM} (this looks like a Windows installer).",
}

Detector = Callable[[bytes], str | None]


def _prefix(name: str, *magics: bytes, at: int = 0) -> Detector:
    return lambda head: name if any(head.startswith(m, at) for m in magics) else None


def _filetype(name: str, matcher: Any) -> Detector:
    return lambda head: name if matcher.match(head) else None


def _dos_program(head: bytes) -> str | None:
    # A DOS header is full of zero bytes; a text file may well start with "MZ".
    return "pe" if head.startswith(b"MZ") and b"\0" in head[:EXECUTABLE_PREFIX] else None


def _cafebabe(head: bytes) -> str | None:
    # Java classes and fat Mach-O binaries share a magic: a class's major version is >= 45,
    # a fat binary's architecture count is small.
    if head.startswith(b"\xca\xfe\xba\xbf"):
        return "macho"
    if not head.startswith(b"\xca\xfe\xba\xbe") or len(head) < 8:
        return None
    return "java-class" if int.from_bytes(head[6:8], "big") >= 45 else "macho"


# Decided from the first EXECUTABLE_PREFIX bytes only, before anything else.
_EXECUTABLES: tuple[Detector, ...] = (
    _prefix("elf", b"\x7fELF"),
    _dos_program,
    _prefix(
        "macho", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe"
    ),
    _cafebabe,
    _prefix("lnk", b"L\0\0\0\x01\x14\x02\0"),
)

_IMAGE_BRANDS = {b"avif": "avif", b"avis": "avif", b"heic": "heic", b"heix": "heic"}
_MEDIA_BRANDS = {
    b"M4A ": "m4a",
    b"M4B ": "m4a",
    b"qt  ": "mov",
    b"M4V ": "m4v",
    b"M4VH": "m4v",
    b"M4VP": "m4v",
    **{b"3gp" + v: "3gp" for v in (b"4", b"5", b"6", b"7")},
    **{b"3g2" + v: "3g2" for v in (b"a", b"b", b"c")},
    b"f4v ": "mp4",
    **dict.fromkeys(
        b"isom iso2 iso4 iso5 iso6 mp41 mp42 avc1 dash mmp4 MSNV NDAS XAVC".split(), "mp4"
    ),
}


def _iso_media(head: bytes) -> str | None:
    """ISO base media (MP4, MOV, M4A, HEIF, AVIF) by the brands of its leading ftyp box."""
    if head[4:8] != b"ftyp":
        # QuickTime before ftyp existed starts straight with one of these atoms.
        old = head[:1] == b"\0" and head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip")
        return "mov" if old else None
    size = int.from_bytes(head[:4], "big")
    if not 16 <= size <= 4096:
        return None
    major = head[8:12]
    brands = {head[i : i + 4] for i in range(16, min(size, len(head)) - 3, 4)}
    if major in (b"mif1", b"msf1"):
        found = [_IMAGE_BRANDS[b] for b in (b"avif", b"heic", b"heix") if b in brands]
        return found[0] if found else "heif"
    if major in _IMAGE_BRANDS or major in _MEDIA_BRANDS:
        return _IMAGE_BRANDS.get(major) or _MEDIA_BRANDS[major]
    return "mp4" if any(_MEDIA_BRANDS.get(b) == "mp4" for b in brands) else None


def _matroska(head: bytes) -> str | None:
    if not head.startswith(b"\x1a\x45\xdf\xa3"):
        return None
    at = head.find(b"\x42\x82", 4, 64)  # DocType element, one-byte size
    if at < 0 or len(head) < at + 3 or not head[at + 2] & 0x80:
        return "mkv"
    return "webm" if head[at + 3 : at + 3 + (head[at + 2] & 0x7F)] == b"webm" else "mkv"


def _mp3(head: bytes) -> str | None:
    if head.startswith(b"ID3"):
        return "mp3" if len(head) > 4 and head[3] in (2, 3, 4) and head[4] != 0xFF else None
    if len(head) < 3 or head[0] != 0xFF:
        return None
    version, layer = (head[1] >> 3) & 3, (head[1] >> 1) & 3
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 3
    # Layer III or II with a defined version, bitrate and sample rate (not Layer I: FF FE is
    # also the UTF-16 byte order mark; not ADTS AAC, whose layer is 0).
    frame = head[1] & 0xE0 == 0xE0 and version != 1 and layer in (1, 2)
    return "mp3" if frame and bitrate not in (0, 15) and rate != 3 else None


def _zip_entries(head: bytes) -> list[tuple[bytes, bytes]]:
    """(name, stored content) of the local file headers visible in the head."""
    entries = []
    at = head.find(b"PK\x03\x04")
    while at >= 0 and at + 30 <= len(head):
        method = int.from_bytes(head[at + 8 : at + 10], "little")
        size = int.from_bytes(head[at + 18 : at + 22], "little")
        name_len = int.from_bytes(head[at + 26 : at + 28], "little")
        extra_len = int.from_bytes(head[at + 28 : at + 30], "little")
        name = head[at + 30 : at + 30 + name_len]
        start = at + 30 + name_len + extra_len
        entries.append((name, head[start : start + size] if method == 0 else b""))
        at = head.find(b"PK\x03\x04", at + 30)
    return entries


def _zip(head: bytes) -> str | None:
    """ZIP, or a document that is a ZIP inside (OOXML, OpenDocument, EPUB)."""
    if head.startswith(b"PK\x05\x06"):
        return "zip"
    if not head.startswith(b"PK\x03\x04"):
        return None
    entries = _zip_entries(head)
    if entries and entries[0][0] == b"mimetype":
        mime = entries[0][1]
        if mime == b"application/epub+zip":
            return "epub"
        sub = mime.removeprefix(b"application/vnd.oasis.opendocument.").decode("ascii", "replace")
        if f"odf-{sub}" in ALLOWED:
            return f"odf-{sub}"
    names = [name for name, _ in entries]
    parts = {b"word/document.xml", b"xl/workbook.xml", b"ppt/presentation.xml"}
    if b"[Content_Types].xml" in names or b"_rels/.rels" in names or parts.intersection(names):
        for name in names:
            folder = name.split(b"/", 1)[0]
            if folder in (b"word", b"xl", b"ppt"):
                return {b"word": "docx", b"xl": "xlsx", b"ppt": "pptx"}[folder]
        return "opc"
    return "zip"


_MSI_CLSIDS = {  # root storage class of an installer database and of a patch
    bytes.fromhex("84100c0000000000c000000000000046"),
    bytes.fromhex("86100c0000000000c000000000000046"),
}


def _ole2(head: bytes) -> str | None:
    if not head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return None
    sector_shift = int.from_bytes(head[0x1E:0x20], "little")
    first_directory = int.from_bytes(head[0x30:0x34], "little")
    if sector_shift not in (9, 12) or first_directory > 1024:
        return "ole2"
    root = (first_directory + 1) << sector_shift
    return "msi" if head[root + 0x50 : root + 0x60] in _MSI_CLSIDS else "ole2"


def _bzip2(head: bytes) -> str | None:
    level_ok = len(head) > 3 and 0x31 <= head[3] <= 0x39  # block size "1" to "9"
    block = head[4:10] in (b"1AY&SY", b"\x17\x72\x45\x38\x50\x90")  # first block, or end
    return "bzip2" if head.startswith(b"BZh") and level_ok and block else None


def _ogg(head: bytes) -> str | None:
    if not head.startswith(b"OggS\0"):
        return None
    return "ogv" if b"\x80theora" in head[28:64] else "ogg"


def _pdf_late(head: bytes) -> str | None:
    # Readers accept a header anywhere in the first 1024 bytes; checked after every other
    # signature, so junk before it cannot hide a program (those are refused first).
    return "pdf" if b"%PDF-" in head[:1024] else None


_SIGNATURES: tuple[Detector, ...] = (
    _filetype("jpeg", image.Jpeg()),
    _filetype("png", image.Png()),
    _prefix("gif", b"GIF87a", b"GIF89a"),
    _filetype("webp", image.Webp()),
    _prefix("tiff", b"II*\0", b"MM\0*"),
    _prefix("pdf", b"%PDF-"),
    _iso_media,
    _matroska,
    _filetype("avi", video.Avi()),
    lambda head: "wav" if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE" else None,
    lambda head: "aiff" if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC") else None,
    lambda head: "flac" if head[:4] == b"fLaC" and head[4:5] in (b"\0", b"\x80") else None,
    _ogg,
    _mp3,
    _zip,
    _prefix("tar", b"ustar", at=257),
    _filetype("gzip", archive.Gz()),
    _bzip2,
    _filetype("xz", archive.Xz()),
    _filetype("7z", archive.SevenZ()),
    _ole2,
    lambda head: "psd" if head[:6] in (b"8BPS\0\x01", b"8BPS\0\x02") else None,
    _filetype("woff", font.Woff()),
    _filetype("woff2", font.Woff2()),
    _filetype("ttf", font.Ttf()),
    _prefix("ttf", b"true\0"),
    _filetype("otf", font.Otf()),
    _prefix("rtf", b"{\\rtf"),
    _prefix("postscript", b"%!PS", b"\xc5\xd0\xd3\xc6"),
    lambda head: "blend" if head[:7] == b"BLENDER" and head[7:9] in (b"-v", b"_v") else None,
    _pdf_late,
)


def _first(detectors: tuple[Detector, ...], head: bytes) -> str | None:
    for detect in detectors:
        if name := detect(head):
            return name
    return None


# Comments, processing instructions, whitespace and a doctype that names neither HTML nor SVG.
_PROLOG = re.compile(
    r"(?:\s|<!--.*?-->|<\?.*?\?>|<!doctype\s+(?!html|svg)[^>\[]*(?:\[.*?\]\s*)?>)*", re.S | re.I
)
_FIRST_ELEMENT = re.compile(r"<(?:!doctype\s+)?([a-z][a-z0-9:._-]*)(?=[\s/>]|$)", re.I)
# Elements that only start a web page. Not <p>, <div>, <img>: READMEs start with those, and
# text is never rendered as HTML anyway; this only keeps real pages out of the text preview.
_PAGE_ELEMENTS = {
    *("html", "head", "body", "script", "iframe", "frameset", "object", "embed"),
    *("style", "meta", "title", "base", "link"),
}


def _markup(text: str, *, complete: bool) -> str | None:
    """'html' or 'svg' when a text's first element makes it a page or a drawing."""
    prolog = _PROLOG.match(text, 1 if text.startswith("\ufeff") else 0)
    at = prolog.end() if prolog else 0  # the prolog may be empty, so it always matches
    element = _FIRST_ELEMENT.match(text, at)
    if element is None:
        # Still in the prolog at the end of the head: the first element is out of sight.
        unseen = at == len(text) or text.startswith(("<!", "<?"), at)
        return "html" if unseen and not complete else None
    name = element.group(1).lower()
    if name == "svg" or name.endswith(":svg"):
        return "svg"
    return "html" if name in _PAGE_ELEMENTS or name.endswith(":html") else None


class _TextCheck:
    """Decodes the rest of a text file chunk by chunk; refuses at the first byte that is not
    text."""

    def __init__(self, encoding: str):
        self._decoder = codecs.getincrementaldecoder(encoding)()
        self._utf8 = encoding == "utf-8"

    def decode(self, chunk: bytes, *, final: bool = False, keep: bool = True) -> str:
        if self._utf8 and b"\0" in chunk:
            raise Refused(NOT_TEXT)
        if not keep and self._utf8 and chunk.isascii() and not self._decoder.getstate()[0]:
            return ""  # ASCII is UTF-8: nothing to decode (isascii runs at memory speed)
        try:
            text = self._decoder.decode(chunk, final)
        except UnicodeDecodeError:
            raise Refused(NOT_TEXT) from None
        if not self._utf8 and "\0" in text:
            raise Refused(NOT_TEXT)
        return text


def _lookup(name: str) -> Sniffed:
    if name in REFUSED:
        raise Refused(REFUSED[name])
    return ALLOWED[name]


class Sniffer:
    """Decides a file's kind from its bytes as they stream in, keeping only the head."""

    def __init__(self) -> None:
        self._head = bytearray()
        self._executable_checked = False
        self._result: Sniffed | None = None
        self._text: _TextCheck | None = None  # set while a text file is checked to its end
        self._refused: Refused | None = None

    def feed(self, chunk: bytes) -> None:
        """Take the next chunk; raises Refused as soon as the bytes are known to be refused."""
        if self._refused:
            raise self._refused
        try:
            if self._result is None:
                chunk = self._fill_head(chunk)
            if self._text is not None and chunk:
                self._text.decode(chunk, keep=False)
        except Refused as refused:
            self._refused = refused
            raise

    def finish(self) -> Sniffed:
        """The file's kind and type, once every chunk was fed; raises Refused."""
        if self._refused:
            raise self._refused
        try:
            if self._result is None:
                if not self._head:
                    raise Refused("The file is empty.", code="empty_file")
                self._decide(complete=True)
            if self._text is not None:
                self._text.decode(b"", final=True)
        except Refused as refused:
            self._refused = refused
            raise
        assert self._result is not None
        return self._result

    def _fill_head(self, chunk: bytes) -> bytes:
        """Adds to the head what fits; decides once it is full. Returns the rest of the chunk."""
        room = HEAD_SIZE - len(self._head)
        self._head += chunk[:room]
        if not self._executable_checked and len(self._head) >= EXECUTABLE_PREFIX:
            self._executable_checked = True
            if name := _first(_EXECUTABLES, bytes(self._head[:EXECUTABLE_PREFIX])):
                raise Refused(REFUSED[name])
        if len(self._head) < HEAD_SIZE:
            return b""
        self._decide(complete=False)
        return chunk[room:]

    def _decide(self, *, complete: bool) -> None:
        head, self._head = bytes(self._head), bytearray()
        name = _first(_EXECUTABLES, head[:EXECUTABLE_PREFIX]) or _first(_SIGNATURES, head)
        self._result = _lookup(name or self._start_text(head, complete=complete))

    def _start_text(self, head: bytes, *, complete: bool) -> str:
        utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff"))
        self._text = _TextCheck("utf-16" if utf16 else "utf-8")
        text = self._text.decode(head)
        return _markup(text, complete=complete) or ("text-utf16" if utf16 else "text")
