"""Checking evidence offline: an order's bundle (``handover verify BUNDLE``, ``bundle``) and,
from rows the caller reads, the deployment's whole log (``handover verify --log``, ``log``).
Both ask the same questions of an event, a leaf, a proof and a signed head, each answered by
one function in ``checks``.

Pure Python, ``cryptography`` and the record's own ``chain`` and ``merkle`` (hashlib): no
Django and no database. A check never stops at the first problem: the report lists every
failure, each a stable reason code (``Reason``) and a sentence naming the event, message,
file, receipt, leaf or head."""

from handover.records.verify.bundle import (
    ATTACHMENTS,
    DOWNLOAD_TYPES,
    DOWNLOADS,
    EVENTS,
    FORMAT,
    MANIFEST,
    MESSAGES,
    ORDER,
    PROOFS,
    PUBLIC_KEY,
    README,
    REQUIREMENTS,
    SEALED,
    TERMS,
    TIMELINE_HTML,
    TIMELINE_PDF,
    TREE_HEAD,
    attachments_recorded,
    bundle_message,
    download_entry,
    receipt_unsigned,
    verify_bundle,
)
from handover.records.verify.checks import Failure, Reason, Report, key_id, signature_valid
from handover.records.verify.cli import main, parse_key, report_lines
from handover.records.verify.log import NOT_JSON, EventRow, HeadRow, LeafRow, verify_log

__all__ = [
    "ATTACHMENTS",
    "DOWNLOADS",
    "DOWNLOAD_TYPES",
    "EVENTS",
    "FORMAT",
    "MANIFEST",
    "MESSAGES",
    "NOT_JSON",
    "ORDER",
    "PROOFS",
    "PUBLIC_KEY",
    "README",
    "REQUIREMENTS",
    "SEALED",
    "TERMS",
    "TIMELINE_HTML",
    "TIMELINE_PDF",
    "TREE_HEAD",
    "EventRow",
    "Failure",
    "HeadRow",
    "LeafRow",
    "Reason",
    "Report",
    "attachments_recorded",
    "bundle_message",
    "download_entry",
    "key_id",
    "main",
    "parse_key",
    "receipt_unsigned",
    "report_lines",
    "signature_valid",
    "verify_bundle",
    "verify_log",
]
