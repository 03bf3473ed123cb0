"""The visible watermark laid over every image, page and video preview.

The label (for example "PREVIEW · order 123 · buyer alice") is written in white with a dark
outline, so it shows on light and dark pictures alike, turned 30 degrees and repeated in
staggered rows over the whole area at about 40 % opacity: cropping one corner of a preview
still leaves the label on it. Pillow's built-in scalable font is used, so no system font is
needed. This module only uses Pillow, so it is safe in the parent process as well as in the
sandboxed children.
"""

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ANGLE = 30  # degrees, counter-clockwise
OPACITY = 0.4
MAX_LABEL = 80  # characters
_ROW_PITCH = 3.2  # distance between rows, in font sizes
_GAP = 0.35  # space between two labels on a row, as a share of the label's length


def font_size(long_edge: int) -> int:
    """The label's size for a picture: readable when small, not overwhelming when big."""
    return max(12, min(44, round(long_edge / 40)))


def prepare(label: str, long_edge: int) -> None:
    """Draw the watermark for pictures up to this long edge now, so forked children inherit it.

    A child is thrown away after one file; drawing in the parent once per label saves every
    child about 25 ms (a delivery's files and a PDF's pages all carry the same label).
    """
    _square(label, long_edge)


def layer(label: str, width: int, height: int) -> Image.Image:
    """A transparent RGBA image of ``width`` x ``height`` covered with the tiled label."""
    return _square(label, max(width, height)).crop((0, 0, width, height))


def apply(picture: Image.Image, label: str) -> None:
    """Composite the watermark over the whole of ``picture`` (opaque RGB or RGBX), in place."""
    side = max(picture.size)
    square = _square(label, side)
    # Pillow converts a layer to the picture's mode on every paste (RGBA onto RGB excepted):
    # PDF pages come as RGBX, so their converted copy is kept for the next page.
    colours = square if picture.mode == "RGB" else _converted(label, side, picture.mode)
    # Over an opaque picture, pasting through the layer's own alpha is exactly "over"; the
    # part of the square outside the picture is clipped.
    picture.paste(colours, (0, 0), square)


def watermark_png(label: str, width: int, height: int, path: Path) -> None:
    """Write the watermark layer as a PNG with alpha, for tools (ffmpeg) that overlay a file."""
    # Level 1: the layer is mostly transparent, so it stays small and encodes in a few ms.
    layer(label, width, height).save(path, "PNG", compress_level=1)


@lru_cache(maxsize=2)  # 10 MB each at 1600 px: an image preview's and a PDF page's
def _square(label: str, side: int) -> Image.Image:
    """The layer for every picture whose long edge is ``side``: they are crops of it."""
    out = Image.new("RGBA", (side, side))
    stamp = _stamp(label, font_size(side))
    for x, y in _stamp_positions(stamp, side, side):
        # The rows are spaced so that no two stamps' visible pixels meet: copying each stamp
        # through its footprint gives what alpha compositing would, three times faster.
        out.paste(stamp.image, (x, y), stamp.footprint)
    return out


@lru_cache(maxsize=1)
def _converted(label: str, side: int, mode: str) -> Image.Image:
    return _square(label, side).convert(mode)


def _stamp_positions(stamp: "_Stamp", width: int, height: int) -> list[tuple[int, int]]:
    """Top-left corners of the stamps: a staggered lattice along the text's direction."""
    theta = math.radians(ANGLE)
    along = (math.cos(theta), -math.sin(theta))  # the text runs up to the right
    across = (math.sin(theta), math.cos(theta))
    step_along = stamp.length * (1 + _GAP)
    step_across = stamp.size * _ROW_PITCH
    cx, cy = width / 2, height / 2
    corners = [(x - cx, y - cy) for x in (0, width) for y in (0, height)]
    reach_along = max(abs(x * along[0] + y * along[1]) for x, y in corners)
    reach_across = max(abs(x * across[0] + y * across[1]) for x, y in corners)
    rows = math.ceil(reach_across / step_across) + 1
    cols = math.ceil(reach_along / step_along) + 1
    positions = []
    for row in range(-rows, rows + 1):
        stagger = step_along / 2 if row % 2 else 0.0
        for col in range(-cols, cols + 1):
            a, b = col * step_along + stagger, row * step_across
            x = cx + a * along[0] + b * across[0] - stamp.image.width / 2
            y = cy + a * along[1] + b * across[1] - stamp.image.height / 2
            if -stamp.image.width < x < width and -stamp.image.height < y < height:
                positions.append((round(x), round(y)))
    return positions


@dataclass(frozen=True)
class _Stamp:
    image: Image.Image
    footprint: Image.Image  # mode "1": where the stamp has any ink
    length: int  # of the label before turning, in pixels
    size: int


@lru_cache(maxsize=4)  # about 1 MB each
def _stamp(label: str, size: int) -> _Stamp:
    """The label once, outlined, turned and already at the watermark's opacity."""
    if len(label) > MAX_LABEL:  # a stamp wider than any preview would only cost memory
        label = label[: MAX_LABEL - 3] + "..."
    font = ImageFont.load_default(size=size)
    stroke = max(1, round(size / 12))
    left, top, right, bottom = font.getbbox(label or " ", stroke_width=stroke)
    text = Image.new("RGBA", (max(1, math.ceil(right - left)), _text_height(size)))
    draw = ImageDraw.Draw(text)
    baseline_pad = (_text_height(size) - (bottom - top)) / 2
    draw.text(
        (-left, baseline_pad - top),
        label,
        font=font,
        fill=(255, 255, 255, 255),
        stroke_width=stroke,
        stroke_fill=(20, 20, 20, 255),
    )
    turned = text.rotate(ANGLE, resample=Image.Resampling.BICUBIC, expand=True)
    alpha = turned.getchannel("A")
    footprint = alpha.point(lambda a: 255 if a else 0, "1")
    turned.putalpha(alpha.point(lambda a: round(a * OPACITY)))
    return _Stamp(image=turned, footprint=footprint, length=text.width, size=size)


def _text_height(size: int) -> int:
    return round(size * 1.5)
