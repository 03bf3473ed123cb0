"""Archive preview: the listing (names, sizes, flags), never the content.

A ZIP is listed from its central directory; a TAR from its headers, seeking over the members'
data (a compressed TAR has to be decompressed to get there, so that reading is bounded in bytes
and time). Nothing is ever extracted or written."""

import bz2
import gzip
import io
import lzma
import re
import stat
import tarfile
import time
import unicodedata
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from handover.delivery.previews import Limits, PreviewError, Result
from handover.delivery.previews.sandbox import run_limited

COUNT_CAP = 100_000  # TAR members counted at most
READ_BYTES = 1 << 30  # decompressed bytes of a compressed TAR read at most
READ_SECONDS = 10.0
SEEK_STEP = 16 << 20  # skip decompressed data in steps, checking the budget between them
HEADER_BYTES = 1 << 20  # a longer pax or GNU long-name header is not a real one
NAME_CHARS = 300
RATIO_WARNING = 100
# Control, format (the bidi overrides among them), separator and lone surrogate characters:
# they can make a name look like another one, or hide part of it.
HIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a first entry, or the end record of an empty ZIP
COMPRESSIONS: dict[bytes, tuple[str, str, Callable[..., Any]]] = {
    b"\x1f\x8b": ("gzip", "tar.gz", gzip.open),
    b"BZh": ("bzip2", "tar.bz2", bz2.open),
    b"\xfd7zXZ\x00": ("xz", "tar.xz", lzma.open),
}
DECODE_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError, ValueError)


class _OutOfBudget(Exception):
    """Reading stops; what was counted so far is the listing."""


@dataclass
class Listing:
    format: str
    limit: int  # entries kept for display
    entries: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0
    total_size: int = 0
    unsafe: int = 0
    stopped: str = ""  # why counting stopped before the end, if it did

    def add(self, entry: dict[str, Any]) -> None:
        self.count += 1
        self.total_size += entry["size"]
        self.unsafe += "path_traversal" in entry["flags"]
        if len(self.entries) < self.limit:
            self.entries.append(entry)

    def info(self, archive_bytes: int) -> dict[str, Any]:
        ratio = round(self.total_size / archive_bytes, 1) if archive_bytes else 0.0
        warnings = []
        if ratio > RATIO_WARNING:
            warnings.append("suspicious compression ratio (zip bomb?)")
        if self.unsafe:
            warnings.append("entries with unsafe paths")
        if self.stopped:
            warnings.append(self.stopped)
        return {
            "format": self.format,
            "entries": self.entries,
            "entry_count": self.count,
            "listed": len(self.entries),
            "truncated": self.count > len(self.entries) or bool(self.stopped),
            "total_size": self.total_size,
            "compression_ratio": ratio,
            "warnings": warnings,
        }


def make(src: Path, out_dir: Path, *, label: str, name: str, limits: Limits) -> Result:
    """The listing as ``info``; there are no parts."""
    # A central directory of millions of entries is read whole: a child bounds the memory.
    return run_limited(
        _make, src, limits, timeout_s=limits.timeout_s, memory_bytes=limits.memory_bytes
    )


def _make(src: Path, limits: Limits) -> Result:
    with src.open("rb") as raw:
        return Result(info=_listing_info(raw, limits, archive_bytes=src.stat().st_size))


def _listing_info(raw: IO[bytes], limits: Limits, *, archive_bytes: int) -> dict[str, Any]:
    magic = raw.read(6)
    raw.seek(0)
    if magic.startswith(ZIP_MAGIC):
        return zip_listing(raw, limits).info(archive_bytes)
    for prefix, (single, tar_format, opener) in COMPRESSIONS.items():
        if magic.startswith(prefix):
            with opener(raw) as stream:
                if not _starts_with_tar_header(stream):  # only its first block was unpacked
                    note = "compressed single file; contents are not shown"
                    return {"format": single, "entries": [], "note": note}
                stream.seek(0)
                listing = tar_listing(stream, tar_format, limits, max_bytes=READ_BYTES)
                return listing.info(archive_bytes)
    if _starts_with_tar_header(raw):
        raw.seek(0)
        return tar_listing(raw, "tar", limits, max_bytes=None).info(archive_bytes)
    raise PreviewError("The file is not an archive that can be listed.")


def zip_listing(raw: IO[bytes], limits: Limits) -> Listing:
    try:
        with zipfile.ZipFile(raw) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, NotImplementedError, *DECODE_ERRORS) as exc:
        raise _damaged(exc) from None
    listing = Listing("zip", limits.archive_entries)
    for member in members:
        listing.add(_zip_entry(member))
    return listing


def _zip_entry(member: zipfile.ZipInfo) -> dict[str, Any]:
    # The file type of a Unix mode, when a Unix tool made the archive; 0 when none did.
    file_type = stat.S_IFMT(member.external_attr >> 16)
    if member.is_dir():
        kind = "dir"
    elif file_type == stat.S_IFLNK:
        kind = "symlink"
    elif file_type in (0, stat.S_IFREG):
        kind = "file"
    else:
        kind = "other"
    flags = _path_flags(member.filename)
    if kind == "symlink":
        flags.append("link")
    if member.flag_bits & 0x1:
        flags.append("encrypted")
    return {
        "name": displayable(member.filename),
        "size": member.file_size,
        "compressed_size": member.compress_size,
        "type": kind,
        "flags": flags,
    }


def tar_listing(
    stream: IO[bytes], tar_format: str, limits: Limits, *, max_bytes: int | None
) -> Listing:
    listing = Listing(tar_format, limits.archive_entries)
    seconds = min(READ_SECONDS, limits.timeout_s / 2)
    reader = _BudgetReader(stream, max_bytes=max_bytes, deadline=time.monotonic() + seconds)
    try:
        with tarfile.open(fileobj=reader, mode="r:") as archive:
            while (member := archive.next()) is not None:
                listing.add(_tar_entry(member))
                # TarFile keeps every member it read; the listing needs none of them.
                archive.members.clear()  # type: ignore[attr-defined]
                if listing.count >= COUNT_CAP:
                    listing.stopped = f"counting stopped at {COUNT_CAP} entries"
                    break
    except _OutOfBudget as exc:
        listing.stopped = str(exc)
    except DECODE_ERRORS as exc:
        raise _damaged(exc) from None
    return listing


def _tar_entry(member: tarfile.TarInfo) -> dict[str, Any]:
    if member.isreg():
        kind = "file"
    elif member.isdir():
        kind = "dir"
    elif member.issym():
        kind = "symlink"
    else:
        kind = "other"  # hard links, devices, FIFOs
    entry: dict[str, Any] = {"name": displayable(member.name), "size": max(0, member.size)}
    entry |= {"type": kind, "flags": _path_flags(member.name)}
    if member.issym() or member.islnk():
        entry["flags"].append("link")
        entry["target"] = displayable(member.linkname)
    return entry


class _BudgetReader:
    """The file object tarfile reads, stopping once the budget of bytes or time is spent."""

    def __init__(self, stream: IO[bytes], *, max_bytes: int | None, deadline: float):
        self.stream = stream
        self.max_bytes = max_bytes
        self.deadline = deadline

    def read(self, size: int) -> bytes:
        if not 0 <= size <= HEADER_BYTES:
            raise PreviewError("The archive is damaged: a header is too large.")
        self._check(self.stream.tell() + size)
        return self.stream.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        # tarfile only seeks forward, to absolute offsets; a decompressing stream gets there by
        # decompressing, which is what the budget is for.
        while self.stream.tell() + SEEK_STEP < offset:
            self._check(self.stream.tell() + SEEK_STEP)
            self.stream.seek(self.stream.tell() + SEEK_STEP)
        self._check(offset)
        return self.stream.seek(offset, whence)

    def tell(self) -> int:
        return self.stream.tell()

    def write(self, data: bytes) -> int:
        raise io.UnsupportedOperation("listing only")

    def close(self) -> None:
        """The stream belongs to the caller, who closes it."""

    def _check(self, end: int) -> None:
        if self.max_bytes is not None and end > self.max_bytes:
            raise _OutOfBudget(
                f"reading stopped after {self.max_bytes >> 20} MB of decompressed data; "
                "there may be more entries"
            )
        if time.monotonic() > self.deadline:
            raise _OutOfBudget("reading took too long and stopped; there may be more entries")


def _starts_with_tar_header(stream: IO[bytes]) -> bool:
    try:
        block = stream.read(tarfile.BLOCKSIZE)
    except DECODE_ERRORS as exc:
        raise _damaged(exc) from None
    try:
        tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
    except tarfile.TarError:
        return False
    return True


def _path_flags(name: str) -> list[str]:
    path = name.replace("\\", "/")  # some unpackers on Windows take backslashes as separators
    absolute = path.startswith("/") or re.match(r"[A-Za-z]:", path) is not None
    return ["path_traversal"] if absolute or ".." in path.split("/") else []


def displayable(name: str) -> str:
    """``name`` safe to show: hidden and control characters replaced, at most 300 characters."""
    cut = name[:NAME_CHARS]
    shown = "".join("\ufffd" if unicodedata.category(c) in HIDDEN_CATEGORIES else c for c in cut)
    return shown[: NAME_CHARS - 1] + "…" if len(name) > NAME_CHARS else shown


def _damaged(exc: Exception) -> PreviewError:
    reason = displayable(str(exc))[:200].rstrip(".") or type(exc).__name__
    return PreviewError(f"The archive is damaged: {reason}.")
