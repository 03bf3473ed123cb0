"""A4 documents for people, made with fpdf2: text set as text in one bundled Unicode font
(DejaVu Sans, see fonts/LICENSE), so that a reader can select, search and copy it, and
pictures placed as they are stored (a JPEG's bytes go in unchanged). Right-to-left text is
shaped by HarfBuzz (uharfbuzz), as fpdf2 does when asked.

DejaVu Sans draws Latin, Greek, Cyrillic, Armenian, Georgian, Hebrew and Arabic letters and
most symbols; a character it has no glyph for (Chinese, Japanese, Korean, Indic and Thai
scripts, a control character) is written as its code point, ``[U+4F60]``, rather than left
out: the PDF says that something is there and what, and timeline.html shows it as written.
So is a bidi control (``lib.text.BIDI_CONTROLS``), in both documents.
fpdf2 builds the file in memory: about the previews' bytes twice over, at most while it writes.
"""

import io
import unicodedata
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import IO, Literal, Protocol

from PIL import Image

from handover.lib.text import BIDI_CONTROLS

FONT = Path(__file__).parent / "fonts" / "DejaVuSans.ttf"
FAMILY = "DejaVu"

Style = Literal["title", "heading", "body", "small"]
SIZES: dict[Style, float] = {"title": 17, "heading": 13, "body": 10, "small": 8}
LEADING = 1.4  # line height, in font sizes
MARGIN = 40  # points, on every side
INDENT = 16  # points per level
PICTURE_HEIGHT = 340  # points at most: two pictures fit on a page with their captions
BLOCK = 1024 * 1024  # bytes handed to the sink at a time


class Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


@cache
def _drawn() -> frozenset[int]:
    """The code points the font has a glyph for."""
    from fontTools.ttLib import TTFont

    with TTFont(FONT, lazy=True) as font:
        return frozenset(font.getBestCmap())


def spelled(char: str) -> str:
    return f"[U+{ord(char):04X}]"


def drawable(text: str) -> str:
    """``text`` with each character the font cannot draw spelled as ``[U+XXXX]``, and the
    bidi controls too (they would show other words than the ones stored); tabs as spaces and
    every line break as one ``\\n``."""
    drawn = _drawn()
    text = text.replace("\r\n", "\n").replace("\r", "\n").expandtabs(4)
    return "".join(
        c if c == "\n" or (ord(c) in drawn and c not in BIDI_CONTROLS) else spelled(c) for c in text
    )


def _shaped(text: str) -> bool:
    """Whether HarfBuzz lays the text out: right-to-left letters (Arabic joined, Hebrew and
    Arabic kept in reading order for search and copy) and combining marks need it; other text
    is set about three times faster without it."""
    return any(
        unicodedata.bidirectional(c) in ("R", "AL") or unicodedata.combining(c) for c in text
    )


class Document:
    """Text and pictures, top to bottom, on as many A4 pages as they need."""

    def __init__(self, *, title: str, created: datetime | None = None):
        # Imported here, not with the module: fpdf2 (with fontTools) takes about as long to
        # import as the rest of the URL configuration together, and only a bundle needs it.
        from fpdf import FPDF

        self.pdf: FPDF = FPDF(unit="pt", format="A4")
        self.pdf.set_margins(MARGIN, MARGIN, MARGIN)
        self.pdf.set_auto_page_break(True, margin=MARGIN)
        self.pdf.add_font(FAMILY, fname=FONT)
        self.pdf.set_title(drawable(title))
        self.pdf.set_lang("en")
        self.pdf.set_creator("Handover")
        if created is not None:
            self.pdf.set_creation_date(created)
        self.pdf.add_page()

    def text(self, style: Style, text: str, *, indent: int = 0) -> None:
        """A paragraph, wrapped at spaces (a word longer than the line is cut)."""
        pdf, size, shown = self.pdf, SIZES[style], drawable(text)
        if style in ("title", "heading") and pdf.get_y() > pdf.t_margin:
            pdf.ln(size * 0.7)
        if style == "heading":
            pdf.start_section(shown)  # an entry in the PDF's outline
        pdf.set_font(FAMILY, size=size)
        pdf.set_text_shaping(_shaped(shown))
        pdf.set_left_margin(MARGIN + indent * INDENT)  # where wrapped lines start, page after page
        pdf.set_x(pdf.l_margin)
        pdf.multi_cell(0, size * LEADING, shown, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_left_margin(MARGIN)

    def picture(self, source: IO[bytes], *, caption: str, indent: int = 0) -> None:
        """A picture as wide as the text at most, on a new page if it does not fit on this
        one, with its caption under it."""
        pdf, data = self.pdf, source.read()
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
        left = MARGIN + indent * INDENT
        scale = min((pdf.w - MARGIN - left) / width, PICTURE_HEIGHT / height, 1.0)
        w, h = width * scale, height * scale
        if pdf.get_y() + h + SIZES["small"] * LEADING > pdf.page_break_trigger:
            pdf.add_page()
        pdf.image(io.BytesIO(data), x=left, y=pdf.get_y(), w=w, h=h, alt_text=drawable(caption))
        pdf.set_y(pdf.get_y() + h + 2)
        self.text("small", caption, indent=indent)

    def write_to(self, out: Sink) -> None:
        document = self.pdf.output()
        for start in range(0, len(document), BLOCK):
            out.write(bytes(document[start : start + BLOCK]))
