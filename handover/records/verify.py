"""Checking evidence offline: an order's bundle (``handover verify BUNDLE``) and, from rows the
caller reads, the whole deployment's log (``handover verify --log``).

Pure Python, ``cryptography`` and the record's own modules (``chain``, ``merkle``, which hashes
with ``handover_sha256`` where it is installed and with hashlib elsewhere): no Django and no
database, so a party's lawyer can run it on a laptop with nothing but the zip and, to
be sure whose record it is, the deployment's public key (``--key``, published at
``/api/v1/evidence/key``). The bundle's format is described in ``records.bundle``.

A check never stops at the first problem: the report lists every failure, each a stable
reason code (``Reason``) and a sentence naming the event, message, file or receipt. Checks run
from the signed record outwards, so the first failure is the most telling one: the key and the
tree head, then each event (its hash, its place in the order's chain, its inclusion in the
signed tree), then what the bundle says beside the events (terms, requirements, messages,
receipts, previews, downloads) against the events, then the manifest.
"""

import base64
import binascii
import hashlib
import json
import re
import sys
import zipfile
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import islice
from json.encoder import encode_basestring
from operator import attrgetter
from typing import IO, Any, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from handover.evidence.chain import (
    EVENT_VERSION,
    EVENT_VERSIONS,
    event_hash,
    receipt_message,
    seal_hash,
    tree_head_message,
)
from handover.evidence.merkle import (
    HASH_SIZE,
    CompactRange,
    leaf_hash,
    text_leaf_hashes,
    text_leaf_hashes_hex,
    verify_inclusion,
)
from handover.lib.canonical import canonical_json, json_sha256

FORMAT = 1
BUNDLE_CONTEXT = "handover/evidence-bundle/1"

MANIFEST = "manifest.json"
README = "README.txt"
ORDER = "order.json"
EVENTS = "events.jsonl"
PROOFS = "proofs.json"
TREE_HEAD = "tree_head.json"
PUBLIC_KEY = "public_key.json"
MESSAGES = "messages.json"
REQUIREMENTS = "requirements.json"
TERMS = "terms.json"
DOWNLOADS = "downloads.json"
TIMELINE_HTML = "timeline.html"
TIMELINE_PDF = "timeline.pdf"
SEALED = "sealed.json"  # support's bundles only
REQUIRED = (
    EVENTS,
    PROOFS,
    TREE_HEAD,
    PUBLIC_KEY,
    MESSAGES,
    REQUIREMENTS,
    TERMS,
    DOWNLOADS,
    ORDER,
    README,
    TIMELINE_HTML,
    TIMELINE_PDF,
)
RECEIPT_NAME = re.compile(r"receipts/delivery-(\d+)\.json")
PREVIEW_NAME = re.compile(r"previews/(\d+)-(\d+)(\.[A-Za-z0-9]{1,8})?")

# The event types and payload fields the checks read. Spelled out here rather than imported
# from evidence.models: they are the record's format, and this module runs without Django.
PLACED = "order.placed"
ANSWERS_UPDATED = "order.answers_updated"
TRANSITION = "order.transition"
MESSAGE_POSTED = "message.posted"
PREVIEW_MADE = "file.preview_made"
DOWNLOAD_TYPES = ("file.original_downloaded", "file.preview_viewed", "file.original_refused")
RECEIPT_FILE_FIELDS = ("name", "size", "sha256", "kind")

# A JSON member larger than this is refused rather than read into memory (a zip bomb).
_MAX_JSON = 256 * 2**20
_BLOCK = 1024 * 1024


class Reason(StrEnum):
    """Why a check failed; stable, for scripts to match on."""

    MALFORMED = "malformed"  # not a zip, a member missing, JSON that does not parse
    PUBLIC_KEY_MISMATCH = "public_key_mismatch"  # not the key expected (--key)
    TREE_HEAD_SIGNATURE_INVALID = "tree_head_signature_invalid"
    EVENT_HASH_MISMATCH = "event_hash_mismatch"  # a body does not hash to its recorded hash
    ORDER_MISMATCH = "order_mismatch"  # an event of another order
    CHAIN_START = "chain_start"  # the first event has a previous event
    CHAIN_BROKEN = "chain_broken"  # removed, reordered or inserted events
    INCLUSION_FAILED = "inclusion_failed"  # an event not in the signed tree
    TERMS_MISMATCH = "terms_mismatch"
    REQUIREMENTS_MISMATCH = "requirements_mismatch"
    MESSAGE_MISMATCH = "message_mismatch"
    RECEIPT_SIGNATURE_INVALID = "receipt_signature_invalid"
    RECEIPT_MISMATCH = "receipt_mismatch"  # a receipt that does not match its delivery event
    PREVIEW_MISMATCH = "preview_mismatch"
    DOWNLOADS_MISMATCH = "downloads_mismatch"
    SEALED_MISMATCH = "sealed_mismatch"  # sealed values that are not what the event sealed
    MANIFEST_MISMATCH = "manifest_mismatch"  # a member changed, missing or added
    MANIFEST_SIGNATURE_INVALID = "manifest_signature_invalid"
    # The whole log (--log) only:
    EVENT_COLUMN_MISMATCH = "event_column_mismatch"  # a queryable column differs from the body
    LEAF_HASH_MISMATCH = "leaf_hash_mismatch"
    LOG_GAP = "log_gap"  # leaf indices not 0, 1, 2, ...
    TREE_ROOT_MISMATCH = "tree_root_mismatch"  # a signed head's root is not the leaves' root
    CONSISTENCY_FAILED = "consistency_failed"  # a later head does not extend an earlier one


@dataclass(frozen=True)
class Failure:
    reason: Reason
    detail: str

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


@dataclass
class Report:
    failures: list[Failure] = field(default_factory=list)
    order_id: int | None = None
    events: int = 0
    withheld: int = 0  # events whose body this reader does not get (their hashes are checked)
    tree_size: int = 0
    key_id: str = ""
    heads: int = 0  # signed tree heads checked (the whole log only)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def reasons(self) -> list[Reason]:
        return [f.reason for f in self.failures]

    def fail(self, reason: Reason, detail: str) -> None:
        self.failures.append(Failure(reason, detail))


def key_id(raw_public: bytes) -> str:
    """A short name for a public key, as ``evidence.keys.key_id`` gives it."""
    return hashlib.sha256(raw_public).hexdigest()[:16]


def signature_valid(raw_public: bytes, message: bytes, signature_b64: object) -> bool:
    if not isinstance(signature_b64, str):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(raw_public).verify(
            base64.b64decode(signature_b64, validate=True), message
        )
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def bundle_message(manifest: dict[str, Any]) -> bytes:
    """What the deployment key signs for a bundle: its manifest without the signature."""
    unsigned = {k: v for k, v in manifest.items() if k != "signature"}
    return canonical_json({**unsigned, "context": BUNDLE_CONTEXT})


def receipt_unsigned(receipt: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in receipt.items() if k != "signature"}


# --- reading a bundle --------------------------------------------------------------------------


class _Malformed(Exception):
    pass


class _Zip:
    """The bundle's members, read by name, each at most once into memory."""

    def __init__(self, archive: zipfile.ZipFile):
        self.archive = archive
        names = archive.namelist()
        duplicated = sorted(name for name, count in Counter(names).items() if count > 1)
        if duplicated:
            raise _Malformed(f"the zip holds {duplicated[0]} more than once")
        self.names = set(names)
        self.digests: dict[str, tuple[int, str]] = {}

    def json(self, name: str) -> Any:
        raw = self._bytes(name)
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, ValueError) as error:
            raise _Malformed(f"{name} is not valid JSON ({error})") from None

    def lines(self, name: str) -> list[Any]:
        try:
            text = self._bytes(name).decode()
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        except (UnicodeDecodeError, ValueError) as error:
            raise _Malformed(f"{name} is not JSON lines ({error})") from None

    def _bytes(self, name: str) -> bytes:
        if name not in self.names:
            raise _Malformed(f"the bundle has no {name}")
        if self.archive.getinfo(name).file_size > _MAX_JSON:
            raise _Malformed(f"{name} is larger than {_MAX_JSON} bytes")
        return self._read(lambda f: f.read(_MAX_JSON + 1), name)

    def digest(self, name: str) -> tuple[int, str]:
        """The member's size and SHA-256, read in blocks."""
        if name not in self.digests:

            def hashing(f: IO[bytes]) -> tuple[int, str]:
                digest, size = hashlib.sha256(), 0
                while block := f.read(_BLOCK):
                    digest.update(block)
                    size += len(block)
                return size, digest.hexdigest()

            self.digests[name] = self._read(hashing, name)
        return self.digests[name]

    def _read[T](self, reader: Callable[[IO[bytes]], T], name: str) -> T:
        try:
            with self.archive.open(name) as f:
                return reader(f)
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as error:
            raise _Malformed(f"{name} cannot be read from the zip ({error})") from None


@dataclass
class _Event:
    position: int  # 1-based, in the bundle's chain order
    id: int
    seq: int
    hash: str
    raw: bytes  # the body as hashed
    body: dict[str, Any]  # and as parsed
    # A withheld event (one its reader may not read, see evidence.visibility): no body, only
    # its hash, which the next event's "prev" names, and its leaf hash, which the tree proves.
    leaf: bytes | None = None

    @property
    def withheld(self) -> bool:
        return self.leaf is not None

    @property
    def name(self) -> str:
        return f"event {self.position} (id {self.id}, seq {self.seq})"

    @property
    def type(self) -> str:
        return str(self.body.get("type"))

    @property
    def payload(self) -> dict[str, Any]:
        payload = self.body.get("payload")
        return payload if isinstance(payload, dict) else {}


def verify_bundle(
    path: Any, expected_key: bytes | None = None, *, expected_key_id: str | None = None
) -> Report:
    """Check an evidence bundle against itself, its signed tree head and (when given) the
    deployment's public key or key id; the report lists every failure found."""
    report = Report()
    try:
        with zipfile.ZipFile(path) as archive:
            _check_bundle(_Zip(archive), report, expected_key, expected_key_id)
    except _Malformed as error:
        report.fail(Reason.MALFORMED, _sentence(str(error)))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as error:
        report.fail(Reason.MALFORMED, _sentence(f"the bundle is not a readable zip ({error})"))
    return report


def _check_bundle(
    bundle: _Zip, report: Report, expected_key: bytes | None, expected_key_id: str | None
) -> None:
    for name in REQUIRED:
        if name not in bundle.names:
            raise _Malformed(f"the bundle has no {name}")
    manifest = _object(bundle.json(MANIFEST), MANIFEST)
    if manifest.get("format") != FORMAT:
        raise _Malformed(f"{MANIFEST} is of format {manifest.get('format')!r}, not {FORMAT}")
    report.order_id = _int(manifest.get("order_id"), f"{MANIFEST} order_id")
    raw_key = _check_key(bundle, report, expected_key, expected_key_id)
    head = _check_tree_head(bundle, report, raw_key)
    events = _check_events(bundle, report, head)
    _check_terms(bundle, report, events)
    _check_requirements(bundle, report, events)
    _check_messages(bundle, report, events)
    _check_receipts(bundle, report, events, raw_key)
    _check_previews(bundle, report, events)
    _check_downloads(bundle, report, events)
    _check_sealed(bundle, report, events)
    _check_manifest(bundle, report, manifest, raw_key, len(events), head)


def _check_key(
    bundle: _Zip, report: Report, expected: bytes | None, expected_id: str | None
) -> bytes:
    document = _object(bundle.json(PUBLIC_KEY), PUBLIC_KEY)
    if document.get("algorithm") != "Ed25519":
        raise _Malformed(f"{PUBLIC_KEY} holds a key of algorithm {document.get('algorithm')!r}")
    try:
        raw = base64.b64decode(str(document.get("public_key")), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise _Malformed(f"{PUBLIC_KEY} does not hold a 32-byte Ed25519 public key")
    report.key_id = key_id(raw)
    if document.get("key_id") != report.key_id:
        report.fail(
            Reason.PUBLIC_KEY_MISMATCH,
            f"{PUBLIC_KEY} names key {document.get('key_id')} but holds key {report.key_id}.",
        )
    if expected is not None and raw != expected:
        report.fail(
            Reason.PUBLIC_KEY_MISMATCH,
            f"The bundle's key {report.key_id} is not the expected key {key_id(expected)}.",
        )
    if expected_id is not None and report.key_id != expected_id:
        report.fail(
            Reason.PUBLIC_KEY_MISMATCH,
            f"The bundle's key {report.key_id} is not the expected key {expected_id}.",
        )
    return raw


@dataclass(frozen=True)
class _Head:
    size: int
    root: bytes


def _check_tree_head(bundle: _Zip, report: Report, raw_key: bytes) -> _Head:
    head = _object(bundle.json(TREE_HEAD), TREE_HEAD)
    size = _int(head.get("size"), f"{TREE_HEAD} size")
    root = _hex32(head.get("root"), f"{TREE_HEAD} root")
    signed_at, head_key = head.get("signed_at"), head.get("key_id")
    if not isinstance(signed_at, str) or not isinstance(head_key, str):
        raise _Malformed(f"{TREE_HEAD} lacks signed_at or key_id")
    report.tree_size = size
    message = tree_head_message(size=size, root=root.hex(), signed_at=signed_at, key_id=head_key)
    if head_key != report.key_id:
        report.fail(
            Reason.TREE_HEAD_SIGNATURE_INVALID,
            f"The tree head of size {size} names key {head_key}; the bundle's key is "
            f"{report.key_id}.",
        )
    elif not signature_valid(raw_key, message, head.get("signature")):
        report.fail(
            Reason.TREE_HEAD_SIGNATURE_INVALID,
            f"The signature of the tree head of size {size} does not verify with key "
            f"{report.key_id}.",
        )
    return _Head(size, root)


def _check_events(bundle: _Zip, report: Report, head: _Head) -> list[_Event]:
    proofs = _proofs(bundle)
    events = [_parse_event(n, line) for n, line in enumerate(bundle.lines(EVENTS), start=1)]
    report.events = len(events)
    if not events:
        raise _Malformed(f"{EVENTS} holds no events")
    previous = ""
    for event in events:
        if event.withheld:
            report.withheld += 1
            previous = event.hash
            _check_inclusion(report, event, proofs.get(event.seq), head)
            continue
        version = event.body.get("v")
        if version not in EVENT_VERSIONS or type(version) is not int:
            report.fail(
                Reason.EVENT_HASH_MISMATCH,
                f"{event.name}: its body has version {version!r}, which has no hash this "
                "verifier knows.",
            )
        elif event_hash(event.raw, version) != event.hash:
            report.fail(
                Reason.EVENT_HASH_MISMATCH,
                f"{event.name}: its body does not hash to the recorded hash.",
            )
        if event.body.get("order") != report.order_id:
            report.fail(
                Reason.ORDER_MISMATCH,
                f"{event.name} belongs to order {event.body.get('order')}, "
                f"not to order {report.order_id}.",
            )
        _check_link(report, event, previous)
        # The recorded hash, not the recomputed one: an edited body is reported once, above,
        # and the next event still links to what was recorded.
        previous = event.hash
        _check_inclusion(report, event, proofs.get(event.seq), head)
    return events


def _parse_event(position: int, line: Any) -> _Event:
    where = f"{EVENTS} line {position}"
    record = _object(line, where)
    if record.get("withheld") is True:
        return _withheld_event(position, record, where)
    body, recorded = record.get("body"), record.get("hash")
    if not isinstance(body, str) or not isinstance(recorded, str):
        raise _Malformed(f"{where} lacks its body or hash")
    try:
        parsed = _object(json.loads(body), f"the body of {where}")
    except ValueError:
        raise _Malformed(f"the body of {where} is not JSON") from None
    return _Event(
        position=position,
        id=_int(record.get("id"), f"{where} id"),
        seq=_int(record.get("seq"), f"{where} seq"),
        hash=recorded,
        raw=body.encode(),
        body=parsed,
    )


def _withheld_event(position: int, record: dict[str, Any], where: str) -> _Event:
    recorded = record.get("hash")
    if not isinstance(recorded, str) or not re.fullmatch(r"[0-9a-f]{64}", recorded):
        raise _Malformed(f"{where} lacks its hash")
    return _Event(
        position=position,
        id=_int(record.get("id"), f"{where} id"),
        seq=_int(record.get("seq"), f"{where} seq"),
        hash=recorded,
        raw=b"",
        body={},
        leaf=_hex32(record.get("leaf"), f"{where} leaf"),
    )


def _check_inclusion(report: Report, event: _Event, proof: list[bytes] | None, head: _Head) -> None:
    """Against the size and root of the signed head: a proof alone does not pin the tree."""
    leaf = event.leaf if event.leaf is not None else leaf_hash(event.raw)
    if proof is not None and verify_inclusion(leaf, event.seq, head.size, proof, head.root):
        return
    report.fail(
        Reason.INCLUSION_FAILED,
        f"{event.name} is not in the signed tree head of size {head.size}: "
        + ("the bundle has no proof for it." if proof is None else "its proof fails."),
    )


def _check_link(report: Report, event: _Event, previous: str) -> None:
    prev = event.body.get("prev")
    if event.position == 1 and prev != "":
        report.fail(
            Reason.CHAIN_START,
            f"{event.name} is first in the bundle but follows an event with hash {prev}: "
            "earlier events are missing.",
        )
    elif event.position > 1 and prev != previous:
        report.fail(
            Reason.CHAIN_BROKEN,
            f"{event.name} does not follow the event before it in the bundle (its previous "
            f"hash is {prev}, the event before it has {previous}): an event was removed, "
            "reordered or inserted.",
        )


def _proofs(bundle: _Zip) -> dict[int, list[bytes]]:
    proofs: dict[int, list[bytes]] = {}
    for n, item in enumerate(_list(bundle.json(PROOFS), PROOFS)):
        entry = _object(item, f"{PROOFS} item {n}")
        seq = _int(entry.get("seq"), f"{PROOFS} item {n} seq")
        path = _list(entry.get("proof"), f"{PROOFS} item {n} proof")
        proofs[seq] = [_hex32(node, f"{PROOFS} item {n}") for node in path]
    return proofs


def _check_terms(bundle: _Zip, report: Report, events: list[_Event]) -> None:
    terms = _object(bundle.json(TERMS), TERMS)
    text = terms.get("text")
    placed = [e for e in events if e.type == PLACED]
    if not isinstance(text, str):
        raise _Malformed(f"{TERMS} has no text")
    actual = hashlib.sha256(text.encode()).hexdigest()
    if not placed:
        report.fail(Reason.TERMS_MISMATCH, "The bundle has no order.placed event to hold terms.")
        return
    recorded = placed[0].payload
    if actual != recorded.get("terms_sha256") or terms.get("sha256") != actual:
        report.fail(
            Reason.TERMS_MISMATCH,
            f"The terms text does not hash to the terms hash of {placed[0].name} "
            f"({recorded.get('terms_sha256')}).",
        )
    if terms.get("version") != recorded.get("terms_version"):
        report.fail(
            Reason.TERMS_MISMATCH,
            f"The terms are version {terms.get('version')}; {placed[0].name} agreed to "
            f"version {recorded.get('terms_version')}.",
        )


def _check_requirements(bundle: _Zip, report: Report, events: list[_Event]) -> None:
    document = _object(bundle.json(REQUIREMENTS), REQUIREMENTS)
    requirements = _list(document.get("requirements"), f"{REQUIREMENTS} requirements")
    # The last statement of the answers: placement, each change before payment, the payment.
    stating = [
        e
        for e in events
        if e.type in (PLACED, ANSWERS_UPDATED, TRANSITION) and "requirements_sha256" in e.payload
    ]
    actual = json_sha256(requirements)
    if not stating:
        report.fail(
            Reason.REQUIREMENTS_MISMATCH, "No event of the bundle records the requirements."
        )
    elif actual != stating[-1].payload["requirements_sha256"] or document.get("sha256") != actual:
        report.fail(
            Reason.REQUIREMENTS_MISMATCH,
            f"The requirements and answers do not hash to the hash recorded by {stating[-1].name}.",
        )


def _check_messages(bundle: _Zip, report: Report, events: list[_Event]) -> None:
    recorded = {e.payload.get("message_id"): e for e in events if e.type == MESSAGE_POSTED}
    seen: set[int] = set()
    for n, item in enumerate(_list(bundle.json(MESSAGES), MESSAGES)):
        message = _object(item, f"{MESSAGES} item {n}")
        message_id = _int(message.get("id"), f"{MESSAGES} item {n} id")
        event = recorded.get(message_id)
        if message_id in seen:
            report.fail(Reason.MESSAGE_MISMATCH, f"Message {message_id} is listed twice.")
            continue
        seen.add(message_id)
        if event is None:
            report.fail(
                Reason.MESSAGE_MISMATCH,
                f"Message {message_id} has no message.posted event in the record.",
            )
            continue
        if message.get("body") != event.payload.get("body"):
            report.fail(
                Reason.MESSAGE_MISMATCH,
                f"Message {message_id}: its text differs from the text {event.name} records.",
            )
        author = (message.get("author_id"), message.get("author_role"))
        if author != (event.body.get("actor"), event.body.get("role")):
            report.fail(
                Reason.MESSAGE_MISMATCH,
                f"Message {message_id}: its author differs from the author {event.name} records.",
            )
    for recorded_id, event in recorded.items():
        if recorded_id not in seen:
            report.fail(
                Reason.MESSAGE_MISMATCH,
                f"{event.name} records message {recorded_id}; {MESSAGES} lacks it.",
            )


def _check_receipts(bundle: _Zip, report: Report, events: list[_Event], raw_key: bytes) -> None:
    deliveries = {
        e.payload.get("delivery_id"): e
        for e in events
        if e.type == TRANSITION and e.payload.get("action") == "deliver"
    }
    found: set[int] = set()
    for name in sorted(bundle.names):
        match = RECEIPT_NAME.fullmatch(name)
        if match is None:
            continue
        delivery_id = int(match[1])
        found.add(delivery_id)
        receipt = _object(bundle.json(name), name)
        if not signature_valid(
            raw_key, receipt_message(receipt_unsigned(receipt)), receipt.get("signature")
        ):
            report.fail(
                Reason.RECEIPT_SIGNATURE_INVALID,
                f"The signature of {name} does not verify with key {report.key_id}.",
            )
        event = deliveries.get(delivery_id)
        if event is None:
            report.fail(
                Reason.RECEIPT_MISMATCH, f"{name}: the record has no delivery {delivery_id}."
            )
            continue
        for problem in _receipt_problems(receipt, event, delivery_id, report.order_id):
            report.fail(Reason.RECEIPT_MISMATCH, f"{name}: {problem}.")
    for recorded_id, event in deliveries.items():
        if recorded_id not in found:
            report.fail(
                Reason.RECEIPT_MISMATCH,
                f"{event.name} records delivery {recorded_id}; the bundle has no receipt for it.",
            )


def _receipt_problems(
    receipt: dict[str, Any], event: _Event, delivery_id: int, order_id: int | None
) -> Iterator[str]:
    if receipt.get("delivery_id") != delivery_id or receipt.get("order_id") != order_id:
        yield (
            f"it is the receipt of delivery {receipt.get('delivery_id')} of order "
            f"{receipt.get('order_id')}, not of delivery {delivery_id} of order {order_id}"
        )
    if receipt.get("event_hash") != event.hash:
        yield f"it names event {receipt.get('event_hash')}, not {event.name} ({event.hash})"
    if receipt.get("message") != event.payload.get("message"):
        yield f"its message differs from the message {event.name} records"
    listed = _file_keys(receipt.get("files"))
    recorded = _file_keys(event.payload.get("files"))
    if listed != recorded:
        changed = sorted(str(name) for name, *_rest in set(listed).symmetric_difference(recorded))
        yield f"its files differ from those {event.name} records ({', '.join(changed)})"


def _file_keys(files: object) -> list[tuple[Any, ...]]:
    if not isinstance(files, list):
        return []
    rows = [f for f in files if isinstance(f, dict)]
    return sorted(
        (tuple(str(f.get(k)) for k in RECEIPT_FILE_FIELDS) for f in rows),
    )


def _check_previews(bundle: _Zip, report: Report, events: list[_Event]) -> None:
    # (file id, part index) -> the part's hash and the event that records it
    recorded: dict[tuple[Any, Any], tuple[str, _Event]] = {}
    for event in events:
        if event.type != PREVIEW_MADE:
            continue
        for part in event.payload.get("parts") or []:
            if isinstance(part, dict):
                made = (event.payload.get("file_id"), part.get("index"))
                recorded[made] = (str(part.get("sha256")), event)
    found: set[tuple[Any, Any]] = set()
    for name in sorted(bundle.names):
        match = PREVIEW_NAME.fullmatch(name)
        if match is None:
            continue
        key = (int(match[1]), int(match[2]))
        found.add(key)
        if key not in recorded:
            report.fail(
                Reason.PREVIEW_MISMATCH,
                f"{name}: the record has no preview part {key[1]} of file {key[0]}.",
            )
        elif bundle.digest(name)[1] != recorded[key][0]:
            report.fail(
                Reason.PREVIEW_MISMATCH,
                f"{name} does not match the hash of part {key[1]} of file {key[0]} in "
                f"{recorded[key][1].name}.",
            )
    for key, (_digest, event) in sorted(recorded.items(), key=lambda item: str(item[0])):
        if key not in found:
            report.fail(
                Reason.PREVIEW_MISMATCH,
                f"{event.name} records preview part {key[1]} of file {key[0]}; "
                "the bundle does not hold it.",
            )


def download_entry(event_id: int, seq: int, body: dict[str, Any]) -> dict[str, Any]:
    """One line of downloads.json, as the builder writes it and the verifier expects it."""
    return {
        "event_id": event_id,
        "seq": seq,
        "type": body.get("type"),
        "at": body.get("at"),
        "actor_id": body.get("actor"),
        "role": body.get("role"),
        "payload": body.get("payload"),
    }


def _check_downloads(bundle: _Zip, report: Report, events: list[_Event]) -> None:
    expected = [download_entry(e.id, e.seq, e.body) for e in events if e.type in DOWNLOAD_TYPES]
    listed = [
        {k: v for k, v in _object(item, DOWNLOADS).items() if k != "file_name"}
        for item in _list(bundle.json(DOWNLOADS), DOWNLOADS)
    ]
    if listed == expected:
        return
    wrong = next(
        (n for n, (a, b) in enumerate(zip(listed, expected, strict=False)) if a != b),
        min(len(listed), len(expected)),
    )
    report.fail(
        Reason.DOWNLOADS_MISMATCH,
        f"The download log differs from the record from its entry {wrong + 1} on "
        f"({len(listed)} entries listed, {len(expected)} download events recorded).",
    )


def _check_sealed(bundle: _Zip, report: Report, events: list[_Event]) -> None:
    """Support's bundle holds the values events sealed (where a file was fetched from): each
    must hash, with its salt, to what its event recorded."""
    if SEALED not in bundle.names:
        return
    by_id = {e.id: e for e in events if not e.withheld}
    for n, item in enumerate(_list(bundle.json(SEALED), SEALED)):
        entry = _object(item, f"{SEALED} item {n}")
        event = by_id.get(entry.get("event_id"))  # type: ignore[arg-type]
        salt, values = entry.get("salt"), entry.get("values")
        if (
            event is None
            or not isinstance(salt, str)
            or not isinstance(values, dict)
            or seal_hash(salt, values) != event.payload.get("sealed")
        ):
            report.fail(
                Reason.SEALED_MISMATCH,
                f"{SEALED} item {n + 1} does not match what event {entry.get('event_id')} sealed.",
            )


def _check_manifest(
    bundle: _Zip,
    report: Report,
    manifest: dict[str, Any],
    raw_key: bytes,
    event_count: int,
    head: _Head,
) -> None:
    listed: dict[str, dict[str, Any]] = {}
    for n, item in enumerate(_list(manifest.get("files"), f"{MANIFEST} files")):
        entry = _object(item, f"{MANIFEST} files item {n}")
        listed[str(entry.get("name"))] = entry
    present = bundle.names - {MANIFEST}
    for name in sorted(present - set(listed)):
        report.fail(Reason.MANIFEST_MISMATCH, f"{name} is in the zip but not in the manifest.")
    for name in sorted(set(listed) - present):
        report.fail(Reason.MANIFEST_MISMATCH, f"{name} is in the manifest but not in the zip.")
    for name in sorted(present & set(listed)):
        size, digest = bundle.digest(name)
        if (size, digest) != (listed[name].get("size"), listed[name].get("sha256")):
            report.fail(
                Reason.MANIFEST_MISMATCH,
                f"{name} does not match its size and hash in the manifest.",
            )
    if (manifest.get("events"), manifest.get("tree_size")) != (event_count, head.size):
        report.fail(
            Reason.MANIFEST_MISMATCH,
            f"The manifest counts {manifest.get('events')} events in a tree of "
            f"{manifest.get('tree_size')}; the bundle holds {event_count} in a tree of "
            f"{head.size}.",
        )
    if manifest.get("key_id") != report.key_id or not signature_valid(
        raw_key, bundle_message(manifest), manifest.get("signature")
    ):
        report.fail(
            Reason.MANIFEST_SIGNATURE_INVALID,
            f"The manifest's signature does not verify with key {report.key_id}.",
        )


# --- the whole log -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventRow:
    """An event as its row holds it: the body and the columns that copy it."""

    id: int
    order_id: int | None
    type: str
    actor_id: int | None
    actor_role: str
    created_at: str  # ISO 8601
    payload: Any  # the column's JSON value as decoded: objects have string keys, as in JSON
    body: str
    prev_hash: str
    hash: str
    # The payload column's text as the database holds it, where the reader has it (SQLite,
    # where event_append stores the payload as the body holds it, canonical JSON) and has made
    # sure it is JSON: then it is checked against the body as it is, and ``payload`` is not
    # read. (A body that matches it is then JSON too, as the body the writer makes is.)
    payload_json: str | None = None


# A payload column that holds no JSON value (as ``EventRow.payload``): it matches no body.
NOT_JSON: Any = object()


@dataclass(frozen=True, slots=True)
class LeafRow:
    seq: int
    event_id: int
    leaf_hash: bytes
    body: str  # the event's body
    event_hash: str = ""  # the event's recorded hash ("" when the reader does not give it)


@dataclass(frozen=True, slots=True)
class HeadRow:
    size: int
    root: str
    signed_at: str
    key_id: str
    signature: str


# Rows are read this many at a time: a chunk's bodies are hashed in one loop in C (map), and the
# loop over its rows in Python only links and compares.
_CHUNK = 4096


def verify_log(
    *,
    events: Iterable[EventRow],
    leaves: Iterable[LeafRow],
    heads: Iterable[HeadRow],
    public_key: bytes,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Check the deployment's whole record: every order's chain from the bodies (``events``
    grouped by order, each order's in id order), every leaf against its event's body
    (``leaves`` by seq, each leaf's event among ``events``), and every signed head (by size)
    against the leaves' root, its signature and its consistency with the head before it.
    ``progress`` is called with the number of events or leaves each step has checked."""
    report = Report(key_id=key_id(public_key))
    tick = progress or (lambda _count: None)
    unhashed = _check_chains(events, report, tick)
    _check_leaves(leaves, heads, public_key, report, tick, unhashed)
    return report


# Whether the event pass takes an event as the writer makes it in one comparison (the tests turn
# it off to hold it to the field-by-field checks).
_FAST_PATH = True

# At most this many ids of events not recorded under their leaf hash are kept for the leaf
# pass; past it (a log written mostly before version 2) the leaf pass hashes every leaf, and
# memory stays flat.
_UNHASHED_MAX = 100_000


def _check_chains(
    events: Iterable[EventRow], report: Report, tick: Callable[[int], None]
) -> set[int] | None:
    """Check each event; return the ids of those not recorded under their own leaf hash (of
    an older version, or changed), whose leaves the leaf pass must hash for itself, or None
    when there are too many to keep: then it hashes every leaf."""
    order: int | None = None
    previous = ""
    # Whether previous is empty or a hash this check computed, so a hex digest: JSON needs no
    # escaping in it, and the expected body can take it as it is.
    hex_previous = True
    unhashed: set[int] | None = set()
    tails, fast = _CURRENT_TAILS, _FAST_PATH
    rows = iter(events)
    while chunk := list(islice(rows, _CHUNK)):
        report.events += len(chunk)
        # The leaf hash of each body, in one call: the hash a current event is recorded under.
        digests = text_leaf_hashes_hex(list(map(_body, chunk)))
        # Each event's time as its body holds it, between the quotes: as the readers give
        # them (isoformat) they need no escaping, and a chunk of such times is checked at once.
        times: list[str | None] = list(map(_created_at, chunk))
        if not _plain_strings(times):
            times = list(map(_json_string, times))
        # The end of each body after its previous hash, by role and type (a few recur).
        ends = list(map(tails.get, map(_role_and_type, chunk)))
        for row, digest, at, end in zip(chunk, digests, times, ends, strict=True):
            if row.order_id is None or row.order_id != order:
                order, previous, hex_previous = row.order_id, "", True
            # Every check at once, for an event as the writer makes it: its body hashes to its
            # hash, it follows the event before it, and it is byte for byte the body its
            # columns make (so its order, version, previous hash and columns match). The body
            # is made here, not in a function: this runs once an event.
            actor, payload = row.actor_id, row.payload_json
            if payload is None:
                payload = _payload_text(row.payload)
            if end is None:
                end = _current_tail(row)
            if (
                fast
                and digest == row.hash
                and hex_previous
                and row.prev_hash == previous
                and payload is not None
                and at is not None
                and end is not None
                and (type(order) is int or order is None)
                and (type(actor) is int or actor is None)
                and row.body
                == (
                    f'{{"actor":{"null" if actor is None else actor},"at":"{at}",'
                    f'"order":{"null" if order is None else order},"payload":{payload},'
                    f'"prev":"{previous}"{end}'
                )
            ):
                previous = digest
                continue
            # Else each check on its own, as an event of an older version, or a changed one.
            hashed = digest == row.hash
            version = EVENT_VERSION
            if not hashed:
                if unhashed is not None:
                    unhashed.add(row.id)
                    if len(unhashed) > _UNHASHED_MAX:
                        unhashed = None
                hashed, version = _older_hash(row)
            if not (
                hashed
                and hex_previous
                and row.prev_hash == previous
                and _expected_body(row, version) == row.body
            ):
                _check_event(row, digest, previous, report)
            previous, hex_previous = row.hash, hashed
        tick(len(chunk))
    return unhashed


def _older_hash(row: EventRow) -> tuple[bool, int]:
    """Whether the row's hash is its body's hash under version 1, and so the version to
    expect in its body."""
    try:
        return event_hash(row.body.encode(), 1) == row.hash, 1
    except UnicodeEncodeError:
        return False, EVENT_VERSION


def _check_event(row: EventRow, leaf_digest: str, previous: str, report: Report) -> None:
    name = f"event {row.id}" + (f" of order {row.order_id}" if row.order_id else "")
    try:
        body = json.loads(row.body)
    except ValueError:
        report.fail(Reason.MALFORMED, f"{name}: its body is not JSON.")
        body = {}
    if not isinstance(body, dict):
        body = {}
    version = body.get("v")
    if version == EVENT_VERSION and type(version) is int:
        hashed = leaf_digest == row.hash
    elif version == 1 and type(version) is int:
        hashed = _older_hash(row)[0]
    else:
        hashed = False
    if not hashed:
        report.fail(Reason.EVENT_HASH_MISMATCH, f"{name}: its body does not hash to its hash.")
    if body.get("order") != row.order_id:
        report.fail(
            Reason.ORDER_MISMATCH,
            f"{name}: its body says order {body.get('order')}.",
        )
    if body.get("prev") != previous:
        reason = Reason.CHAIN_START if previous == "" else Reason.CHAIN_BROKEN
        report.fail(
            reason,
            f"{name}: its previous hash is {body.get('prev')!r}, the order's event before "
            f"it has {previous!r}.",
        )
    if changed := _changed_columns(row, body):
        report.fail(
            Reason.EVENT_COLUMN_MISMATCH,
            f"{name}: its {', '.join(changed)} column differs from its body.",
        )


def _changed_columns(row: EventRow, body: dict[str, Any]) -> list[str]:
    try:
        payload = canonical_json(_payload(row)) == canonical_json(body.get("payload"))
    except (TypeError, ValueError, RecursionError):  # not JSON (or nested too deep)
        payload = False
    same = {
        "type": _same(row.type, body.get("type")),
        "actor": _same(row.actor_id, body.get("actor")),
        "actor_role": _same(row.actor_role, body.get("role")),
        "created_at": _same(row.created_at, body.get("at")),
        "payload": payload,
        "prev_hash": _same(row.prev_hash, body.get("prev")),
    }
    return [name for name, equal in same.items() if not equal]


def _payload(row: EventRow) -> Any:
    """The payload column's value: its stored text decoded, where the reader gave the text
    (ValueError for text that is not JSON)."""
    return row.payload if row.payload_json is None else json.loads(row.payload_json)


def _same(column: object, in_body: object) -> bool:
    # Exact, as the bytes are: 1, 1.0 and true are equal in Python, not in a body.
    return type(column) is type(in_body) and column == in_body


def _json_encoder() -> Callable[[Any, int], Sequence[str]]:
    """``canonical_json`` as text chunks, with the encoder made once: ``json.dumps`` makes one
    for every call, most of what a small payload costs. It is the C encoder ``json.dumps``
    uses, with the same arguments, checked against ``canonical_json`` once here; where there
    is none, ``canonical_json`` itself."""

    def plain(value: Any, _level: int) -> Sequence[str]:
        return (canonical_json(value).decode(),)

    settings = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        encode = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
            None,  # no cycle check: a row's payload was decoded from JSON, it has no cycles
            settings.default,
            encode_basestring,
            None,  # no indent
            settings.key_separator,
            settings.item_separator,
            settings.sort_keys,
            settings.skipkeys,
            settings.allow_nan,
        )
        sample = {"b": [1, 2.5, -0.0, True, None, '\u00e9\n"\\'], "a": {"z": {}, "y": []}}
        if "".join(encode(sample, 0)) != canonical_json(sample).decode():
            return plain
    except (AttributeError, TypeError):  # no C accelerator, or one that takes other arguments
        return plain
    return cast(Callable[[Any, int], Sequence[str]], encode)


_json_chunks = _json_encoder()
_body = attrgetter("body")
_created_at = attrgetter("created_at")
_role_and_type = attrgetter("actor_role", "type")
# The end of a body after its previous hash, by (role, type, version): the few recur in every
# order.
_TAILS: dict[tuple[str, str, int], str] = {}


def _expected_body(row: EventRow, version: int) -> str | None:
    """The body ``chain.event_body`` makes of the row's columns, as text; None for a row whose
    columns no body could hold as they are (then the caller looks at each column). The row's
    prev_hash goes in as it is: the caller has made sure it is a hex digest or empty."""
    actor, order = row.actor_id, row.order_id
    if not (type(actor) is int or actor is None) or not (type(order) is int or order is None):
        return None
    key = (row.actor_role, row.type, version)
    try:
        return (
            f'{{"actor":{"null" if actor is None else actor},'
            f'"at":{encode_basestring(row.created_at)},'
            f'"order":{"null" if order is None else order},'
            f'"payload":{"".join(_json_chunks(_payload(row), 0))},'
            f'"prev":"{row.prev_hash}"'
            f"{_TAILS.get(key) or _tail(*key)}"
        )
    except (TypeError, ValueError, RecursionError):  # not JSON: the field by field check says so
        return None


def _tail(role: str, type: str, version: int) -> str:
    tail = f',"role":{encode_basestring(role)},"type":{encode_basestring(type)},"v":{version}}}'
    if len(_TAILS) < 1024:
        _TAILS[role, type, version] = tail
    return tail


# The same ends for the current version, by (role, type): the event pass looks one up per event.
_CURRENT_TAILS: dict[tuple[str, str], str] = {}


def _current_tail(row: EventRow) -> str | None:
    try:
        tail = _tail(row.actor_role, row.type, EVENT_VERSION)
    except TypeError:  # a role or type that is not text: the field by field check says so
        return None
    if len(_CURRENT_TAILS) < 1024:
        _CURRENT_TAILS[row.actor_role, row.type] = tail
    return tail


def _plain_strings(values: list[Any]) -> bool:
    """Whether every value is a string JSON holds as it is, between quotes (with
    ``ensure_ascii=False``: no quote, backslash or control character)."""
    try:
        text = "".join(values)
    except TypeError:
        return False
    return text.isprintable() and '"' not in text and "\\" not in text


def _json_string(value: Any) -> str | None:
    """A string as JSON holds it, between the quotes; None for anything else."""
    return encode_basestring(value)[1:-1] if isinstance(value, str) else None


def _payload_text(payload: Any) -> str | None:
    """The payload as canonical JSON text; None for a value JSON cannot hold."""
    try:
        return "".join(_json_chunks(payload, 0))
    except (TypeError, ValueError, RecursionError):
        return None


def _check_leaves(
    leaves: Iterable[LeafRow],
    heads: Iterable[HeadRow],
    public_key: bytes,
    report: Report,
    tick: Callable[[int], None],
    unhashed: set[int] | None,
) -> None:
    # Only the tree's right edge: the root at each signed size is all this needs, and memory
    # stays flat however long the log.
    tree = CompactRange()
    pending = deque(sorted(heads, key=lambda h: h.size))
    previous: tuple[HeadRow, bytes] | None = None
    while pending and pending[0].size <= 0:  # a head of no leaves: the empty tree's root
        previous = _check_head(pending.popleft(), previous, tree.root(), public_key, report)
    rows = iter(leaves)
    while chunk := list(islice(rows, _CHUNK)):
        first = tree.size
        seqs = list(map(_seq, chunk))
        in_order = chunk
        if seqs != list(range(first, first + len(chunk))):
            in_order = chunk[: next(n for n, seq in enumerate(seqs) if seq != first + n)]
        stored = list(map(_leaf_hash, in_order))
        computed = _leaf_hashes_of(in_order, stored, unhashed)
        # Through the chunk in runs, each ending where a signed head's tree ends.
        start = 0
        while start < len(in_order):
            end = len(in_order)
            if pending and first + start < pending[0].size < first + end:
                end = pending[0].size - first
            run = stored[start:end]
            if computed[start:end] != run:
                for leaf, digest in zip(in_order[start:end], computed[start:end], strict=True):
                    if leaf.leaf_hash != digest:
                        report.fail(
                            Reason.LEAF_HASH_MISMATCH,
                            f"Leaf {leaf.seq}: its hash is not the hash of event "
                            f"{leaf.event_id}'s body.",
                        )
                # The tree holds the leaves as stored; one that is no hash at all, as hashed.
                run = [
                    leaf if len(leaf) == HASH_SIZE else digest
                    for leaf, digest in zip(run, computed[start:end], strict=True)
                ]
            tree.extend(run)
            while pending and pending[0].size == tree.size:
                head = pending.popleft()
                previous = _check_head(head, previous, tree.root(), public_key, report)
            start = end
        tick(len(in_order))
        if len(in_order) < len(chunk):
            leaf = chunk[len(in_order)]
            report.fail(
                Reason.LOG_GAP,
                f"Leaf {leaf.seq} (event {leaf.event_id}) comes where leaf {tree.size} should.",
            )
            return
    for head in pending:
        report.fail(
            Reason.TREE_ROOT_MISMATCH,
            f"The tree head of size {head.size} is larger than the log ({tree.size} leaves).",
        )
    report.tree_size = tree.size


def _leaf_hashes_of(
    chunk: list[LeafRow], stored: list[bytes], unhashed: set[int] | None
) -> list[bytes]:
    """The leaf hash of each leaf's body. An event recorded under its leaf hash (version 2)
    had that hash checked against its body by the event pass; where every leaf of the chunk
    stores 32 bytes that are its event's recorded hash, and every one of those events passed
    that check (none is in ``unhashed``), the stored hashes are the bodies' leaf hashes and no
    body is hashed a second time. Otherwise each body is hashed."""
    if (
        unhashed is not None
        and unhashed.isdisjoint(map(_event_id, chunk))
        and list(map(len, stored)).count(HASH_SIZE) == len(stored)
        # Each recorded hash that passed is 64 hex digits, so the joined texts are equal only
        # if each pair is.
        and b"".join(stored).hex() == "".join(map(_event_hash, chunk))
    ):
        return stored
    return _body_leaf_hashes(chunk)


def _body_leaf_hashes(rows: list[EventRow] | list[LeafRow]) -> list[bytes]:
    """The RFC 9162 leaf hash of each row's body, in one loop in C."""
    return text_leaf_hashes(list(map(_body, rows)))


_seq = attrgetter("seq")
_leaf_hash = attrgetter("leaf_hash")
_event_id = attrgetter("event_id")
_event_hash = attrgetter("event_hash")


def _check_head(
    head: HeadRow,
    previous: tuple[HeadRow, bytes] | None,
    root: bytes,
    public_key: bytes,
    report: Report,
) -> tuple[HeadRow, bytes]:
    """Check a signed head against ``root``, the leaves' root at its size, and against the
    head before it; returns it with that root, for the next."""
    if root.hex() != head.root:
        report.fail(
            Reason.TREE_ROOT_MISMATCH,
            f"The tree head of size {head.size} has root {head.root}; the leaves give "
            f"{root.hex()}.",
        )
    message = tree_head_message(
        size=head.size, root=head.root, signed_at=head.signed_at, key_id=head.key_id
    )
    if head.key_id != report.key_id or not signature_valid(public_key, message, head.signature):
        report.fail(
            Reason.TREE_HEAD_SIGNATURE_INVALID,
            f"The signature of the tree head of size {head.size} (key {head.key_id}) does not "
            f"verify with key {report.key_id}.",
        )
    if previous is not None and not _extends(*previous, head, root):
        report.fail(
            Reason.CONSISTENCY_FAILED,
            f"The tree head of size {head.size} does not extend the head of size "
            f"{previous[0].size}.",
        )
    return head, root


def _extends(old: HeadRow, old_leaves_root: bytes, new: HeadRow, new_leaves_root: bytes) -> bool:
    """What ``verify_consistency`` answers for the two heads and the consistency proof between
    their sizes made from the leaves: the proof takes a verifier from MTH(old) to MTH(new) of
    those leaves, so it holds exactly when each head's root is its size's root of the leaves
    (equal sizes: when the two roots are one). Both roots are at hand here, so the proof is not
    made; the tests hold this to building and checking it."""
    try:
        old_root, new_root = bytes.fromhex(old.root), bytes.fromhex(new.root)
    except (TypeError, ValueError):
        return False
    if not 0 < old.size <= new.size or not len(old_root) == len(new_root) == HASH_SIZE:
        return False
    if old.size == new.size:
        return old_root == new_root
    return old_root == old_leaves_root and new_root == new_leaves_root


# --- small readers -----------------------------------------------------------------------------


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Malformed(f"{what} is not a JSON object")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise _Malformed(f"{what} is not a JSON list")
    return value


def _int(value: Any, what: str) -> int:
    if type(value) is not int:
        raise _Malformed(f"{what} is not an integer")
    return value


def _hex32(value: Any, what: str) -> bytes:
    try:
        raw = bytes.fromhex(value) if isinstance(value, str) else b""
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise _Malformed(f"{what} holds something other than a 32-byte hex hash")
    return raw


def _sentence(text: str) -> str:
    text = text[0].upper() + text[1:] if text else "Unreadable"
    return text if text.endswith(".") else text + "."


# --- the command line --------------------------------------------------------------------------


def report_lines(report: Report, *, every: bool = False) -> list[str]:
    """What the command prints: OK with a summary, or the first failure (or all of them)."""
    if report.ok and report.order_id is None:
        return [
            f"OK: {report.events} events, {report.tree_size} leaves, {report.heads} signed tree "
            f"heads, key {report.key_id}"
        ]
    if report.ok:
        withheld = (
            f" ({report.withheld} withheld from this reader: their hashes checked in the chain "
            "and the tree)"
            if report.withheld
            else ""
        )
        return [
            f"OK: order {report.order_id}, {report.events} events{withheld} in the signed tree "
            f"head of size {report.tree_size}, key {report.key_id}"
        ]
    shown = report.failures if every else report.failures[:1]
    lines = [f"FAILED {failure}" for failure in shown]
    if not every and len(report.failures) > 1:
        lines.append(f"({len(report.failures) - 1} more; -v 2 lists them all)")
    return lines


def parse_key(value: str) -> tuple[bytes | None, str | None]:
    """``--key``: a key id (16 hex digits) or the raw public key in base64."""
    if re.fullmatch(r"[0-9a-f]{16}", value):
        return None, value
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValueError("--key is a key id (16 hex digits) or a base64 Ed25519 public key")
    return raw, None


def main(argv: list[str] | None = None) -> int:
    """``python -m handover.records.verify BUNDLE [--key KEY] [--all]``, without Django."""
    import argparse

    parser = argparse.ArgumentParser(description="Check an order's evidence bundle offline.")
    parser.add_argument("bundle")
    parser.add_argument("--key", help="the deployment's key id or base64 public key")
    parser.add_argument("--all", action="store_true", help="list every failure")
    args = parser.parse_args(argv)
    try:
        raw, expected_id = parse_key(args.key) if args.key else (None, None)
    except ValueError as error:
        parser.error(str(error))
    report = verify_bundle(args.bundle, raw, expected_key_id=expected_id)
    print("\n".join(report_lines(report, every=args.all)))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
