"""The PDF preview: the first quarter of the pages (three at most; of a PDF of fewer than four
pages the top quarter of its first page) as watermarked JPEGs, with the page count and the paper
size; protected, damaged and truncated PDFs refused with a reason."""

import math
import tempfile
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw

from handover.delivery.previews import Limits, PreviewError, Result
from handover.delivery.previews.pdf import PAGE_EDGE, make, paper_size

LABEL = "PREVIEW · order 123 · buyer alice"
DEFAULT_LIMITS = Limits()
A4 = (595.28, 841.89)  # points
LETTER = (612.0, 792.0)
A4_PAGE_WIDTH = math.ceil(PAGE_EDGE * A4[0] / A4[1])  # px, for a portrait A4 page


def in_pixels(left: float, top: float, right: float, bottom: float) -> tuple[int, int, int, int]:
    """A box given in points from the top left of an A4 page, in the preview's pixels."""
    scale = PAGE_EDGE / A4[1]
    return round(left * scale), round(top * scale), round(right * scale), round(bottom * scale)


def text_pdf(
    pages: int, size: tuple[float, float] = A4, *, lines: int = 50, encrypt: bytes = b""
) -> bytes:
    """A PDF written by hand: ``pages`` pages of Helvetica text; ``encrypt``, if given, is the
    encryption dictionary."""
    width, height = size
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", b"<< /Type /Font /Subtype /Type1 "]
    objects[2] += b"/BaseFont /Helvetica >>"
    kids = []
    for number in range(1, pages + 1):
        text = b"".join(
            b"(Page %d, line %d: the quick brown fox jumps over the lazy dog.) Tj T* " % (number, n)
            for n in range(lines)
        )
        stream = b"BT /F1 10 Tf 12 TL 50 %d Td %s ET" % (height - 60, text)
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] " % (width, height)
            + b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % len(objects)
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    trailer = b"/Root 1 0 R"
    if encrypt:
        objects.append(encrypt)
        trailer += b" /Encrypt %d 0 R /ID [<%s> <%s>]" % (len(objects), b"0f" * 16, b"0f" * 16)
    pdf = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    pdf += b"trailer\n<< /Size %d %s >>\n" % (len(objects) + 1, trailer)
    pdf += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(pdf)


# The standard security handler, revision 2, with a user password that is not empty: the
# check values are made up, so no password opens it, which is all a preview would see.
PASSWORD_PROTECTED = b"<< /Filter /Standard /V 1 /R 2 /P -44 /O <%s> /U <%s> >>" % (
    b"5a" * 32,
    b"c3" * 32,
)


def preview(tmp_path: Path, content: bytes, limits: Limits = DEFAULT_LIMITS) -> Result:
    src = tmp_path / "document.pdf"
    src.write_bytes(content)
    out_dir = Path(tempfile.mkdtemp(dir=tmp_path))
    return make(src, out_dir, label=LABEL, name="document.pdf", limits=limits)


def pages_of(result: Result) -> list[Image.Image]:
    images: list[Image.Image] = []
    for number, part in enumerate(result.parts, start=1):
        assert part.path.name == f"page-{number}.jpg" and part.content_type == "image/jpeg"
        image = Image.open(part.path)
        assert image.format == "JPEG"
        image.load()
        images.append(image)
    return images


def darkest(image: Image.Image) -> int:
    return next(level for level, count in enumerate(image.convert("L").histogram()) if count)


def test_a_twelve_page_a4_document_shows_three_pages_and_says_twelve_a4(tmp_path):
    result = preview(tmp_path, text_pdf(12))

    assert result.info == {
        "pages": 12,
        "page_width_mm": 210.0,
        "page_height_mm": 297.0,
        "page_size": "A4",
        "pages_shown": 3,
        "part_of_page": None,
    }
    pages = pages_of(result)
    assert len(pages) == 3
    assert all(page.size == (A4_PAGE_WIDTH, PAGE_EDGE) for page in pages)
    assert sorted(p.name for p in result.parts[0].path.parent.iterdir()) == [
        "page-1.jpg",
        "page-2.jpg",
        "page-3.jpg",
    ]


def test_a_five_page_document_shows_one_page(tmp_path):
    result = preview(tmp_path, text_pdf(5))

    assert result.info["pages"] == 5 and result.info["pages_shown"] == 1
    assert [page.size for page in pages_of(result)] == [(A4_PAGE_WIDTH, PAGE_EDGE)]


def test_a_one_page_letter_document_shows_the_top_quarter_of_its_page(tmp_path):
    result = preview(tmp_path, text_pdf(1, LETTER))

    [page] = pages_of(result)
    assert result.info["pages"] == 1 and result.info["pages_shown"] == 0
    assert result.info["part_of_page"] == "the top quarter of page 1"
    assert result.info["page_size"] == "Letter"
    assert page.size == (math.ceil(PAGE_EDGE * LETTER[0] / LETTER[1]), PAGE_EDGE // 4)


@pytest.mark.parametrize("pages", [1, 2, 3, 4, 7])
def test_a_preview_holds_at_most_a_quarter_of_the_document(tmp_path, pages):
    result = preview(tmp_path, text_pdf(pages))

    shown = sum(page.width * page.height for page in pages_of(result))
    whole = pages * A4_PAGE_WIDTH * PAGE_EDGE  # every page rendered at the preview's scale
    assert 0 < shown <= whole // 4


def test_a_fifty_page_document_renders_only_the_pages_shown(tmp_path):
    result = preview(tmp_path, text_pdf(50), Limits(pdf_pages=2))

    assert result.info["pages"] == 50 and result.info["pages_shown"] == 2
    assert len(list(result.parts[0].path.parent.iterdir())) == 2


def test_a_turned_page_is_reported_and_shown_landscape(tmp_path):
    content = text_pdf(1).replace(b"/Type /Page /Parent", b"/Type /Page /Rotate 90 /Parent")

    result = preview(tmp_path, content)

    assert result.info["page_size"] == "A4 landscape"
    [page] = pages_of(result)
    assert page.size == (PAGE_EDGE, A4_PAGE_WIDTH // 4)  # the top quarter, upright


def test_the_text_of_the_page_is_rendered(tmp_path):
    [page] = pages_of(preview(tmp_path, text_pdf(1)))

    # The watermark is never darker than mid-grey on white; glyphs are black.
    assert darkest(page.crop(in_pixels(50, 60, 400, 200))) < 60  # the first lines
    assert page.height == PAGE_EDGE // 4  # and nothing below the page's top quarter


def test_pages_of_a_pdf_from_pillow_are_previewed(tmp_path):
    images = [Image.new("RGB", (595, 842), "white") for _ in range(4)]
    for number, image in enumerate(images, start=1):
        ImageDraw.Draw(image).rectangle((100, 100, 495, 300), fill=(0, 0, 80 * number % 255))
    src = tmp_path / "scan.pdf"
    images[0].save(src, "PDF", save_all=True, append_images=images[1:], resolution=72)

    result = preview(tmp_path, src.read_bytes())

    assert result.info["pages"] == 4 and len(pages_of(result)) == 1


def test_the_watermark_covers_the_whole_page(tmp_path):
    [page] = pages_of(preview(tmp_path, text_pdf(1, lines=0)))  # a blank page
    blank = Image.new("RGB", page.size, "white")

    width, height = page.size
    for x in range(0, width - width // 3 + 1, width // 3):
        for y in range(0, height - height // 4 + 1, height // 4):
            cell = (x, y, x + width // 3, y + height // 4)
            difference = ImageChops.difference(page.crop(cell), blank.crop(cell)).convert("L")
            histogram = difference.histogram()
            assert sum(histogram[40:]) / sum(histogram) > 0.02, f"no watermark in {cell}"


@pytest.mark.parametrize(
    ("width_mm", "height_mm", "name"),
    [
        (210, 297, "A4"),
        (297, 210, "A4 landscape"),
        (211.5, 296.0, "A4"),  # within 2 mm
        (215.9, 279.4, "Letter"),
        (215.9, 355.6, "Legal"),
        (148, 210, "A5"),
        (213, 297, "213 x 297 mm"),  # 3 mm off
        (100, 100, "100 x 100 mm"),
    ],
)
def test_paper_sizes_are_named_within_2_mm(width_mm, height_mm, name):
    assert paper_size(width_mm, height_mm) == name


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param(
            text_pdf(2, encrypt=PASSWORD_PROTECTED), "protected with a password", id="password"
        ),
        pytest.param(text_pdf(5)[:-3000], "truncated", id="truncated"),
        pytest.param(text_pdf(0), "has no pages", id="no-pages"),
        pytest.param(
            b"%PDF-1.7\n" + bytes(range(256)) * 20 + b"\n%%EOF\n", "damaged", id="garbage"
        ),
        pytest.param(
            text_pdf(3).replace(b"/Pages 2 0 R", b"/Pages 99 0 R"), "no pages", id="no-page-tree"
        ),
        pytest.param(text_pdf(3).replace(b" obj\n", b" jbo\n"), "damaged", id="no-objects"),
        pytest.param(b"", "truncated", id="empty"),
    ],
)
def test_a_pdf_that_cannot_be_previewed_gets_a_reason(tmp_path, content, reason):
    with pytest.raises(PreviewError, match=reason):
        preview(tmp_path, content, Limits(timeout_s=20))
