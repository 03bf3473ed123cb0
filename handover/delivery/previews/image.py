"""Image previews: the picture at half its width and height (a quarter of its pixels), its long
edge at most 1600 px, watermarked, as JPEG.

libvips does the decoding, in a sandboxed child (see ``sandbox``): it reads only the header
first, refuses formats outside the allowlist and pictures larger than the pixel limit before a
single pixel is decoded, then shrinks while loading where the format allows it (JPEG decodes
straight at 1/2, 1/4 or 1/8 size), so even a 24-megapixel photo never exists in memory at full
size. The watermark is composited at preview size, with Pillow.
"""

import math
from pathlib import Path
from typing import Any

# Importing loads and initialises libvips, which starts no thread; its operations run only in
# sandboxed children (see sandbox for why that matters).
import pyvips  # type: ignore[import-untyped]
from PIL import Image

from handover.delivery.previews import (
    Limits,
    Part,
    PreviewError,
    Result,
    sandbox,
    share,
    watermark,
)

PREVIEW_NAME = "preview.jpg"
JPEG_QUALITY = 80

# Loader (by its nickname in the "vips-loader" header field) -> the format's name in the info.
# Never SVG, PDF, ImageMagick, Matlab, raw, CSV, vips or other loaders: they are either not
# hardened against hostile files or not pictures at all.
_LOADERS = {
    "jpegload": "jpeg",
    "pngload": "png",
    "webpload": "webp",
    "tiffload": "tiff",
    "gifload": "gif",
    "heifload": "heif",
}
_LOADER_CLASSES = (
    "VipsForeignLoadJpeg",
    "VipsForeignLoadPng",
    "VipsForeignLoadWebp",
    "VipsForeignLoadTiff",
    "VipsForeignLoadNsgif",
    "VipsForeignLoadHeif",
)
_JPEG_SHRINKS = (8, 4, 2)  # the factors libjpeg can decode at directly

# Pillow loads its format plugins on the first save; do it here once, not in every child.
Image.preinit()


def make(src: Path, out_dir: Path, *, label: str, name: str, limits: Limits) -> Result:
    """Write a watermarked JPEG preview of the image at ``src`` into ``out_dir``."""
    watermark.prepare(label, limits.image_edge)
    info = sandbox.run_limited(
        _render,
        src,
        out_dir / PREVIEW_NAME,
        label=label,
        limits=limits,
        timeout_s=limits.timeout_s,
        memory_bytes=limits.memory_bytes,
    )
    return Result(parts=[Part(path=out_dir / PREVIEW_NAME, content_type="image/jpeg")], info=info)


def _render(src: Path, dest: Path, *, label: str, limits: Limits) -> dict[str, Any]:
    """In the child: check the header, shrink, watermark, save. Returns the info."""
    if "[" in str(src):  # libvips reads "name[shrink=8]" as load options; storage never does
        raise ValueError(f"a local path with '[' cannot be given to libvips: {src}")
    _allow_only_image_loaders()
    header = _read_header(src)
    fmt = _format(header)
    width, height = _upright_size(header)
    _refuse_bomb(width, height, limits.max_pixels)
    size = preview_size(width, height, limits.image_edge)
    try:
        picture = srgb8(_shrink(src, header, size))
        pixels = picture.write_to_memory()  # the decoding happens here
    except pyvips.Error as exc:
        raise PreviewError(f"the image could not be decoded: {vips_reason(exc, src)}") from None
    preview = Image.frombytes("RGB", (picture.width, picture.height), pixels)
    watermark.apply(preview, label)
    preview.save(dest, "JPEG", quality=JPEG_QUALITY)  # Pillow writes no EXIF, XMP or ICC
    return {
        "width": width,
        "height": height,
        "format": fmt,
        "preview_width": preview.width,
        "preview_height": preview.height,
    }


def preview_size(width: int, height: int, max_edge: int) -> tuple[int, int]:
    """The preview's width and height: half the original's (a quarter of its pixels), the long
    side at most ``max_edge``, aspect kept, rounded to the pixel, or down where rounding would
    pass a quarter of the pixels. A picture under 2 px on a side has no preview: a quarter of
    it is less than one row."""
    if min(width, height) < 2:
        raise PreviewError(
            f"the image is {width} x {height} pixels: too small to show a reduced preview"
        )
    scale = min(0.5, max_edge / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if size[0] * size[1] > share(width * height):
        # Rounded down, a side is at most half the original's, so the area at most a quarter;
        # a side under one pixel (a thin strip) is one pixel against at least two.
        size = (max(1, math.floor(width * scale)), max(1, math.floor(height * scale)))
    return size


def _allow_only_image_loaders() -> None:
    # Process-wide, which is fine in a child that exists for this one file.
    pyvips.block_untrusted_set(True)
    pyvips.operation_block_set("VipsForeignLoad", True)
    for loader_class in _LOADER_CLASSES:
        pyvips.operation_block_set(loader_class, False)
    pyvips.cache_set_max(0)  # one file per child: caching would only hold memory


def _read_header(src: Path) -> pyvips.Image:
    try:
        return pyvips.Image.new_from_file(str(src), access="sequential", fail_on="error")
    except pyvips.Error as exc:
        if "not a known file format" in str(exc):
            raise PreviewError("this is not an image format that previews are made for") from None
        raise PreviewError(f"the image is damaged: {vips_reason(exc, src)}") from None


def _format(header: pyvips.Image) -> str:
    loader = header.get("vips-loader")
    if loader not in _LOADERS:  # the block above should make this unreachable
        raise PreviewError("this is not an image format that previews are made for")
    if loader == "heifload" and "heif-compression" in header.get_fields():
        return "avif" if header.get("heif-compression") == "av1" else "heic"
    return _LOADERS[loader]


def _upright_size(header: pyvips.Image) -> tuple[int, int]:
    """The picture's size as it is shown, after its EXIF orientation (5 to 8 turn it)."""
    if "orientation" in header.get_fields() and header.get("orientation") in (5, 6, 7, 8):
        return header.height, header.width
    return header.width, header.height


def _refuse_bomb(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise PreviewError(
            f"the image is {width} x {height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"previews are made of images up to {max_pixels / 1e6:g} megapixels"
        )


def _shrink(src: Path, header: pyvips.Image, size: tuple[int, int]) -> pyvips.Image:
    """The picture upright at exactly ``size`` (never larger than it is), lazily decoded."""
    width, height = size
    common: dict[str, Any] = {"height": height, "size": "force"}
    if "icc-profile-data" in header.get_fields():
        # Display P3 from phones, Adobe RGB: converted, since the preview carries no profile.
        # Only then: a conversion from sRGB to sRGB would cost 100 ms for nothing.
        common["output_profile"] = "srgb"
    if header.get("vips-loader") != "jpegload":
        # thumbnail shrinks on load where the format can (WebP, HEIF, pyramidal TIFF).
        return pyvips.Image.thumbnail(str(src), width, fail_on="error", **common)
    # thumbnail would decode a 6000 px JPEG at full size for a 1600 px preview (it keeps a
    # factor of 2 to spare); decoding at 1/2 and reducing from 3000 px looks the same and
    # costs a third less.
    long_edge = max(header.width, header.height)
    shrink = next((s for s in _JPEG_SHRINKS if long_edge // s >= max(size)), 1)
    picture = pyvips.Image.jpegload(str(src), shrink=shrink, access="sequential", fail_on="error")
    return picture.thumbnail_image(width, **common)


def srgb8(picture: pyvips.Image) -> pyvips.Image:
    """Three 8-bit sRGB bands: grey, 16-bit and CMYK converted, transparency on white."""
    if picture.interpretation != "srgb" or picture.format != "uchar":
        picture = picture.colourspace("srgb")
    if picture.hasalpha():
        picture = picture.flatten(background=255)
    if picture.bands > 3:
        picture = picture.extract_band(0, n=3)
    return picture.cast("uchar")


def vips_reason(exc: pyvips.Error, src: Path | None = None) -> str:
    """libvips' last line on the problem, without the server's path."""
    lines = [line.strip() for line in (exc.detail or exc.message).splitlines() if line.strip()]
    reason = lines[-1] if lines else "unknown error"
    return (reason.replace(str(src), "the file") if src else reason)[:200]
