"""Writing and reading stored files by key, for both backends (local files and S3).

Uploads are written as they arrive, so a writer takes chunks and is either committed or
aborted; an aborted writer leaves nothing behind."""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Protocol, cast

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from django.utils.http import content_disposition_header

from handover.lib.ranges import Disposition

# Types a browser shows without running anything of the file's. Any other (HTML, SVG, XML)
# leaves a presigned link as application/octet-stream: S3 cannot send nosniff or a CSP.
PASSIVE_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/avif",
        "image/heic",
        "image/heif",
        "image/tiff",
        "application/pdf",
        "text/plain",
    }
)


class Writer(Protocol):
    def write(self, chunk: bytes) -> None: ...
    def commit(self) -> None: ...
    def abort(self) -> None: ...


class LocalWriter:
    """A new file under the storage's folder, written with plain unbuffered writes."""

    def __init__(self, storage: FileSystemStorage, key: str):
        path = Path(storage.path(key))
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = path
        # O_EXCL: a generated key that already exists is a bug, never an overwrite.
        self.fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)

    def write(self, chunk: bytes) -> None:
        assert self.fd is not None
        view = memoryview(chunk)
        while view:
            view = view[os.write(self.fd, view) :]

    def commit(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def abort(self) -> None:
        self.commit()
        self.path.unlink(missing_ok=True)


class StorageFileWriter:
    """Any other backend through ``Storage.open(key, "wb")``: django-storages' S3 file sends
    the bytes as a multipart upload in parts of a few MB, so memory stays flat."""

    def __init__(self, storage: Storage, key: str):
        self.storage = storage
        self.key = key
        self.file: IO[bytes] | None = storage.open(key, "wb")

    def write(self, chunk: bytes) -> None:
        assert self.file is not None
        self.file.write(chunk)

    def commit(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None

    def abort(self) -> None:
        file, self.file = self.file, None
        multipart = getattr(file, "_multipart", None)
        if multipart is not None:
            multipart.abort()  # an unfinished S3 upload would otherwise keep its parts
        self.storage.delete(self.key)


def writer_open(key: str, storage: Storage | None = None) -> Writer:
    storage = storage or default_storage
    if isinstance(storage, FileSystemStorage):
        return LocalWriter(storage, key)
    return StorageFileWriter(storage, key)


def local_path(key: str) -> Path | None:
    """The file's path when the storage keeps it on this machine's disk."""
    try:
        return Path(default_storage.path(key))
    except NotImplementedError:
        return None


def scratch_dir() -> Path:
    path = Path(settings.HANDOVER_TMP_DIR)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


@contextmanager
def local_copy(key: str) -> Iterator[Path]:
    """A local path to the stored file: the file itself when local, else a scratch copy
    fetched in blocks and removed afterwards."""
    path = local_path(key)
    if path is not None:
        yield path
        return
    with tempfile.NamedTemporaryFile(dir=scratch_dir(), prefix="original-") as copy:
        bucket = getattr(default_storage, "bucket", None)
        if bucket is not None:
            # S3: a ranged, streamed download. Storage.open() would buffer the whole object.
            name = default_storage._normalize_name(key)  # type: ignore[attr-defined]
            bucket.Object(name).download_fileobj(copy)
        else:
            with default_storage.open(key, "rb") as source:
                shutil.copyfileobj(source, copy, 1024 * 1024)
        copy.flush()
        yield Path(copy.name)


def store_file(key: str, path: Path, storage: Storage | None = None) -> None:
    """Store a finished local file (a preview) under ``key``."""
    storage = storage or default_storage
    writer = writer_open(key, storage)
    try:
        with path.open("rb") as source:
            while chunk := source.read(1024 * 1024):
                writer.write(chunk)
        writer.commit()
    except BaseException:
        writer.abort()
        raise


def served_type(content_type: str) -> str:
    """``content_type`` if a browser can only show it, else application/octet-stream."""
    base = content_type.partition(";")[0].strip().lower()
    if base in PASSIVE_TYPES or base.startswith(("audio/", "video/")):
        return content_type
    return "application/octet-stream"


def presigned_url(key: str, *, name: str, content_type: str, disposition: Disposition) -> str:
    """A short-lived S3 link to ``key``, with the headers its response must carry.

    A presigned GET may override only Content-Type, Content-Disposition, Cache-Control,
    Content-Language, Expires and Content-Encoding (AWS and SeaweedFS alike; object metadata
    comes back as x-amz-meta-*, never as a real header), so X-Content-Type-Options and a CSP
    cannot be added: what a browser could run is sent as a download of opaque bytes instead."""
    header = content_disposition_header(disposition == "attachment", name) or disposition
    parameters = {
        "ResponseContentDisposition": header,
        "ResponseContentType": served_type(content_type),
        "ResponseCacheControl": "private, no-store",
    }
    storage = cast(Any, default_storage)
    return storage.url(key, parameters=parameters, expire=settings.HANDOVER_S3_URL_LIFETIME)


def stored_blocks(key: str, block_size: int = 1024 * 1024) -> Iterator[bytes]:
    """A stored file's bytes in blocks, from either backend, holding one block at a time."""
    path = local_path(key)
    if path is not None:
        with path.open("rb", buffering=0) as source:
            while block := source.read(block_size):
                yield block
        return
    bucket = getattr(default_storage, "bucket", None)
    if bucket is None:
        with default_storage.open(key, "rb") as file:
            while block := file.read(block_size):
                yield block
        return
    # S3: the object's body as it arrives. Storage.open() would buffer the whole object.
    name = default_storage._normalize_name(key)  # type: ignore[attr-defined]
    body = bucket.Object(name).get()["Body"]
    try:
        yield from body.iter_chunks(block_size)
    finally:
        body.close()
