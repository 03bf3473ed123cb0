"""SVG previews: the drawing rasterised 800 px on its long side, watermarked, as JPEG.

An SVG is a document that may carry scripts, event handlers, references to other files and
addresses (images, stylesheets, XInclude, external entities) and entity bombs. None of that
reaches the renderer, and the renderer could not follow it if it did:

1. In the sandboxed child the XML is parsed with defusedxml: a document that declares entities
   (internal or external, so a billion-laughs bomb too) is refused with that reason, and so is
   one nested deeper than ``MAX_DEPTH``.
2. The tree is cleaned: script, foreignObject and XInclude elements go, and so do event
   attributes (``on*``); a link (``href``, ``xlink:href``) stays only when it points inside the
   document (``#id``) or embeds a raster picture (``data:image/png`` and the like); CSS
   ``url(...)`` to anything but ``#id`` becomes ``none`` and ``@import`` is dropped. Comments,
   processing instructions (``xml-stylesheet``) and the doctype are not written back. A drawing
   whose references loop, or multiply it past ``MAX_DRAWN`` elements (a <use> bomb), or that
   embeds a picture of more than ``MAX_EMBEDDED_PIXELS``, is refused before anything is drawn;
   what no count gives away (a filter that takes minutes) meets the sandbox's time limit.
3. librsvg (inside libvips) draws the cleaned bytes from memory. It has no script engine, and
   with no base file it loads nothing but ``data:`` URLs (given a file path, it would read
   pictures beside the file). libvips counts it as an untrusted loader, so only this child
   unblocks it, and only its from-memory form.

A drawing has no pixels of its own to take a quarter of: what the buyer pays for is the vector
paths, which no raster holds. So every drawing is drawn at the same size, 800 px on its long side
(half a picture's 1600), whatever size it declares; a 10^9-pixel canvas is only a scale factor.
"""

import base64
import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import defusedxml  # type: ignore[import-untyped]
import defusedxml.ElementTree as SafeET  # type: ignore[import-untyped]

# Importing loads and initialises libvips (no thread); it runs only in sandboxed children.
import pyvips  # type: ignore[import-untyped]
from PIL import Image

from handover.delivery.previews import Limits, Part, PreviewError, Result, sandbox, watermark
from handover.delivery.previews.image import JPEG_QUALITY, PREVIEW_NAME, srgb8, vips_reason

MAX_BYTES = 20 * 2**20  # a logo or an illustration is well under this
MAX_DEPTH = 200  # librsvg's XML parser stops at 256 levels; ours says so first
# Elements drawn once every reference (<use>, a pattern's or marker's url(#id)) is followed: a
# map with every street is well under it, ten levels of ten <use> (10^10) far over.
MAX_DRAWN = 1_000_000
MAX_EMBEDDED_PIXELS = 25_000_000  # 100 MB decoded: a photo in a mock-up, not a bomb
_DROPPED_ELEMENTS = {"script", "foreignObject", "handler", "listener"}
_XINCLUDE = "{http://www.w3.org/2001/XInclude}"
_LINKS = {"href", "{http://www.w3.org/1999/xlink}href"}
_EMBEDDED_PICTURE = re.compile(r"\s*data:image/(?:png|jpeg|gif|webp)[;,]", re.I)
_CSS_URL = re.compile(r"url\(\s*(?![\s'\"]*#)[^)]*\)", re.I)
_CSS_IMPORT = re.compile(r"@import[^;]*;?", re.I)
_INNER_REFERENCE = re.compile(r"url\(\s*['\"]?#([^)'\"\s]+)|^\s*#(\S+)\s*$")


def make(src: Path, out_dir: Path, *, label: str, name: str, limits: Limits) -> Result:
    """Write a watermarked JPEG of the SVG drawing at ``src`` into ``out_dir``."""
    watermark.prepare(label, limits.drawing_edge)
    info = sandbox.run_limited(
        _render,
        src,
        out_dir / PREVIEW_NAME,
        label=label,
        edge=limits.drawing_edge,
        timeout_s=limits.timeout_s,
        memory_bytes=limits.memory_bytes,
    )
    return Result(parts=[Part(path=out_dir / PREVIEW_NAME, content_type="image/jpeg")], info=info)


def is_svg(src: Path) -> bool:
    """Whether an image file is an SVG: the sniffer calls a picture that starts as markup one,
    and no raster format starts with ``<``."""
    with src.open("rb") as file:
        head = file.read(4096).removeprefix(b"\xef\xbb\xbf").lstrip()
    return head.startswith((b"<", b"\xff\xfe", b"\xfe\xff"))


def _render(src: Path, dest: Path, *, label: str, edge: int) -> dict[str, Any]:
    """In the child: clean, draw, watermark, save. Returns the info."""
    _allow_only_svg_loader()
    with src.open("rb") as file:
        document = file.read(MAX_BYTES + 1)
    if len(document) > MAX_BYTES:
        raise PreviewError(f"the drawing is larger than {MAX_BYTES // 2**20} MB of SVG")
    clean = sanitised(document)
    width, height, scale = _scale(_load(clean), edge)
    try:
        picture = srgb8(_load(clean, scale=scale))
        pixels = picture.write_to_memory()  # the drawing happens here
    except pyvips.Error as exc:
        raise PreviewError(f"the drawing could not be rendered: {vips_reason(exc, src)}") from None
    preview = Image.frombytes("RGB", (picture.width, picture.height), pixels)
    watermark.apply(preview, label)
    preview.save(dest, "JPEG", quality=JPEG_QUALITY)
    return {
        "width": width,
        "height": height,
        "format": "svg",
        "preview_width": preview.width,
        "preview_height": preview.height,
    }


def sanitised(document: bytes) -> bytes:
    """The SVG without scripts, event handlers, entities or references outside itself."""
    root = _parse(document)
    _refuse_deep(root)
    for parent in root.iter():
        for child in [c for c in parent if _dropped(c)]:
            parent.remove(child)
        _clean_attributes(parent)
        if _local(parent.tag) == "style" and parent.text:
            parent.text = _clean_css(parent.text)
    _refuse_multiplying(root)
    return ET.tostring(root)


def _parse(document: bytes) -> ET.Element:
    try:
        root: ET.Element = SafeET.fromstring(document)
    except defusedxml.DefusedXmlException:
        raise PreviewError(
            "the drawing declares XML entities, which previews never expand"
        ) from None
    except ET.ParseError as exc:
        raise PreviewError(f"the drawing is not well-formed XML ({exc})") from None
    if _local(root.tag) != "svg":
        raise PreviewError("the file's first element is not an SVG drawing")
    return root


def _refuse_deep(root: ET.Element) -> None:
    # By hand, not recursively: a crafted file nests far past Python's recursion limit.
    level = [root]
    for _ in range(MAX_DEPTH + 1):
        level = [child for element in level for child in element]
        if not level:
            return
    raise PreviewError(f"the drawing's elements are nested more than {MAX_DEPTH} levels deep")


def _refuse_multiplying(root: ET.Element) -> None:
    """Refuse a drawing whose references multiply it past ``MAX_DRAWN`` elements, or loop:
    librsvg would draw it until the time limit."""
    ids = {element.get("id"): element for element in root.iter() if element.get("id")}
    drawn: dict[int, int] = {}  # id(element) -> elements drawn for it, references followed
    begun: set[int] = set()
    stack: list[tuple[ET.Element, bool]] = [(root, False)]
    while stack:  # depth first by hand: references can chain past the recursion limit
        element, children_done = stack.pop()
        below = [*element, *_referenced(element, ids)]
        if children_done:
            drawn[id(element)] = 1 + sum(drawn[id(child)] for child in below)
            if drawn[id(element)] > MAX_DRAWN:
                raise PreviewError(
                    f"the drawing's references would draw more than {MAX_DRAWN:,} elements"
                )
            continue
        if id(element) in drawn:
            continue
        if id(element) in begun:
            raise PreviewError("the drawing refers to itself in a loop")
        begun.add(id(element))
        stack.append((element, True))
        stack.extend((child, False) for child in below if id(child) not in drawn)


def _referenced(element: ET.Element, ids: dict[str | None, ET.Element]) -> list[ET.Element]:
    found = []
    for value in element.attrib.values():
        for match in _INNER_REFERENCE.finditer(value):
            if (target := ids.get(match[1] or match[2])) is not None:
                found.append(target)
    return found


def _dropped(element: ET.Element) -> bool:
    tag = element.tag if isinstance(element.tag, str) else ""  # comments are not kept anyway
    return tag.startswith(_XINCLUDE) or _local(tag) in _DROPPED_ELEMENTS


def _clean_attributes(element: ET.Element) -> None:
    for name, value in list(element.attrib.items()):
        if _local(name).lower().startswith("on"):
            del element.attrib[name]
        elif name in _LINKS:
            if _EMBEDDED_PICTURE.match(value):
                _refuse_embedded_bomb(value)
            elif not value.lstrip().startswith("#"):
                del element.attrib[name]
        elif "url(" in value.lower() or "@import" in value.lower():
            element.attrib[name] = _clean_css(value)


def _refuse_embedded_bomb(url: str) -> None:
    """Refuse a picture embedded as a data: URL that would take more than ``MAX_EMBEDDED_PIXELS``
    decoded: librsvg would abort on the memory limit without a reason to give. Only the
    header is read."""
    header, _, payload = url.partition(",")
    try:
        raw = base64.b64decode(payload) if header.rstrip().endswith(";base64") else b""
        with Image.open(io.BytesIO(raw)) as picture:
            width, height = picture.size
    except Image.DecompressionBombError:
        width = height = MAX_EMBEDDED_PIXELS  # past Pillow's own limit, far past ours
    except (ValueError, OSError):
        return  # not a picture librsvg could draw either; it skips it
    if width * height > MAX_EMBEDDED_PIXELS:
        raise PreviewError(
            "the drawing embeds a picture of more than "
            f"{MAX_EMBEDDED_PIXELS / 1e6:g} megapixels, the most previews draw"
        )


def _clean_css(css: str) -> str:
    return _CSS_URL.sub("none", _CSS_IMPORT.sub("", css))


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _allow_only_svg_loader() -> None:
    # Process-wide, which is fine in a child that exists for this one file. The file and
    # stream loaders stay blocked: given a path, librsvg reads pictures beside the file.
    pyvips.block_untrusted_set(True)
    pyvips.operation_block_set("VipsForeignLoad", True)
    pyvips.operation_block_set("VipsForeignLoadSvgBuffer", False)
    pyvips.cache_set_max(0)


def _load(clean: bytes, scale: float = 1.0) -> pyvips.Image:
    try:
        return pyvips.Image.svgload_buffer(clean, scale=scale, fail_on="error")
    except pyvips.Error as exc:
        if "bad dimensions" in str(exc):
            raise PreviewError(
                "the drawing states no size (width and height, or a viewBox) and has no shape "
                "to measure"
            ) from None
        raise PreviewError(f"the drawing could not be read: {vips_reason(exc)}") from None


def _scale(header: pyvips.Image, edge: int) -> tuple[int, int, float]:
    """The declared size and the scale that draws its long side at ``edge`` pixels."""
    width, height = header.width, header.height
    scale = edge / max(width, height)
    if min(width, height) * scale < 1:
        raise PreviewError(f"the drawing is {width} x {height}: too thin to draw {edge} px long")
    return width, height, scale
