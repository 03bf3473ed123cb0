"""``handover verify BUNDLE``: an order's evidence bundle checked offline, with nothing but the
zip and, to be sure whose record it is, the deployment's public key (``--key``, published at
``/api/v1/evidence/key``). The bundle's format is described in ``records.bundle``.

A check never stops at the first problem: the report lists every failure. Checks run from the
signed record outwards, so the first failure is the most telling one: the key and the tree
head, then each event (its hash, its place in the order's chain, its inclusion in the signed
tree), then what the bundle says beside the events (terms, requirements, messages, receipts,
previews, downloads) against the events, then the manifest.
"""

import base64
import binascii
import hashlib
import json
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from handover.evidence.chain import EVENT_VERSIONS, receipt_message
from handover.evidence.merkle import leaf_hash
from handover.lib.canonical import canonical_json, json_sha256
from handover.records.verify.checks import (
    Reason,
    Report,
    body_hash_matches,
    inclusion_holds,
    key_id,
    link_failure,
    seal_matches,
    signature_valid,
    tree_head_signed,
)

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
ATTACHMENTS = "attachments.json"  # bundles with reference files (all bundles made since)
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
DOWNLOAD_TYPES = (
    "file.original_downloaded",
    "file.preview_viewed",
    "file.original_refused",
    "file.attachment_downloaded",
)
# The events that bring the buyer's reference files, each listing them in "files".
ATTACHING_TYPES = (PLACED, ANSWERS_UPDATED, MESSAGE_POSTED)
ATTACHMENT_FIELDS = ("id", "name", "size", "sha256", "kind", "type", "requirement")
RECEIPT_FILE_FIELDS = ("name", "size", "sha256", "kind")

# A JSON member larger than this is refused rather than read into memory (a zip bomb).
_MAX_JSON = 256 * 2**20
_BLOCK = 1024 * 1024


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
    _check_attachments(bundle, report, events)
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
    if head_key != report.key_id:
        report.fail(
            Reason.TREE_HEAD_SIGNATURE_INVALID,
            f"The tree head of size {size} names key {head_key}; the bundle's key is "
            f"{report.key_id}.",
        )
    elif not tree_head_signed(
        raw_key,
        size=size,
        root=root.hex(),
        signed_at=signed_at,
        key_id=head_key,
        signature=head.get("signature"),
    ):
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
        if type(version) is not int or version not in EVENT_VERSIONS:
            report.fail(
                Reason.EVENT_HASH_MISMATCH,
                f"{event.name}: its body has version {version!r}, which has no hash this "
                "verifier knows.",
            )
        elif not body_hash_matches(event.raw, version, event.hash):
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
    if proof is not None and inclusion_holds(leaf, event.seq, proof, head.size, head.root):
        return
    report.fail(
        Reason.INCLUSION_FAILED,
        f"{event.name} is not in the signed tree head of size {head.size}: "
        + ("the bundle has no proof for it." if proof is None else "its proof fails."),
    )


def _check_link(report: Report, event: _Event, previous: str) -> None:
    prev = event.body.get("prev")
    failure = link_failure(prev, previous, first=event.position == 1)
    if failure is Reason.CHAIN_START:
        report.fail(
            Reason.CHAIN_START,
            f"{event.name} is first in the bundle but follows an event with hash {prev}: "
            "earlier events are missing.",
        )
    elif failure is not None:
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


def attachments_recorded(bodies: list[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    """attachments.json as the events (id, body) state it: the builder writes it from them
    and the verifier expects exactly it."""
    listed = []
    for event_id, body in bodies:
        if body.get("type") not in ATTACHING_TYPES:
            continue
        for item in (body.get("payload") or {}).get("files") or []:
            if isinstance(item, dict):
                fields = {k: item[k] for k in ATTACHMENT_FIELDS if k in item}
                listed.append({**fields, "event_id": event_id})
    return listed


def _check_attachments(bundle: _Zip, report: Report, events: list[_Event]) -> None:
    expected = attachments_recorded([(e.id, e.body) for e in events if not e.withheld])
    if ATTACHMENTS not in bundle.names:
        if expected:
            report.fail(
                Reason.ATTACHMENT_MISMATCH,
                f"The record names {len(expected)} reference files; {ATTACHMENTS} is missing.",
            )
        return
    listed = _list(bundle.json(ATTACHMENTS), ATTACHMENTS)
    if listed == expected:
        return
    wrong = next(
        (n for n, (a, b) in enumerate(zip(listed, expected, strict=False)) if a != b),
        min(len(listed), len(expected)),
    )
    report.fail(
        Reason.ATTACHMENT_MISMATCH,
        f"The reference files differ from the record from entry {wrong + 1} on "
        f"({len(listed)} listed, {len(expected)} recorded).",
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
        if event is None or not seal_matches(salt, values, event.payload.get("sealed")):
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
