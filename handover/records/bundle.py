"""An order's evidence bundle (``GET /api/v1/orders/{id}/evidence``): a zip of everything the
record holds about one order, which ``handover verify BUNDLE`` checks offline
(``records.verify``) and which fails on any change.

Members of format 1 (README.txt in the zip repeats this list):

manifest.json        {"format": 1, "order_id", "created_at", "tree_size", "events", "key_id",
                     "files": [{"name", "size", "sha256"} for every other member],
                     "signature"}: the deployment key's Ed25519 signature (base64) over the
                     canonical JSON of the manifest without "signature" plus
                     "context": "handover/evidence-bundle/1" (``verify.bundle_message``).
events.jsonl         one line per event of the order, in chain order:
                     {"id", "seq" (its leaf index in the log), "body", "hash"}; "body" is the
                     exact string that was hashed (SHA-256, hex = "hash") and logged (the
                     Merkle leaf is SHA-256(0x00 || body)); each body's "prev" is the hash of
                     the event before it, "" for the first. An event its reader may not
                     read (a report or support's note for a party; an older download event
                     holding the viewer's address) is withheld: {"id", "seq", "hash", "leaf"
                     (its Merkle leaf hash, hex), "withheld": true}, no body; the next event's
                     "prev" and the tree's proof still check it.
proofs.json          [{"seq", "proof": [hex, ...]}]: RFC 9162 inclusion proofs of each event
                     in the tree of tree_head.json.
tree_head.json       {"size", "root", "signed_at", "key_id", "signature"}: the signature is
                     over ``chain.tree_head_message`` of the other four.
public_key.json      {"algorithm": "Ed25519", "key_id", "public_key": base64 of the raw key}.
order.json           the order's parties, amounts and state when the bundle was made, and
                     "people": the names of everyone who acted (a reading aid).
requirements.json    {"requirements": [{"question", "answer"}], "sha256"}: the hash is the
                     requirements_sha256 of the last event that states it (placement, a change
                     of answers, payment).
terms.json           {"offer_id", "version", "text", "sha256"}: SHA-256 of the UTF-8 text,
                     as the order.placed event records it.
messages.json        [{"id", "author_id", "author", "author_role", "body", "created_at"}]:
                     each is one message.posted event, which holds the same text.
attachments.json     the buyer's reference files, by hash (their bytes are not in the bundle):
                     [{"id", "event_id", "name", "size", "sha256", "kind", "type",
                     "requirement" (for a file sent with an answer)}], each exactly as the
                     "files" of the order.placed, order.answers_updated or message.posted
                     event "event_id" records it. Bundles made before there were reference
                     files have no such member.
receipts/delivery-<id>.json
                     {"order_id", "delivery_id", "created_at", "message",
                     "files": [{"name", "size", "sha256", "kind"}], "event_hash",
                     "signature"}: signed by the deployment key over ``chain.receipt_message``;
                     "event_hash" is the hash of the delivery's order.transition event.
previews/<file_id>-<part>.<ext>
                     the preview parts, as the file.preview_made event of the file hashes them.
downloads.json       the download log: one entry per file.original_downloaded,
                     file.preview_viewed, file.original_refused and file.attachment_downloaded
                     event, {"event_id", "seq",
                     "type", "at", "actor_id", "role", "payload", "file_name"}.
sealed.json          support's bundles only: [{"event_id", "salt", "values"}], what download
                     events sealed (the viewer's address and browser); SHA-256 of the
                     canonical JSON of {"salt", "values"} is the event payload's "sealed".
timeline.html        the record for people, self-contained, previews shown from previews/.
timeline.pdf         the same on A4 pages, as text, each image preview drawn at its delivery.
README.txt           this description.

A bundle is complete when made: every event of the order is put in the log and a tree head is
signed first. Only events in that head go in, and only what they refer to (messages,
deliveries, previews), so the bundle is one consistent picture even while the order moves on.
"""

import base64
import hashlib
import json
import logging
import secrets
import shutil
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from django.core.files.storage import default_storage
from django.http import FileResponse
from django.utils import timezone

from handover.accounts.models import User
from handover.delivery.models import Delivery, DeliveryFile, PreviewPart
from handover.delivery.storage import scratch_dir
from handover.delivery.tallies import preview_views_close
from handover.evidence import keys
from handover.evidence.chain import receipt_message
from handover.evidence.log import log_sequence, tree_for, tree_head_sign
from handover.evidence.models import Event, EventType, TreeHead
from handover.evidence.visibility import body_shown, reads_as_buyer, reads_as_support
from handover.lib.canonical import json_sha256
from handover.lib.errors import NotFound
from handover.orders.models import Message, Order
from handover.orders.rules import Action
from handover.orders.selectors import orders_visible_to
from handover.records import verify
from handover.records.pdf import Sink
from handover.records.timeline import PreviewRef, Story, timeline_html, timeline_pdf

logger = logging.getLogger(__name__)

_BLOCK = 1024 * 1024
_ZIP64_FROM = 1 << 30  # members that may pass 2 GiB need zip64 headers from the start

README_TEXT = (
    "Evidence bundle of a Handover order (format 1)\n"
    "==============================================\n\n"
    "Check it offline, with no database, before relying on it:\n\n"
    "    handover verify THIS.zip --key KEY_ID_OR_BASE64_PUBLIC_KEY\n"
    "    (or: python -m handover.records.verify THIS.zip --key ...)\n\n"
    "--key pins the deployment's public key (published at /api/v1/evidence/key): without it the\n"
    "check proves the bundle is whole and consistent with the key it carries, not whose key\n"
    "that is. Open timeline.html (or timeline.pdf) to read the record.\n\n"
    "Members:\n\n" + (__doc__ or "").partition("(README.txt in the zip repeats this list):\n\n")[2]
)


def bundle_build(*, order_id: int, user: User) -> Path:
    """Write the evidence bundle of an order ``user`` may see to a scratch file; returns its
    path (the caller deletes it). Strangers are told the order does not exist."""
    order = orders_visible_to(user).filter(pk=order_id).first()
    if order is None:
        raise NotFound("No such order.")
    support = reads_as_support(user, buyer_id=order.buyer_id, seller_id=order.seller_id)
    buyer = reads_as_buyer(user, buyer_id=order.buyer_id)
    record = _record_now(order, support=support, buyer=buyer)
    path = scratch_dir() / f"evidence-{order.pk}-{secrets.token_hex(8)}.zip"
    try:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            _write(_ZipOut(archive), record)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _record_now(order: Order, *, support: bool, buyer: bool) -> "_Record":
    preview_views_close(order_id=order.pk)  # the repeated views counted so far, as events
    # Complete now, not at the worker's next tick: every event of the order in a signed head.
    log_sequence()
    tree_head_sign(force=True)
    head = TreeHead.objects.order_by("-size").first()
    if head is None:
        raise NotFound("No tree head has been signed yet.", code="no_tree_head")
    return _Record.read(order, head, support=support, buyer=buyer)


def evidence_pdf_write(*, order_id: int, out: Sink) -> Story:
    """Write the order's timeline.pdf, the record as its seller reads it (no support notes or
    reports; the seller's notes for the bank in it), to ``out``: the document a bank is sent
    to answer a chargeback. Returns the story it tells."""
    order = Order.objects.select_related("offer", "terms", "buyer", "seller").get(pk=order_id)
    record = _record_now(order, support=False, buyer=False)
    story = _story(record)
    keys_by_part = {(p.file_id, p.index): p.storage_key for p in record.parts}
    timeline_pdf(
        story, out, lambda ref: default_storage.open(keys_by_part[ref.file_id, ref.index], "rb")
    )
    return story


# --- what goes in ----------------------------------------------------------------------------


@dataclass
class _Record:
    order: Order
    head: TreeHead
    created_at: datetime
    # {"id", "seq", "body" (the string), "hash", "parsed", "sealed"}, or for an event this
    # reader may not read (evidence.visibility): {"id", "seq", "hash", "leaf", "parsed": {}}
    events: list[dict[str, Any]]
    messages: list[Message]
    deliveries: list[tuple[Delivery, str]]  # with the hash of its delivery event
    parts: list[PreviewPart]

    @classmethod
    def read(cls, order: Order, head: TreeHead, *, support: bool, buyer: bool) -> "_Record":
        rows = (
            Event.objects.filter(order=order, log_entry__seq__lt=head.size)
            .order_by("id")
            .values_list(
                "id",
                "log_entry__seq",
                "body",
                "hash",
                "log_entry__leaf_hash",
                "type",
                "payload",
                "sealed__salt",
                "sealed__values",
            )
        )
        events = []
        for i, seq, body, h, leaf, type, payload, salt, values in rows:
            event = {"id": i, "seq": seq, "hash": h}
            if not body_shown(type, payload, support=support, buyer=buyer):
                events.append({**event, "leaf": bytes(leaf).hex(), "parsed": {}})
                continue
            sealed = {"event_id": i, "salt": salt, "values": values} if support and salt else None
            events.append({**event, "body": body, "parsed": json.loads(body), "sealed": sealed})
        return cls(
            order=order,
            head=head,
            created_at=timezone.now(),
            events=events,
            messages=_messages(order, events),
            deliveries=_deliveries(order, events),
            parts=_parts(order, events),
        )


def _payloads(events: list[dict[str, Any]], type: EventType) -> list[dict[str, Any]]:
    return [e["parsed"]["payload"] for e in events if e["parsed"].get("type") == type]


def _messages(order: Order, events: list[dict[str, Any]]) -> list[Message]:
    ids = _ints(p.get("message_id") for p in _payloads(events, EventType.MESSAGE_POSTED))
    return list(
        Message.objects.filter(order=order, pk__in=ids).select_related("author").order_by("id")
    )


def _ints(values: Iterable[Any]) -> set[int]:
    return {value for value in values if type(value) is int}


def _delivery_events(events: list[dict[str, Any]]) -> dict[int, str]:
    """Delivery id -> the hash of the order.transition event that made it."""
    return {
        e["parsed"]["payload"]["delivery_id"]: e["hash"]
        for e in events
        if e["parsed"].get("type") == EventType.ORDER_TRANSITION
        and e["parsed"]["payload"].get("action") == Action.DELIVER
    }


def _deliveries(order: Order, events: list[dict[str, Any]]) -> list[tuple[Delivery, str]]:
    hashes = _delivery_events(events)
    found = Delivery.objects.filter(order=order, pk__in=hashes).prefetch_related("files")
    return [(delivery, hashes[delivery.pk]) for delivery in found.order_by("id")]


def _parts(order: Order, events: list[dict[str, Any]]) -> list[PreviewPart]:
    made = {
        (p.get("file_id"), part.get("index"))
        for p in _payloads(events, EventType.PREVIEW_MADE)
        for part in p.get("parts") or []
    }
    candidates = PreviewPart.objects.filter(
        file_id__in={file_id for file_id, _index in made}, file__delivery__order=order
    ).order_by("file_id", "index")
    return [part for part in candidates if (part.file_id, part.index) in made]


def delivery_receipt(delivery: Delivery, event_hash: str) -> dict[str, Any]:
    """A delivery's receipt, signed by the deployment key."""
    receipt = {
        "order_id": delivery.order_id,
        "delivery_id": delivery.pk,
        "created_at": delivery.created_at.isoformat(),
        "message": delivery.message,
        "files": [
            {"name": f.name, "size": f.size, "sha256": f.sha256, "kind": f.kind}
            for f in delivery.files.all()
        ],
        "event_hash": event_hash,
    }
    return {**receipt, "signature": keys.sign(receipt_message(receipt))}


def receipt_for(*, order_id: int, delivery_id: int, user: User) -> dict[str, Any]:
    """The signed receipt of one delivery of an order ``user`` may see."""
    order = orders_visible_to(user).filter(pk=order_id).first()
    if order is None:
        raise NotFound("No such order.")
    delivery = (
        Delivery.objects.filter(order=order, pk=delivery_id).prefetch_related("files").first()
    )
    event = (
        Event.objects.filter(
            order=order,
            type=EventType.ORDER_TRANSITION,
            payload__action=Action.DELIVER.value,
            payload__delivery_id=delivery_id,
        )
        .values_list("hash", flat=True)
        .first()
    )
    if delivery is None or event is None:
        raise NotFound("No such delivery on this order.")
    return delivery_receipt(delivery, event)


def bundle_served(*, order_id: int, user: User) -> FileResponse:
    """The evidence bundle of an order ``user`` may see, as a zip download (the API's route
    and the order page's link both serve it)."""
    path = bundle_build(order_id=order_id, user=user)
    source = path.open("rb")
    # Unlinked while open: the response still reads it, and nothing is left in scratch
    # space however the download ends.
    path.unlink()
    return FileResponse(
        source,
        as_attachment=True,
        filename=f"order-{order_id}-evidence.zip",
        content_type="application/zip",
    )


# --- how it is written -----------------------------------------------------------------------


class _Hashing:
    """A member being written, hashed and counted on the way."""

    def __init__(self, raw: IO[bytes]):
        self.raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.raw.write(data)
        self.digest.update(data)
        self.size += len(data)
        return len(data)


class _ZipOut:
    """The zip being written; remembers each member's size and hash for the manifest."""

    def __init__(self, archive: zipfile.ZipFile):
        self.archive = archive
        self.files: list[dict[str, Any]] = []
        self.date_time = datetime.now(UTC).timetuple()[:6]

    @contextmanager
    def member(
        self, name: str, *, compress: bool = True, large: bool = False
    ) -> Iterator[_Hashing]:
        info = zipfile.ZipInfo(name, date_time=self.date_time)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        with self.archive.open(info, "w", force_zip64=large) as raw:
            out = _Hashing(raw)
            yield out
        self.files.append({"name": name, "size": out.size, "sha256": out.digest.hexdigest()})

    def bytes(self, name: str, data: bytes) -> None:
        with self.member(name) as out:
            out.write(data)

    def json(self, name: str, value: Any) -> None:
        self.bytes(name, _json(value))


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True).encode() + b"\n"


def _write(out: _ZipOut, record: _Record) -> None:
    out.bytes(verify.README, README_TEXT.encode())
    with out.member(verify.EVENTS) as events:
        for e in record.events:
            line = {"id": e["id"], "seq": e["seq"], "hash": e["hash"]}
            if "leaf" in e:
                line.update(leaf=e["leaf"], withheld=True)
            else:
                line["body"] = e["body"]
            events.write(json.dumps(line, ensure_ascii=False, sort_keys=True).encode() + b"\n")
    out.json(verify.PROOFS, _proofs(record))
    out.json(verify.TREE_HEAD, tree_head_out(record.head))
    raw = keys.public_raw()
    out.json(verify.PUBLIC_KEY, _public_key(raw))
    story = _story(record)
    out.json(verify.ORDER, story.order)
    requirements = {"requirements": story.requirements, "sha256": json_sha256(story.requirements)}
    out.json(verify.REQUIREMENTS, requirements)
    out.json(verify.TERMS, story.terms)
    out.json(verify.MESSAGES, [_message(m) for m in record.messages])
    out.json(verify.ATTACHMENTS, verify.attachments_recorded(_bodies(record)))
    for delivery, event_hash in record.deliveries:
        out.json(f"receipts/delivery-{delivery.pk}.json", delivery_receipt(delivery, event_hash))
    for part in record.parts:
        _preview_copy(out, part)
    out.json(verify.DOWNLOADS, _downloads(record, story))
    sealed = [e["sealed"] for e in record.events if e.get("sealed")]
    if sealed:
        out.json(verify.SEALED, sealed)
    out.bytes(verify.TIMELINE_HTML, timeline_html(story).encode())
    large = sum(part.size for part in record.parts) > _ZIP64_FROM
    keys_by_part = {(p.file_id, p.index): p.storage_key for p in record.parts}
    with out.member(verify.TIMELINE_PDF, large=large) as pdf:
        timeline_pdf(
            story,
            pdf,
            lambda ref: default_storage.open(keys_by_part[ref.file_id, ref.index], "rb"),
        )
    out.json(verify.MANIFEST, _manifest(out, record, raw))


def _bodies(record: _Record) -> list[tuple[int, dict[str, Any]]]:
    return [(e["id"], e["parsed"]) for e in record.events if "leaf" not in e]


def _proofs(record: _Record) -> list[dict[str, Any]]:
    size = record.head.size
    tree = tree_for(size)
    return [
        {"seq": e["seq"], "proof": [node.hex() for node in tree.inclusion_proof(e["seq"], size)]}
        for e in record.events
    ]


def tree_head_out(head: TreeHead) -> dict[str, Any]:
    """A signed tree head as the bundle and the API show it."""
    return {
        "size": head.size,
        "root": head.root,
        "signed_at": head.signed_at.isoformat(),
        "key_id": head.key_id,
        "signature": head.signature,
    }


def _public_key(raw: bytes) -> dict[str, str]:
    return {
        "algorithm": "Ed25519",
        "key_id": keys.key_id(raw),
        "public_key": base64.b64encode(raw).decode(),
    }


def _message(message: Message) -> dict[str, Any]:
    return {
        "id": message.pk,
        "author_id": message.author_id,
        "author": message.author.username,
        "author_role": message.author_role,
        "body": message.body,
        "created_at": message.created_at.isoformat(),
    }


def _member(part: PreviewPart) -> str:
    return f"previews/{part.file_id}-{part.index}{_suffix(part.storage_key)}"


def _preview_copy(out: _ZipOut, part: PreviewPart) -> None:
    """A preview part copied from storage into the zip in blocks, never whole in memory."""
    with (
        default_storage.open(part.storage_key, "rb") as source,
        out.member(_member(part), compress=False, large=part.size > _ZIP64_FROM) as target,
    ):
        shutil.copyfileobj(source, target, _BLOCK)
    if out.files[-1]["sha256"] != part.sha256:
        # Put in as found: the verifier reports it against the file.preview_made event.
        logger.error("preview part %s of file %s does not match its hash", part.index, part.file_id)


def _suffix(key: str) -> str:
    tail = key.rsplit("/", 1)[-1]
    suffix = tail.rsplit(".", 1)[-1] if "." in tail else ""
    return f".{suffix}" if suffix.isalnum() and len(suffix) <= 8 else ""


def _downloads(record: _Record, story: Story) -> list[dict[str, Any]]:
    attachments = {a["id"]: a["name"] for a in verify.attachments_recorded(_bodies(record))}
    entries = []
    for e in record.events:
        body = e["parsed"]
        if body.get("type") in verify.DOWNLOAD_TYPES:
            entry = verify.download_entry(e["id"], e["seq"], body)
            payload = body.get("payload") or {}
            file = story.files.get(payload.get("file_id", -1), {})
            name = file.get("name") or attachments.get(payload.get("attachment_id"), "")
            entries.append({**entry, "file_name": name})
    return entries


def _story(record: _Record) -> Story:
    order = record.order
    files = {
        f.pk: {
            "name": f.name,
            "size": f.size,
            "sha256": f.sha256,
            "kind": f.kind,
            "delivery_id": f.delivery_id,
        }
        for delivery, _hash in record.deliveries
        for f in delivery.files.all()
    }
    # Files named by download events of deliveries not in the record yet keep their names too.
    named = _ints(
        (e["parsed"].get("payload") or {}).get("file_id")
        for e in record.events
        if e["parsed"].get("type") in verify.DOWNLOAD_TYPES
    )
    for f in DeliveryFile.objects.filter(delivery__order=order, pk__in=named - set(files)):
        files[f.pk] = {"name": f.name, "size": f.size, "sha256": f.sha256, "kind": f.kind}
    previews: dict[int, list[PreviewRef]] = {}
    for part in record.parts:
        ref = PreviewRef(part.file_id, part.index, _member(part), part.content_type, part.size)
        previews.setdefault(part.file_id, []).append(ref)
    return Story(
        order=_order(record),
        events=[
            {"id": e["id"], "seq": e["seq"], "hash": e["hash"], "body": _readable_body(e)}
            for e in record.events
            if "leaf" not in e
        ],
        requirements=order.requirements,
        terms={
            "offer_id": order.offer_id,
            "version": order.terms.version,
            "text": order.terms.text,
            "sha256": order.terms.sha256,
        },
        files=files,
        previews=previews,
        tree_head=tree_head_out(record.head),
        created_at=record.created_at.isoformat(),
    )


def _readable_body(event: dict[str, Any]) -> dict[str, Any]:
    """The body as the timeline shows it: with the sealed values, in support's bundle."""
    body, sealed = event["parsed"], event.get("sealed")
    if not sealed:
        return body
    return {**body, "payload": {**(body.get("payload") or {}), **sealed["values"]}}


def _order(record: _Record) -> dict[str, Any]:
    order = record.order
    actors = {e["parsed"].get("actor") for e in record.events} - {None}
    people = dict(
        User.objects.filter(pk__in=actors | {order.buyer_id, order.seller_id}).values_list(
            "id", "username"
        )
    )

    def moment(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": order.pk,
        "offer_id": order.offer_id,
        "offer_title": order.offer.title,
        "buyer": {"id": order.buyer_id, "username": order.buyer.username},
        "seller": {"id": order.seller_id, "username": order.seller.username},
        "state": order.state,
        "currency": order.currency,
        "price": order.price,
        "buyer_fee": order.buyer_fee,
        "seller_fee": order.seller_fee,
        "total": order.total,
        "refunded": order.refunded,
        "created_at": moment(order.created_at),
        "paid_at": moment(order.paid_at),
        "due_at": moment(order.due_at),
        "closed_at": moment(order.closed_at),
        "people": {str(pk): name for pk, name in sorted(people.items())},
    }


def _manifest(out: _ZipOut, record: _Record, raw: bytes) -> dict[str, Any]:
    manifest = {
        "format": verify.FORMAT,
        "order_id": record.order.pk,
        "created_at": record.created_at.isoformat(),
        "tree_size": record.head.size,
        "events": len(record.events),
        "key_id": keys.key_id(raw),
        "files": sorted(out.files, key=lambda f: f["name"]),
    }
    return {**manifest, "signature": keys.sign(verify.bundle_message(manifest))}
