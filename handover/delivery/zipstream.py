"""A ZIP archive written as it is sent: stored entries (no compression), their sizes known up
front, each CRC-32 computed on the way and sent after its data in a data descriptor, ZIP64
records where a size or an offset passes 4 GiB. Nothing is seeked and nothing is buffered
beyond one block, so memory stays flat whatever the archive's size, and its exact length is
known before the first byte (``ZipLayout.length``), so the response can say Content-Length.

Why not ``zipfile`` on a non-seekable stream: it writes the same records, but computes CRC-32
with zlib, which runs at under 1 GB/s on these machines (bench/zipall.py), below what one
file's download reaches; ISA-L's ``crc32`` (the ``isal`` package) runs at about 7 GB/s.
Stored, never deflated: what is delivered here is mostly already compressed (JPEG, PNG, PDF,
MP4, ZIP), so deflating would cost CPU for nothing and hide the length.

Record layouts: APPNOTE.TXT 6.3.10, sections 4.3.7 (local header), 4.3.9 (data descriptor),
4.3.12 (central directory), 4.3.14 to 4.3.16 (ends), 4.5.3 (ZIP64 extra), 4.5.5 ("UT" time).
"""

import struct
import unicodedata
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from isal.isal_zlib import crc32

# A 32-bit size or offset at or past ZIP64_FROM is written as MARK, the real value in ZIP64
# fields; likewise an entry count at or past COUNT_FROM. (Tests lower the thresholds.)
MARK, COUNT_MARK = 0xFFFFFFFF, 0xFFFF
ZIP64_FROM, COUNT_FROM = MARK, COUNT_MARK
FLAG_DESCRIPTOR = 0x08  # the CRC (and sizes) follow the data
FLAG_UTF8 = 0x800  # the name is UTF-8
MADE_BY_UNIX = 3 << 8
REGULAR_FILE = 0o100644 << 16  # external attributes: a plain file, rw-r--r--


@dataclass(frozen=True)
class Entry:
    name: str  # already safe (``safe_names``)
    size: int
    modified: datetime


def _zip64(value: int) -> bool:
    return value >= ZIP64_FROM


def _narrow(value: int) -> int:
    return MARK if _zip64(value) else value


def _dos_time(when: datetime) -> tuple[int, int]:
    when = when.astimezone(UTC)
    if when.year < 1980:  # the DOS format's epoch
        return 0, (1 << 5) | 1
    time = (when.hour << 11) | (when.minute << 5) | (when.second // 2)
    date = ((min(when.year, 2107) - 1980) << 9) | (when.month << 5) | when.day
    return time, date


def _unix_time(when: datetime) -> bytes:
    """The "UT" extra field: the modification time in UTC, which the DOS fields cannot say."""
    seconds = min(max(int(when.timestamp()), 0), 0xFFFFFFFF)
    return struct.pack("<HHBI", 0x5455, 5, 1, seconds)


class ZipLayout:
    """The records of an archive of ``entries``, in the order they are sent; every record's
    length depends only on names, sizes and offsets, so the archive's length is known first."""

    def __init__(self, entries: Sequence[Entry]):
        self.entries = list(entries)
        self.offsets: list[int] = []
        offset = 0
        for index, entry in enumerate(self.entries):
            self.offsets.append(offset)
            offset += len(self.local_header(index)) + entry.size + len(self.descriptor(index, 0))
        self.directory_offset = offset
        self.length = offset + len(self.directory([0] * len(self.entries)))

    def _common(self, index: int) -> tuple[bytes, int, int, int, bytes]:
        entry = self.entries[index]
        name = entry.name.encode("utf-8")
        flags = FLAG_DESCRIPTOR | (0 if entry.name.isascii() else FLAG_UTF8)
        time, date = _dos_time(entry.modified)
        return name, flags, time, date, _unix_time(entry.modified)

    def local_header(self, index: int) -> bytes:
        entry = self.entries[index]
        name, flags, time, date, extra = self._common(index)
        # Bit 3: CRC and sizes are zero here and come in the descriptor (4.4.4); a ZIP64 entry
        # says so with a ZIP64 field here, so readers expect 8-byte sizes there.
        size = 0
        if _zip64(entry.size):
            size = MARK
            extra = struct.pack("<HHQQ", 1, 16, 0, 0) + extra
        version = 45 if _zip64(entry.size) else 20
        head = struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            version,
            flags,
            0,
            time,
            date,
            0,
            size,
            size,
            len(name),
            len(extra),
        )
        return head + name + extra

    def descriptor(self, index: int, crc: int) -> bytes:
        size = self.entries[index].size
        if _zip64(size):
            return struct.pack("<IIQQ", 0x08074B50, crc, size, size)
        return struct.pack("<IIII", 0x08074B50, crc, size, size)

    def _directory_record(self, index: int, crc: int) -> bytes:
        entry, offset = self.entries[index], self.offsets[index]
        name, flags, time, date, extra = self._common(index)
        wide = [entry.size, entry.size] if _zip64(entry.size) else []
        wide += [offset] if _zip64(offset) else []
        if wide:
            extra = struct.pack(f"<HH{len(wide)}Q", 1, 8 * len(wide), *wide) + extra
        version = 45 if wide else 20
        size = _narrow(entry.size)
        head = struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            MADE_BY_UNIX | version,
            version,
            flags,
            0,
            time,
            date,
            crc,
            size,
            size,
            len(name),
            len(extra),
            0,
            0,
            0,
            REGULAR_FILE,
            _narrow(offset),
        )
        return head + name + extra

    def directory(self, crcs: Sequence[int]) -> bytes:
        """The central directory and the end records."""
        records = b"".join(self._directory_record(i, crc) for i, crc in enumerate(crcs))
        count, start, size = len(crcs), self.directory_offset, len(records)
        tail = b""
        if count >= COUNT_FROM or _zip64(start) or _zip64(size):
            end64 = start + size
            tail = struct.pack(
                "<IQHHIIQQQQ",
                0x06064B50,
                44,
                MADE_BY_UNIX | 45,
                45,
                0,
                0,
                count,
                count,
                size,
                start,
            )
            tail += struct.pack("<IIQI", 0x07064B50, 0, end64, 1)
        end = struct.pack(
            "<IHHHHIIH",
            0x06054B50,
            0,
            0,
            COUNT_MARK if count >= COUNT_FROM else count,
            COUNT_MARK if count >= COUNT_FROM else count,
            _narrow(size),
            _narrow(start),
            0,
        )
        return records + tail + end


# Told, for each entry begun, how many of its data bytes were handed to the connection and
# whether the entry (data and descriptor) was handed over whole.
Progress = Callable[[int, int, bool], None]


def zip_chunks(
    layout: ZipLayout, read: Callable[[int], Iterator[bytes]], progress: Progress
) -> Generator[bytes]:
    """The archive's bytes. ``read(index)`` gives an entry's data in blocks.

    A chunk counts as handed over once the consumer asks for the next one: a WSGI server asks
    after it has written the chunk to the socket. When the consumer stops early (the client
    went away), ``progress`` hears of the entry cut short, if any bytes of it went."""
    crcs: list[int] = []
    index, handed, whole = -1, 0, True
    try:
        for index, entry in enumerate(layout.entries):
            handed, whole = 0, False
            yield layout.local_header(index)
            crc = 0
            blocks = read(index)
            try:
                for block in blocks:
                    crc = crc32(block, crc)
                    yield block
                    handed += len(block)
            finally:
                if isinstance(blocks, Generator):
                    blocks.close()  # its file, at once rather than when collected
            if handed != entry.size:
                # Content-Length is promised: failing drops the connection, so the client sees
                # a broken download rather than an archive with a wrong file in it.
                raise OSError(f"{entry.name}: {handed} bytes stored, {entry.size} expected")
            yield layout.descriptor(index, crc)
            whole = True
            crcs.append(crc)
            progress(index, handed, True)
        yield layout.directory(crcs)
    except GeneratorExit:
        if not whole and handed:
            progress(index, handed, False)
        raise


# Characters no name in the archive keeps: separators and what Windows forbids, controls, and
# the bidirectional controls that can make "exe.jpg" read as "gpj.exe".
_REPLACED = set('/\\<>:"|?*') | {chr(c) for c in range(0x20)} | {"\x7f"}
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_DEVICES = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10)}
MAX_NAME_BYTES = 200


def safe_name(name: str, fallback: str) -> str:
    """``name`` as one plain file name that unpacks where the buyer asked, on any system."""
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]  # the last part of a path-like name
    name = "".join("_" if c in _REPLACED else c for c in name if c not in _BIDI)
    name = name.strip(" ").rstrip(".")  # Windows drops both at the end, and ".." is no name
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        stem, suffix = name, ""
    if stem.split(".")[0].upper() in _DEVICES:
        stem = "_" + stem
    suffix = suffix[:16]
    name = _shortened(stem, suffix)
    return name if name.strip("._ ") else fallback


def _shortened(stem: str, suffix: str, marker: str = "") -> str:
    tail = marker + ("." + suffix if suffix else "")
    while stem and len((stem + tail).encode("utf-8")) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem + tail


def safe_names(names: Iterable[str]) -> list[str]:
    """Each name made safe, and made unique ("a.png", "a (2).png") as a case-insensitive file
    system sees names."""
    taken: set[str] = set()
    result: list[str] = []
    for number, name in enumerate(names, start=1):
        base = safe_name(name, fallback=f"file-{number}")
        stem, dot, suffix = base.rpartition(".")
        if not dot or not stem:
            stem, suffix = base, ""
        candidate, copy = base, 1
        while candidate.casefold() in taken:
            copy += 1
            candidate = _shortened(stem, suffix, marker=f" ({copy})")
        taken.add(candidate.casefold())
        result.append(candidate)
    return result
