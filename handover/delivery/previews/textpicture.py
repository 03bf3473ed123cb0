"""Text drawn as a picture: the excerpt of a text preview, so that it can be read but not copied
as text. Pillow's built-in scalable font is used, so no system font is needed; characters it
lacks (most scripts beyond Latin, Greek and Cyrillic) show as boxes."""

import textwrap
import unicodedata
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

PAGE_WIDTH = 1200
FONT_SIZE = 18
LINE_HEIGHT = 26
MARGIN = 16
WRAP = 100  # characters on a drawn row
MAX_ROWS = 80  # rows of the excerpt drawn at most (long lines wrap)
INK, MUTED, PAPER, BAND = (34, 34, 34), (110, 110, 110), (255, 255, 255), (255, 243, 205)


@lru_cache(maxsize=2)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def draw_page(excerpt: str, *, title: str, summary: str, held_back: str) -> Image.Image:
    """A white page: the title and shape on a band, the excerpt's rows numbered, a closing note."""
    rows = excerpt_rows(excerpt)
    head = [(title, INK), (summary, MUTED)]
    foot = [(line, MUTED) for line in textwrap.wrap(held_back, WRAP)]
    height = MARGIN * 3 + LINE_HEIGHT * (len(head) + max(1, len(rows)) + len(foot))
    page = Image.new("RGB", (PAGE_WIDTH, height), PAPER)
    draw = ImageDraw.Draw(page)
    draw.rectangle((0, 0, PAGE_WIDTH, MARGIN + LINE_HEIGHT * len(head)), fill=BAND)
    y = MARGIN // 2
    for text, colour in head:
        draw.text((MARGIN, y), printable(text)[:WRAP], fill=colour, font=_font(FONT_SIZE))
        y += LINE_HEIGHT
    y += MARGIN
    for number, text in rows:
        if number is not None:
            draw.text((MARGIN, y), f"{number:>4}", fill=MUTED, font=_font(FONT_SIZE))
        draw.text((MARGIN + 64, y), text, fill=INK, font=_font(FONT_SIZE))
        y += LINE_HEIGHT
    if not rows:
        draw.text((MARGIN, y), "(nothing of the text is shown)", fill=MUTED, font=_font(FONT_SIZE))
        y += LINE_HEIGHT
    y += MARGIN
    for text, colour in foot:
        draw.text((MARGIN, y), text, fill=colour, font=_font(FONT_SIZE))
        y += LINE_HEIGHT
    return page


def excerpt_rows(excerpt: str) -> list[tuple[int | None, str]]:
    """(line number on a line's first row, else None; the row's text), at most MAX_ROWS."""
    rows: list[tuple[int | None, str]] = []
    for number, line in enumerate(excerpt.splitlines(), start=1):
        wrapped = textwrap.wrap(printable(line.expandtabs(4)), WRAP, drop_whitespace=False) or [""]
        rows.extend((number if index == 0 else None, row) for index, row in enumerate(wrapped))
    return rows[:MAX_ROWS]


def printable(text: str) -> str:
    """Control and format characters (bidi overrides among them) shown as a visible mark."""
    return "".join(
        "\N{REPLACEMENT CHARACTER}" if unicodedata.category(c) in ("Cc", "Cf") else c for c in text
    )
