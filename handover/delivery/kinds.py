"""What a delivered file is, decided from its bytes (never its name or declared type)."""

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    IMAGE = "image"
    PDF = "pdf"
    AUDIO = "audio"
    VIDEO = "video"
    TEXT = "text"
    ARCHIVE = "archive"
    OTHER = "other"  # allowed, but shown only as name, size, type and hash


@dataclass(frozen=True)
class Sniffed:
    kind: Kind
    mime: str


class Refused(Exception):
    """Bytes that are not a kind Handover accepts; ``code`` is the API error code."""

    def __init__(self, detail: str, *, code: str = "unsupported_type"):
        super().__init__(detail)
        self.detail = detail
        self.code = code
