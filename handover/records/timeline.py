"""An order's record said for people: the evidence bundle's ``timeline.html`` and
``timeline.pdf``. Both are reading aids drawn from the bundle's own files (the events, the
messages, the previews); the events are the record and ``handover verify`` checks them.

The HTML is one self-contained page (``records/timeline.html``, autoescaped): inline styles,
no scripts, nothing fetched; previews are shown from the bundle's ``previews/`` folder by
relative links. The PDF says the same on A4 pages (``records.pdf``): text a reader can
select and search, each image preview drawn at the delivery that brought it.
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from django.template.loader import render_to_string

from handover.disputes.rules import event_summary
from handover.lib.money import format_amount
from handover.lib.text import BIDI_CONTROLS
from handover.records.pdf import Document, Sink, spelled

# --- what is told ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewRef:
    """A preview part as the bundle holds it."""

    file_id: int
    index: int
    member: str  # its name in the zip: previews/<file_id>-<index>.<ext>
    content_type: str
    size: int


@dataclass
class Story:
    """Everything the timeline shows, as the bundle's files hold it."""

    order: dict[str, Any]  # order.json
    events: list[dict[str, Any]]  # {"id", "seq", "hash", "body": the parsed body}
    requirements: list[dict[str, Any]]
    terms: dict[str, Any]
    files: dict[int, dict[str, Any]]  # file id -> name, size, sha256, kind, delivery_id
    previews: dict[int, list[PreviewRef]] = field(default_factory=dict)  # by file id
    tree_head: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""

    def who(self, body: dict[str, Any]) -> str:
        role = str(body.get("role") or "")
        name = self.order.get("people", {}).get(str(body.get("actor")))
        return f"{role.capitalize()} ({name})" if name else role.capitalize() or "—"

    def money(self, amount: Any) -> str:
        if not isinstance(amount, int):
            return "—"
        return format_amount(amount, str(self.order.get("currency", "")))

    def delivery_files(self, delivery_id: Any) -> list[int]:
        return [i for i, f in sorted(self.files.items()) if f.get("delivery_id") == delivery_id]


@dataclass(frozen=True)
class Shown:
    """A preview as the timeline shows it, at the delivery that brought its file."""

    ref: PreviewRef
    label: str  # "Preview 1 of logo.png"

    @property
    def member(self) -> str:
        return self.ref.member

    @property
    def kind(self) -> str:
        """image, audio or video (shown as such), or anything else (linked)."""
        return self.ref.content_type.partition("/")[0]


@dataclass(frozen=True)
class Line:
    """One entry of the timeline: when, who, what, and the texts, facts and previews that
    go with it."""

    at: str
    who: str
    summary: str
    texts: list[str]
    facts: list[str]
    event: dict[str, Any]
    previews: list[Shown] = field(default_factory=list)


_TEXT_FIELDS = ("body", "message", "reason", "rationale", "note")


def timeline_lines(story: Story) -> list[Line]:
    currency = str(story.order.get("currency", ""))
    lines = []
    for event in story.events:
        body = event["body"]
        payload = body.get("payload") if isinstance(body.get("payload"), dict) else {}
        file_name = str(story.files.get(payload.get("file_id", -1), {}).get("name", ""))
        role = str(body.get("role") or "")
        summary = event_summary(
            str(body.get("type")), role, payload, currency=currency, file=file_name
        ).removeprefix(f"{role.capitalize()}: ")
        texts = [payload[k] for k in _TEXT_FIELDS if isinstance(payload.get(k), str) and payload[k]]
        delivered = payload.get("action") == "deliver"
        lines.append(
            Line(
                at=when(str(body.get("at"))),
                who=story.who(body),
                summary=summary,
                texts=texts,
                facts=list(_facts(story, body.get("type"), payload)),
                event=event,
                previews=_shown(story, payload.get("delivery_id")) if delivered else [],
            )
        )
    return lines


def _facts(story: Story, type: Any, payload: dict[str, Any]) -> Iterator[str]:
    if type == "order.placed":
        price, total = story.money(payload.get("price")), story.money(payload.get("total"))
        yield f"Price {price}, total {total}"
        yield f"Terms version {payload.get('terms_version')}, sha256 {payload.get('terms_sha256')}"
    for item in payload.get("files") or []:
        if isinstance(item, dict):
            yield (
                f"File {item.get('name')}: {item.get('kind')}, {item.get('size')} bytes, "
                f"sha256 {item.get('sha256')}"
            )
    for tick in payload.get("checklist") or []:
        if isinstance(tick, dict):
            question = _question(story, tick.get("requirement"))
            note = f": {tick['note']}" if tick.get("note") else ""
            yield f"Answers requirement {question}{note}"
    if "address" in payload:
        seen = f"From {payload.get('address')} ({payload.get('user_agent') or 'no user agent'})"
        answer = f"status {payload['status']}, " if "status" in payload else ""
        # A payment's start names where the buyer paid from; no bytes went anywhere.
        sent = f"; {answer}{payload['bytes']} bytes sent" if "bytes" in payload else ""
        yield seen + sent
    if isinstance(payload.get("repeats"), int):
        yield (
            f"Viewed {payload['repeats']} more times between {payload.get('first_at')} and "
            f"{payload.get('last_at')}; {payload.get('bytes', 0)} bytes sent"
        )
    for name in ("refund", "seller", "platform", "amount"):
        if isinstance(payload.get(name), int) and "address" not in payload:
            yield f"{name.capitalize()}: {story.money(payload[name])}"


def _shown(story: Story, delivery_id: Any) -> list[Shown]:
    return [
        Shown(ref, f"Preview {ref.index + 1} of {story.files[file_id].get('name', '')}")
        for file_id in story.delivery_files(delivery_id)
        for ref in story.previews.get(file_id, [])
    ]


def _question(story: Story, index: Any) -> str:
    if isinstance(index, int) and 0 <= index < len(story.requirements):
        return f"{index + 1} (“{story.requirements[index].get('question', '')}”)"
    return str(index)


def when(iso: str) -> str:
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _header(story: Story) -> list[tuple[str, str]]:
    order = story.order
    return [
        ("Offer", str(order.get("offer_title", ""))),
        ("Buyer", str(order.get("buyer", {}).get("username", ""))),
        ("Seller", str(order.get("seller", {}).get("username", ""))),
        ("Price", story.money(order.get("price"))),
        ("Total paid", story.money(order.get("total"))),
        ("Refunded", story.money(order.get("refunded"))),
        ("State", str(order.get("state", ""))),
        ("Placed", when(str(order.get("created_at", "")))),
    ]


def _record(story: Story) -> list[tuple[str, str]]:
    head = story.tree_head
    return [
        ("Events", str(len(story.events))),
        ("Signed tree head", f"size {head.get('size')}, root {head.get('root')}"),
        ("Signed at", when(str(head.get("signed_at", "")))),
        ("Key id", str(head.get("key_id", ""))),
        ("Bundle made", when(story.created_at)),
    ]


# --- HTML ------------------------------------------------------------------------------------

_BIDI = re.compile(f"[{BIDI_CONTROLS}]")


def timeline_html(story: Story) -> str:
    """The page: the order, its requirements and terms, every event in order with the
    previews of each delivery, and the signed tree head."""
    page = render_to_string(
        "records/timeline.html",
        {
            "order_id": story.order.get("id"),
            "header": _header(story),
            "requirements": story.requirements,
            "terms": story.terms,
            "lines": timeline_lines(story),
            "record": _record(story),
        },
    )
    # A bidi control would show other words than the ones stored (lib.text refuses them in new
    # text); the template has none, so every one in the page came from the record.
    return _BIDI.sub(lambda found: spelled(found[0]), page)


# --- PDF -------------------------------------------------------------------------------------

Opener = Callable[[PreviewRef], IO[bytes]]


def timeline_pdf(story: Story, out: Sink, open_preview: Opener) -> None:
    """Write the PDF to ``out``: what the page says, in the same order, with each image
    preview drawn at its delivery (read through ``open_preview``)."""
    order_id = story.order.get("id")
    pdf = Document(title=f"Evidence of order #{order_id}", created=_moment(story.created_at))
    pdf.text("title", f"Evidence of order #{order_id}")
    pdf.text(
        "small",
        "A reading aid drawn from this bundle; the record is events.jsonl. Check the bundle "
        "with `handover verify` and the deployment's public key.",
    )
    pdf.text("heading", "Order")
    for key, value in _header(story):
        pdf.text("body", f"{key}: {value}")
    pdf.text("heading", "Requirements")
    for n, requirement in enumerate(story.requirements, start=1):
        pdf.text("body", f"{n}. {requirement.get('question', '')}")
        pdf.text("body", str(requirement.get("answer", "")), indent=1)
    if not story.requirements:
        pdf.text("body", "The offer asked no questions.")
    pdf.text("heading", f"Terms (version {story.terms.get('version')})")
    pdf.text("small", f"sha256 {story.terms.get('sha256')}")
    pdf.text("body", str(story.terms.get("text", "")))
    pdf.text("heading", "Timeline")
    for line in timeline_lines(story):
        _line_pdf(pdf, line, open_preview)
    pdf.text("heading", "Record")
    for key, value in _record(story):
        pdf.text("small", f"{key}: {value}")
    pdf.write_to(out)


def _line_pdf(pdf: Document, line: Line, open_preview: Opener) -> None:
    pdf.text("small", f"{line.at} · event {line.event['id']} · leaf {line.event['seq']}")
    pdf.text("body", f"{line.who}: {line.summary}")
    for text in line.texts:
        pdf.text("body", f"“{text}”", indent=1)
    for fact in line.facts:
        pdf.text("small", fact, indent=1)
    for shown in line.previews:
        if shown.kind == "image":
            with open_preview(shown.ref) as source:
                pdf.picture(source, caption=f"{shown.label} ({shown.member})", indent=1)
        else:
            pdf.text("small", f"{shown.label}: {shown.member} ({shown.kind})", indent=1)
    pdf.text("small", f"sha256 {line.event['hash']}", indent=1)


def _moment(iso: str) -> datetime | None:
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        return None
