"""An order's record said for people: the evidence bundle's ``timeline.html`` and
``timeline.pdf``. Both are reading aids drawn from the bundle's own files (the events, the
messages, the previews); the events are the record and ``handover verify`` checks them.

The HTML is one self-contained page: inline styles, no scripts, nothing fetched; previews are
shown from the bundle's ``previews/`` folder by relative links, and every text a person wrote
is escaped. The PDF is Pillow's drawing of the same text on A4 pages, followed by a page per
image preview. Its writer (``PdfWriter``) is a few lines of PDF 1.4 rather than Pillow's PDF
plugin: that plugin holds every page in memory until it saves and decodes and re-encodes each
JPEG, where this writes page by page and copies a preview's JPEG bytes as they are stored.
"""

import html
import io
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import IO, Any, Protocol

from PIL import Image, ImageDraw, ImageFont

from handover.disputes.rules import event_summary
from handover.lib.money import format_amount

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
class Line:
    """One entry of the timeline: when, who, what, and the texts and facts that go with it."""

    at: str
    who: str
    summary: str
    texts: list[str]
    facts: list[str]
    event: dict[str, Any]
    delivery_id: int | None = None


_TEXT_FIELDS = ("body", "message", "reason", "rationale")


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
        delivery = payload.get("delivery_id") if payload.get("action") == "deliver" else None
        lines.append(
            Line(
                at=when(str(body.get("at"))),
                who=story.who(body),
                summary=summary,
                texts=texts,
                facts=list(_facts(story, body.get("type"), payload)),
                event=event,
                delivery_id=delivery,
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
        answer = f"status {payload['status']}, " if "status" in payload else ""
        yield (
            f"From {payload.get('address')} ({payload.get('user_agent') or 'no user agent'}); "
            f"{answer}{payload.get('bytes', 0)} bytes sent"
        )
    if isinstance(payload.get("repeats"), int):
        yield (
            f"Viewed {payload['repeats']} more times between {payload.get('first_at')} and "
            f"{payload.get('last_at')}; {payload.get('bytes', 0)} bytes sent"
        )
    for name in ("refund", "seller", "platform", "amount"):
        if isinstance(payload.get(name), int) and "address" not in payload:
            yield f"{name.capitalize()}: {story.money(payload[name])}"


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

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.6rem}h2{font-size:1.2rem;border-bottom:1px solid #ccc;margin-top:2rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}
ol.timeline{list-style:none;padding:0}ol.timeline>li{border-left:3px solid #bbb;margin:0 0 1rem;
padding:.2rem 0 .2rem 1rem}time{color:#555;font-variant-numeric:tabular-nums}
.who{font-weight:600}blockquote{white-space:pre-wrap;margin:.4rem 0;padding:.4rem .8rem;
background:#f4f4f4;border-radius:4px}small,.ref{color:#666;font-size:.8rem}
code,.hash{font-family:ui-monospace,monospace;font-size:.8rem;word-break:break-all}
figure{margin:.5rem 0}figure img{max-width:100%;max-height:40rem;border:1px solid #ccc}
pre{white-space:pre-wrap;background:#f4f4f4;padding:.8rem}
table{border-collapse:collapse;font-size:.85rem}td,th{border:1px solid #ddd;padding:.2rem .4rem}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def timeline_html(story: Story) -> str:
    """The page: the order, its requirements and terms, every event in order, the downloads."""
    order_id = story.order.get("id")
    lines = timeline_lines(story)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Evidence of order #{_e(order_id)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Evidence of order #{_e(order_id)}</h1>",
        "<p>A reading aid drawn from this bundle. The record is <code>events.jsonl</code>; "
        "check the whole bundle with <code>handover verify</code> and the deployment's "
        "public key.</p>",
        "<h2>Order</h2>",
        _dl(_header(story)),
        "<h2>Requirements</h2>",
        _requirements_html(story),
        "<h2>Terms</h2>",
        f"<p>Version {_e(story.terms.get('version'))}, sha256 "
        f"<span class=hash>{_e(story.terms.get('sha256'))}</span></p>",
        f"<pre>{_e(story.terms.get('text', ''))}</pre>",
        "<h2>Timeline</h2>",
        '<ol class="timeline">',
        *(_line_html(story, line) for line in lines),
        "</ol>",
        "<h2>Record</h2>",
        _dl(_record(story)),
        "</body></html>",
        "",
    ]
    return "\n".join(parts)


def _dl(rows: list[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows) + "</dl>"


def _requirements_html(story: Story) -> str:
    if not story.requirements:
        return "<p>The offer asked no questions.</p>"
    items = "".join(
        f"<li><strong>{_e(r.get('question', ''))}</strong>"
        f"<blockquote>{_e(r.get('answer', ''))}</blockquote></li>"
        for r in story.requirements
    )
    return f"<ol>{items}</ol>"


def _line_html(story: Story, line: Line) -> str:
    event = line.event
    texts = "".join(f"<blockquote>{_e(text)}</blockquote>" for text in line.texts)
    facts = "".join(f"<li>{_e(fact)}</li>" for fact in line.facts)
    previews = "" if line.delivery_id is None else _previews_html(story, line.delivery_id)
    return (
        f'<li id="event-{_e(event["id"])}"><time>{_e(line.at)}</time> '
        f"<span class=who>{_e(line.who)}</span><div>{_e(line.summary)}</div>{texts}"
        + (f"<ul>{facts}</ul>" if facts else "")
        + previews
        + f"<div class=ref>event {_e(event['id'])} · leaf {_e(event['seq'])} · "
        f"<span class=hash>{_e(event['hash'])}</span></div></li>"
    )


def _previews_html(story: Story, delivery_id: int) -> str:
    shown = []
    for file_id in story.delivery_files(delivery_id):
        name = story.files[file_id].get("name", "")
        for ref in story.previews.get(file_id, []):
            label = f"Preview {ref.index + 1} of {name}"
            src = _e(ref.member)
            if ref.content_type.startswith("image/"):
                media = f'<img src="{src}" alt="{_e(label)}" loading="lazy">'
            elif ref.content_type.startswith(("audio/", "video/")):
                tag = ref.content_type.split("/")[0]
                media = f'<{tag} controls preload="none" src="{src}"></{tag}>'
            else:
                media = f'<a href="{src}">{_e(ref.member)}</a>'
            shown.append(
                f"<figure>{media}<figcaption><small>{_e(label)}</small></figcaption></figure>"
            )
    return "".join(shown)


# --- PDF -------------------------------------------------------------------------------------

# A4 drawn at 144 dots per inch: two pixels per PDF point.
PAGE_POINTS = (595, 842)
SCALE = 2
PAGE_PIXELS = (PAGE_POINTS[0] * SCALE, PAGE_POINTS[1] * SCALE)
MARGIN = 40 * SCALE
_SIZES = {"title": 17, "heading": 13, "body": 10, "small": 8}


@cache
def _font(style: str) -> ImageFont.FreeTypeFont:
    size = _SIZES[style] * SCALE
    try:  # wider coverage than Pillow's own font (Cyrillic, Greek), when the system has it
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)  # type: ignore[return-value]


@dataclass(frozen=True)
class _Text:
    style: str
    text: str
    indent: int = 0


def _pdf_texts(story: Story) -> Iterator[_Text]:
    yield _Text("title", f"Evidence of order #{story.order.get('id')}")
    yield _Text(
        "small",
        "A reading aid drawn from this bundle; the record is events.jsonl. Check the bundle "
        "with `handover verify` and the deployment's public key.",
    )
    yield _Text("heading", "Order")
    for key, value in _header(story):
        yield _Text("body", f"{key}: {value}")
    yield _Text("heading", "Requirements")
    for n, requirement in enumerate(story.requirements, start=1):
        yield _Text("body", f"{n}. {requirement.get('question', '')}")
        yield _Text("body", str(requirement.get("answer", "")), indent=1)
    yield _Text("heading", f"Terms (version {story.terms.get('version')})")
    yield _Text("small", f"sha256 {story.terms.get('sha256')}")
    yield _Text("body", str(story.terms.get("text", "")))
    yield _Text("heading", "Timeline")
    for line in timeline_lines(story):
        yield _Text("small", f"{line.at} · event {line.event['id']} · leaf {line.event['seq']}")
        yield _Text("body", f"{line.who}: {line.summary}")
        for text in line.texts:
            yield _Text("body", f"“{text}”", indent=1)
        for fact in line.facts:
            yield _Text("small", fact, indent=1)
    yield _Text("heading", "Record")
    for key, value in _record(story):
        yield _Text("small", f"{key}: {value}")


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> Iterator[str]:
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if font.getlength(candidate) <= width:
                line = candidate
                continue
            if line:
                yield line
            while font.getlength(word) > width:  # a word longer than the line: cut it
                cut = max(1, int(len(word) * width / font.getlength(word)))
                while cut > 1 and font.getlength(word[:cut]) > width:
                    cut -= 1
                yield word[:cut]
                word = word[cut:]
            line = word
        yield line


def _text_pages(texts: Iterable[_Text]) -> Iterator[Image.Image]:
    """The texts laid out on as many pages as they need, one page at a time."""
    page, draw, y = _blank_page()
    bottom = PAGE_PIXELS[1] - MARGIN
    for text in texts:
        font = _font(text.style)
        step = int(font.size * 1.4)
        indent = text.indent * 16 * SCALE
        gap = step // 2 if text.style in ("title", "heading") else 0
        for row in _wrap(text.text, font, PAGE_PIXELS[0] - 2 * MARGIN - indent):
            if y + gap + step > bottom:
                yield page
                page, draw, y = _blank_page()
                gap = 0
            y += gap
            gap = 0
            draw.text((MARGIN + indent, y), row, font=font, fill=0)
            y += step
    yield page


def _blank_page() -> tuple[Image.Image, ImageDraw.ImageDraw, int]:
    page = Image.new("L", PAGE_PIXELS, 255)
    return page, ImageDraw.Draw(page), MARGIN


Opener = Callable[[PreviewRef], IO[bytes]]


class Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


def timeline_pdf(story: Story, out: Sink, open_preview: Opener) -> None:
    """Write the PDF to ``out``: the text pages, then a page per image preview."""
    pdf = PdfWriter(out)
    for page in _text_pages(_pdf_texts(story)):
        pdf.page([(pdf.gray_image(page), (0, 0, *PAGE_POINTS))])
    for file_id, refs in sorted(story.previews.items()):
        name = story.files.get(file_id, {}).get("name", "")
        for ref in refs:
            if ref.content_type.startswith("image/"):
                _preview_page(pdf, ref, f"Preview {ref.index + 1} of {name}", open_preview)
    pdf.close()


def _preview_page(pdf: "PdfWriter", ref: PreviewRef, label: str, opener: Opener) -> None:
    caption = Image.new("L", (PAGE_PIXELS[0], 40 * SCALE), 255)
    ImageDraw.Draw(caption).text(
        (MARGIN, 12 * SCALE), f"{label} ({ref.member})", font=_font("body"), fill=0
    )
    with opener(ref) as source:
        image, (width, height) = pdf.jpeg_image(source)
    box_w, box_h = PAGE_POINTS[0] - 80, PAGE_POINTS[1] - 140
    scale = min(box_w / width, box_h / height, 1.0)
    w, h = width * scale, height * scale
    placed = (40 + (box_w - w) / 2, 40 + (box_h - h), w, h)
    pdf.page(
        [(pdf.gray_image(caption), (0, PAGE_POINTS[1] - 60, PAGE_POINTS[0], 40)), (image, placed)]
    )


class PdfWriter:
    """A PDF 1.4 file of pictures placed on A4 pages, written front to back to a stream that
    need not seek: each object's offset is counted as it goes out, and a stream's length is
    an object written after the stream."""

    def __init__(self, out: Sink):
        self.out = out
        self.offset = 0
        self.offsets: dict[int, int] = {}
        self.pages: list[int] = []
        self.next_number = 3  # 1 is the catalog, 2 the page tree: written last
        self._write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.offset += len(data)

    def _number(self) -> int:
        number = self.next_number
        self.next_number += 1
        return number

    def _object(self, content: str, number: int | None = None) -> int:
        number = self._number() if number is None else number
        self.offsets[number] = self.offset
        self._write(f"{number} 0 obj\n{content}\nendobj\n".encode())
        return number

    def _stream(self, dictionary: str, chunks: Iterable[bytes]) -> int:
        number, length_number = self._number(), self._number()
        self.offsets[number] = self.offset
        self._write(
            f"{number} 0 obj\n<<{dictionary}/Length {length_number} 0 R>>\nstream\n".encode()
        )
        start = self.offset
        for chunk in chunks:
            self._write(chunk)
        length = self.offset - start
        self._write(b"\nendstream\nendobj\n")
        self._object(str(length), length_number)
        return number

    def gray_image(self, image: Image.Image) -> int:
        width, height = image.size
        return self._stream(
            f"/Type/XObject/Subtype/Image/Width {width}/Height {height}"
            "/ColorSpace/DeviceGray/BitsPerComponent 8/Filter/FlateDecode",
            [zlib.compress(image.tobytes(), 6)],
        )

    def jpeg_image(self, source: IO[bytes]) -> tuple[int, tuple[int, int]]:
        """A stored preview as an image object: its JPEG bytes copied in blocks when they are
        plain grey or RGB JPEG, else decoded and encoded again."""
        with Image.open(source) as probe:
            format, mode, dimensions = probe.format, probe.mode, probe.size
            if format != "JPEG" or mode not in ("L", "RGB"):
                again = io.BytesIO()
                probe.convert("RGB").save(again, "JPEG", quality=90)
                mode, chunks = "RGB", iter([again.getvalue()])
        if format == "JPEG" and mode in ("L", "RGB"):
            source.seek(0)
            chunks = iter(lambda: source.read(256 * 1024), b"")
        space = "DeviceGray" if mode == "L" else "DeviceRGB"
        number = self._stream(
            f"/Type/XObject/Subtype/Image/Width {dimensions[0]}/Height {dimensions[1]}"
            f"/ColorSpace/{space}/BitsPerComponent 8/Filter/DCTDecode",
            chunks,
        )
        return number, dimensions

    def page(self, images: list[tuple[int, tuple[float, float, float, float]]]) -> None:
        """A page showing each image object at (x, y, width, height), in points from the
        bottom left."""
        names = "".join(f"/Im{n} {number} 0 R" for n, (number, _box) in enumerate(images))
        drawing = "".join(
            f"q {w:.2f} 0 0 {h:.2f} {x:.2f} {y:.2f} cm /Im{n} Do Q\n"
            for n, (_number, (x, y, w, h)) in enumerate(images)
        )
        contents = self._stream("", [drawing.encode()])
        self.pages.append(
            self._object(
                f"<</Type/Page/Parent 2 0 R/MediaBox[0 0 {PAGE_POINTS[0]} {PAGE_POINTS[1]}]"
                f"/Resources<</XObject<<{names}>>>>/Contents {contents} 0 R>>"
            )
        )

    def close(self) -> None:
        kids = " ".join(f"{n} 0 R" for n in self.pages)
        self._object(f"<</Type/Pages/Kids[{kids}]/Count {len(self.pages)}>>", 2)
        self._object("<</Type/Catalog/Pages 2 0 R>>", 1)
        xref = self.offset
        count = self.next_number
        rows = ["0000000000 65535 f\r\n"]
        rows += [f"{self.offsets[n]:010d} 00000 n\r\n" for n in range(1, count)]
        self._write(f"xref\n0 {count}\n{''.join(rows)}".encode())
        self._write(f"trailer\n<</Size {count}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n".encode())
