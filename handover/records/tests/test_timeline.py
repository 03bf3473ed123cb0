"""The bundle's timeline.html and timeline.pdf, drawn from a story made here (no database): the
PDF's text reads back and holds the events, the names and the amounts, each image preview is a
picture at its delivery, and text a person wrote cannot break out of either document."""

import io
from typing import Any

import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pytest
from PIL import Image

from handover.evidence.models import Event
from handover.records.pdf import drawable
from handover.records.tests.test_bundle import (
    BUYER_NOTE,
    fetch_bundle,
    fresh_log_tree,
    long_order,
    members,
)
from handover.records.timeline import PreviewRef, Story, timeline_html, timeline_pdf

HASHES = {n: f"{n:x}" * 64 for n in range(1, 5)}
SCRIPT = "<script>alert(1)</script> & “quotes”"
SCRIPTS = "Grüße, Привет, Γειά, שלום, مرحبا, Բարեւ, გამარჯობა"  # all drawn by the font
LONG_WORD = "Supercalifragilistic" * 30  # 600 letters, no space to wrap at
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
PAST_THE_FONT = "你好 नमस्ते สวัสดี"  # scripts the font has no glyphs for


def jpeg(seed: int, size: tuple[int, int] = (320, 240)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (seed * 50 % 256, 90, 160)).save(out, "JPEG", quality=80)
    return out.getvalue()


def event(n: int, type: str, role: str, actor: int, payload: dict[str, Any]) -> dict[str, Any]:
    at = f"2026-03-0{n}T10:00:00+00:00"
    body = {"type": type, "role": role, "actor": actor, "at": at, "payload": payload}
    return {"id": 100 + n, "seq": 40 + n, "hash": HASHES[n], "body": body}


def story(message: str = "Bigger letters, please.", *, name: str = "mária") -> Story:
    """Placed, a message, a delivery of two pictures and a sound, accepted."""
    files = {
        1: {"name": "logo.png", "delivery_id": 9},
        2: {"name": "logo-dark.png", "delivery_id": 9},
        3: {"name": "jingle.wav", "delivery_id": 9},
    }
    previews = {
        1: [PreviewRef(1, 0, "previews/1-0.jpg", "image/jpeg", 100)],
        2: [PreviewRef(2, 0, "previews/2-0.jpg", "image/jpeg", 100)],
        3: [PreviewRef(3, 0, "previews/3-0.mp3", "audio/mpeg", 100)],
    }
    delivery = {"action": "deliver", "delivery_id": 9, "from": "in_progress", "to": "delivered"}
    accepted = {"action": "accept", "refund": 0, "from": "delivered", "to": "completed"}
    return Story(
        order={
            "id": 7,
            "offer_title": f"Logo {SCRIPT}",
            "buyer": {"id": 1, "username": name},
            "seller": {"id": 2, "username": "seller-studio"},
            "people": {"1": name, "2": "seller-studio"},
            "currency": "EUR",
            "price": 12345,
            "total": 13000,
            "refunded": 0,
            "state": "completed",
            "created_at": "2026-03-01T10:00:00+00:00",
        },
        events=[
            event(1, "order.placed", "buyer", 1, {"price": 12345, "total": 13000}),
            event(2, "message.posted", "buyer", 1, {"body": message}),
            event(3, "order.transition", "seller", 2, {**delivery, "message": "Here they are"}),
            event(
                4, "order.transition", "buyer", 1, {**accepted, "seller": 11111, "platform": 1234}
            ),
        ],
        requirements=[{"question": "The name on the logo?", "answer": "ACME"}],
        terms={"version": 2, "text": "Terms v2: one revision.", "sha256": "e" * 64},
        files=files,
        previews=previews,
        tree_head={"size": 45, "root": "f" * 64, "signed_at": "2026-03-05T00:00:00+00:00"},
        created_at="2026-03-05T00:00:00+00:00",
    )


def pdf_of(told: Story) -> pdfium.PdfDocument:
    out = io.BytesIO()
    timeline_pdf(told, out, lambda ref: io.BytesIO(jpeg(ref.file_id)))
    assert out.getvalue().startswith(b"%PDF-") and out.getvalue().rstrip().endswith(b"%%EOF")
    return pdfium.PdfDocument(out.getvalue())


def page_texts(document: pdfium.PdfDocument) -> list[str]:
    return [page.get_textpage().get_text_range() for page in document]


def flat(text: str) -> str:
    """The text with its lines joined, as a reader's search would see it."""
    return " ".join(text.split())


def images(page: pdfium.PdfPage) -> list[pdfium.PdfImage]:
    return [o for o in page.get_objects() if isinstance(o, pdfium.PdfImage)]


# --- the PDF -----------------------------------------------------------------------------------


def test_the_pdf_is_text_that_holds_the_events_the_names_and_the_amounts():
    text = flat("\n".join(page_texts(pdf_of(story()))))
    for said in (
        "Evidence of order #7",
        "Buyer (mária): placed the order",
        "Buyer (mária): wrote a message",
        "“Bigger letters, please.”",
        "Seller (seller-studio): delivered",
        "Price 123.45 EUR, total 130.00 EUR",
        "Buyer (mária): accepted the delivery",
        "Refund: 0.00 EUR",
        "Seller: 111.11 EUR",
        "Platform: 12.34 EUR",
        "Total paid: 130.00 EUR",
        "Buyer: mária",
        "Seller: seller-studio",
        "ACME",
        "Terms v2: one revision.",
        "2026-03-02 10:00:00 UTC · event 102 · leaf 42",
        f"sha256 {HASHES[3]}",
    ):
        assert said in text


def test_each_image_preview_is_a_picture_at_its_delivery():
    document = pdf_of(story())
    texts = page_texts(document)
    shown = [(n, image) for n, page in enumerate(document) for image in images(page)]
    assert len(shown) == 2  # two pictures; the sound is named, not drawn
    for n, image in shown:
        assert "delivered" in flat(" ".join(texts[: n + 1]))  # not before the delivery
        assert image.get_px_size() == (320, 240)  # the stored preview, not a redrawing
    everything = flat(" ".join(texts))
    assert "Preview 1 of logo.png (previews/1-0.jpg)" in everything
    assert "Preview 1 of logo-dark.png (previews/2-0.jpg)" in everything
    assert "Preview 1 of jingle.wav: previews/3-0.mp3 (audio)" in everything


def test_a_stored_jpeg_goes_into_the_pdf_unchanged():
    out = io.BytesIO()
    timeline_pdf(story(), out, lambda ref: io.BytesIO(jpeg(ref.file_id)))
    assert jpeg(1) in out.getvalue() and jpeg(2) in out.getvalue()


def test_a_png_preview_is_drawn_too():
    def png(ref: PreviewRef) -> io.BytesIO:
        out = io.BytesIO()
        Image.new("RGBA", (200, 100), (0, 128, 0, 128)).save(out, "PNG")
        out.seek(0)
        return out

    out = io.BytesIO()
    timeline_pdf(story(), out, png)
    document = pdfium.PdfDocument(out.getvalue())
    assert sum(len(images(page)) for page in document) == 2


@pytest.mark.parametrize(
    "message",
    [
        SCRIPT,
        SCRIPTS,
        LONG_WORD,
        "evil\u202etxt.exe and \u2067isolated\u2069 \u200fmarks",  # bidi controls
        "tabs\tand\r\nwindows\rlines, a bell\x07, a NUL\x00, a lone \ud800 half",
        "(parentheses) \\backslashes\\ ) ( %PDF-1.4 %%EOF endstream endobj",
        "",
        "\n\n\n",
    ],
)
def test_text_a_person_wrote_does_not_break_the_pdf(message):
    document = pdf_of(story(message, name=f"{message[:30]}name"))
    text = flat("\n".join(page_texts(document)))
    assert "Evidence of order #7" in text and "Bundle made: 2026-03-05 00:00:00 UTC" in text
    assert sum(len(images(page)) for page in document) == 2
    for page in document:  # every character within the page, none cut off at its edge
        width, height = page.get_size()
        textpage = page.get_textpage()
        for i in range(textpage.count_chars()):
            left, bottom, right, top = textpage.get_charbox(i)
            assert left >= 0 and right <= width and bottom >= 0 and top <= height


def test_letters_the_font_draws_read_back_as_written():
    text = flat("\n".join(page_texts(pdf_of(story(SCRIPTS)))))
    for word in ("Grüße", "Привет", "Γειά", "שלום", "مرحبا", "Բարեւ", "გამარჯობა"):
        assert word in text  # right-to-left words too, in reading order


def test_a_word_longer_than_a_line_is_cut_not_lost():
    text = "".join(page_texts(pdf_of(story(LONG_WORD))))
    assert LONG_WORD in "".join(text.split())


def test_what_the_font_cannot_draw_is_spelled_as_its_code_point():
    text = flat("\n".join(page_texts(pdf_of(story(PAST_THE_FONT)))))
    assert "[U+4F60][U+597D]" in text  # 你好
    assert "[U+0928]" in text and "[U+0E2A]" in text  # न, ส


def test_drawable_keeps_what_the_font_draws_and_spells_the_rest():
    assert drawable("Grüße, Привет — “ok” €5") == "Grüße, Привет — “ok” €5"
    assert drawable("a\tb\r\nc\rd") == "a   b\nc\nd"
    assert drawable("\x00\x07你\ud800") == "[U+0000][U+0007][U+4F60][U+D800]"
    assert drawable("a\u202eb\u200fc") == "a[U+202E]b[U+200F]c"


# --- the page ----------------------------------------------------------------------------------


def test_the_page_escapes_what_people_wrote():
    page = timeline_html(story(f"{SCRIPT} <img src=x onerror=alert(2)>", name='"><b>x'))
    assert "<script" not in page and "<img src=x" not in page and "<b>x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; “quotes”" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "Buyer (&quot;&gt;&lt;b&gt;x)" in page
    assert "Logo &lt;script&gt;" in page  # the offer's title too


def test_the_page_keeps_each_persons_text_in_its_own_direction():
    page = timeline_html(story("evil\u202etxt.exe \u2067x\u2069", name="\u202emária"))
    assert '<blockquote dir="auto">evil[U+202E]txt.exe [U+2067]x[U+2069]</blockquote>' in page
    assert '<bdi class="who">Buyer ([U+202E]mária)</bdi>' in page
    assert not any(control in page for control in BIDI)


def test_the_pdf_spells_out_bidi_controls():
    text = flat("\n".join(page_texts(pdf_of(story("evil\u202etxt.exe", name="\u2067mária")))))
    assert "“evil[U+202E]txt.exe”" in text and "Buyer ([U+2067]mária)" in text
    assert not any(control in text for control in BIDI)


def test_the_page_shows_the_previews_at_their_delivery_and_every_script_as_written():
    page = timeline_html(story(f"{SCRIPTS} {PAST_THE_FONT} {LONG_WORD}"))
    assert f"{SCRIPTS} {PAST_THE_FONT} {LONG_WORD}" in page
    delivery = page.index('id="event-103"')
    for image in ("previews/1-0.jpg", "previews/2-0.jpg"):
        assert page.index(f'<img src="{image}"') > delivery
    assert '<audio controls preload="none" src="previews/3-0.mp3"></audio>' in page
    assert "Preview 1 of jingle.wav" in page
    assert "111.11 EUR" in page and "130.00 EUR" in page and HASHES[3] in page


def test_the_page_needs_nothing_from_outside():
    page = timeline_html(story())
    for outside in ("http://", "https://", "//", 'src="/', "<link", "<script"):
        assert outside not in page.replace("width=device-width", "")


# --- in a real bundle --------------------------------------------------------------------------


def test_a_bundles_pdf_reads_back_with_every_event_and_shows_every_image_preview(db):
    with fresh_log_tree():
        order_id, apis = long_order()
        files = members(fetch_bundle(apis["support"], order_id))
    document = pdfium.PdfDocument(files["timeline.pdf"])
    text = flat("\n".join(page_texts(document)))
    for e in Event.objects.filter(order_id=order_id):
        assert f"event {e.pk} · leaf " in text and f"sha256 {e.hash}" in text
    for said in (
        f"“{flat(BUYER_NOTE)}”",
        "“Bigger letters, please.”",
        "Buyer (buyer",  # the names as the record holds them
        "Seller (seller",
        "Support (support",
        "decided the dispute, release",
        "Price 100.00",
        "Buyer: buyer",
    ):
        assert said in text
    previews = sorted(name for name in files if name.startswith("previews/"))
    assert len(previews) == 3
    for name in previews:
        assert f"({name})" in text
    assert sum(len(images(page)) for page in document) == 3
