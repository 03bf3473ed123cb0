"""PDF previews: the first quarter of the pages (three at most; of a shorter PDF the top quarter
of its first page) rasterised and watermarked as JPEG, with page count and size.

PDFium renders, in a sandboxed child (see ``sandbox``). Pages come out as JPEG, not PNG: at this
size PNG costs about 200 ms a page to encode, JPEG about 16 ms.
"""

import math
from pathlib import Path
from typing import Any

# Importing loads and initialises PDFium, which starts no thread; it renders only in sandboxed
# children (see sandbox for why that matters).
import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pypdfium2.raw as pdfium_c  # type: ignore[import-untyped]
from PIL import Image

from handover.delivery.previews import (
    SHARE,
    Limits,
    Part,
    PreviewError,
    Result,
    sandbox,
    share,
    watermark,
)

PAGE_EDGE = 1200  # px, the long edge of a rendered page
JPEG_QUALITY = 80
MM_PER_POINT = 25.4 / 72
_SIZE_TOLERANCE_MM = 2.0
_PAPER_SIZES_MM = {  # portrait width, height
    "A3": (297.0, 420.0),
    "A4": (210.0, 297.0),
    "A5": (148.0, 210.0),
    "Letter": (215.9, 279.4),
    "Legal": (215.9, 355.6),
    "Tabloid": (279.4, 431.8),
}
_OPEN_ERRORS = {
    pdfium_c.FPDF_ERR_SUCCESS: "the PDF has no pages",  # it opened, but there was nothing
    pdfium_c.FPDF_ERR_PASSWORD: "the PDF is protected with a password",
    pdfium_c.FPDF_ERR_SECURITY: "the PDF is encrypted in a way that cannot be read",
    pdfium_c.FPDF_ERR_FORMAT: "the PDF is damaged (its structure cannot be read)",
}

# Pillow loads its format plugins on the first save; do it here once, not in every child.
Image.preinit()


def make(src: Path, out_dir: Path, *, label: str, name: str, limits: Limits) -> Result:
    """Write watermarked JPEGs of the first pages of the PDF at ``src`` into ``out_dir``."""
    watermark.prepare(label, PAGE_EDGE)
    info = sandbox.run_limited(
        _render,
        src,
        out_dir,
        label=label,
        max_pages=limits.pdf_pages,
        timeout_s=limits.timeout_s,
        memory_bytes=limits.memory_bytes,
    )
    parts = [
        Part(path=out_dir / page_name(number), content_type="image/jpeg")
        for number in range(1, max(1, info["pages_shown"]) + 1)
    ]
    return Result(parts=parts, info=info)


def page_name(number: int) -> str:
    return f"page-{number}.jpg"


def paper_size(width_mm: float, height_mm: float) -> str:
    """The paper's name ("A4", "Letter landscape") or else its size ("200 x 300 mm")."""
    short, long = sorted((width_mm, height_mm))
    for name, (paper_short, paper_long) in _PAPER_SIZES_MM.items():
        if abs(short - paper_short) <= _SIZE_TOLERANCE_MM and (
            abs(long - paper_long) <= _SIZE_TOLERANCE_MM
        ):
            return f"{name} landscape" if width_mm > height_mm else name
    return f"{width_mm:.0f} x {height_mm:.0f} mm"


def _render(src: Path, out_dir: Path, *, label: str, max_pages: int) -> dict[str, Any]:
    """In the child: open, measure, render the first pages. Returns the info."""
    _refuse_truncated(src)
    pdf = _open(src)
    pages = len(pdf)
    width_mm, height_mm = (points * MM_PER_POINT for points in _page(pdf, 0).get_size())
    shown = min(share(pages), max_pages)
    for index in range(shown):
        _render_page(_page(pdf, index), index, out_dir / page_name(index + 1), label)
    if not shown:  # fewer than four pages: the top quarter of the first one
        _render_page(_page(pdf, 0), 0, out_dir / page_name(1), label, height_share=1 / SHARE)
    return {
        "pages": pages,
        "page_width_mm": round(width_mm, 1),
        "page_height_mm": round(height_mm, 1),
        "page_size": paper_size(width_mm, height_mm),
        "pages_shown": shown,
        "part_of_page": None if shown else "the top quarter of page 1",
    }


def _refuse_truncated(src: Path) -> None:
    # PDFium repairs what it can, so a file cut short may still open and show its first
    # pages; but a PDF ends with %%EOF (within the last 1024 bytes, as readers allow), and
    # one that does not was cut off in transfer: better said now than found out after paying.
    with src.open("rb") as pdf_file:
        pdf_file.seek(max(0, src.stat().st_size - 1024))
        if b"%%EOF" not in pdf_file.read():
            raise PreviewError("the PDF is truncated (it does not end with %%EOF)")


def _open(src: Path) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(src)
    except pdfium.PdfiumError as exc:
        reason = _OPEN_ERRORS.get(exc.err_code, "the PDF could not be opened")
        raise PreviewError(reason) from None


def _page(pdf: pdfium.PdfDocument, index: int) -> pdfium.PdfPage:
    try:
        return pdf[index]
    except pdfium.PdfiumError:
        raise PreviewError(f"page {index + 1} of the PDF is damaged") from None


def _render_page(
    page: pdfium.PdfPage, index: int, dest: Path, label: str, *, height_share: float = 1.0
) -> None:
    """Render the page (or its top ``height_share``), watermarked."""
    width, height = page.get_size()
    if min(width, height) < 1:
        raise PreviewError(f"page {index + 1} of the PDF has no size")
    scale = PAGE_EDGE / max(width, height)
    # RGBX: Pillow takes PDFium's buffer as it is, and the JPEG encoder reads it directly.
    picture = page.render(scale=scale, rev_byteorder=True, prefer_bgrx=True).to_pil()
    if height_share < 1:  # cut after rendering, so the page's own rotation needs no thought
        kept = max(1, math.floor(picture.height * height_share))
        picture = picture.crop((0, 0, picture.width, kept))
    watermark.apply(picture, label)
    picture.save(dest, "JPEG", quality=JPEG_QUALITY)
