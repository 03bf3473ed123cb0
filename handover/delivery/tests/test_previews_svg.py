"""SVG previews and the hostile SVG corpus: every drawing gets a watermarked picture that ran
nothing and fetched nothing, or a clear reason, in bounded time and memory.

"Fetched nothing" is observed, not assumed: the references point at a local HTTP server that
records every request, and at a pure red picture outside the drawing's folder (and one beside
it), which would show in the preview if it were read. Each reference case also runs with the
cleaning step switched off, to pin the second layer: librsvg drawing from memory has no base
file, so it loads nothing even from a file the cleaning missed."""

import base64
import faulthandler
import http.server
import io
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from handover.delivery import previews
from handover.delivery.previews import Limits, PreviewError, Result, svg
from handover.delivery.tests.corpus import billion_laughs, png_bomb

LABEL = "PREVIEW · order 7 · buyer alice"
NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
XI = 'xmlns:xi="http://www.w3.org/2001/XInclude"'
LIMITS = Limits(timeout_s=10, memory_bytes=512 * 2**20)
BOUNDED_S = 5.0  # each hostile case, fork, parse, draw and JPEG included


class Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str]

    def do_GET(self) -> None:
        self.requests.append(self.path)
        picture = io.BytesIO()
        Image.new("RGB", (8, 8), "red").save(picture, "PNG")
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.wfile.write(picture.getvalue())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    """A local web server that answers a red picture to anything, and the paths it was asked."""
    requests: list[str] = []
    handler = type("Handler", (Recorder,), {"requests": requests})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", requests
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """The drawing's folder with a red picture beside it, and a red secret outside it."""
    work, outside = tmp_path / "work", tmp_path / "outside"
    work.mkdir()
    outside.mkdir()
    for path in (work / "near.png", outside / "secret.png"):
        Image.new("RGB", (8, 8), "red").save(path)
    (outside / "secret.txt").write_text("SECRET " * 20)
    return work, outside


def drawing(body: str, *, head: str = "", size: str = 'width="200" height="100"') -> bytes:
    """A blue 200 x 100 drawing (so any red in the preview came from a reference) plus ``body``."""
    return (
        f'{head}<svg {NS} {XI} {size}><rect width="200" height="100" fill="#2040c0"/>{body}</svg>'
    ).encode()


def preview(work: Path, content: bytes, limits: Limits = LIMITS) -> Result:
    src = work / "drawing.svg"
    src.write_bytes(content)
    out_dir = Path(tempfile.mkdtemp(dir=work))
    return previews.make("image", src, out_dir, label=LABEL, name=src.name, limits=limits)


def opened(result: Result) -> Image.Image:
    [part] = result.parts
    assert part.content_type == "image/jpeg"
    image = Image.open(part.path)
    assert image.format == "JPEG"
    image.load()
    return image


def reddish_share(image: Image.Image) -> float:
    """Share of the pixels clearly red: a referenced picture that was read would show."""
    pixels: list[tuple[int, int, int]] = list(image.convert("RGB").reduce(4).get_flattened_data())  # type: ignore[arg-type]
    red = [p for p in pixels if p[0] > 150 and p[1] < 90 and p[2] < 90]
    return len(red) / len(pixels)


def test_a_drawing_is_drawn_800_px_long_on_white_and_watermarked(folders):
    work, _ = folders
    plain = drawing('<circle cx="100" cy="50" r="40" fill="none" stroke="#fff" stroke-width="9"/>')

    result = preview(work, plain)

    image = opened(result)
    assert image.size == (800, 400)
    assert result.info == {
        "width": 200,
        "height": 100,
        "format": "svg",
        "preview_width": 800,
        "preview_height": 400,
    }
    blue = ImageStat.Stat(image.crop((0, 0, 120, 120))).median
    assert blue[2] > 150 and blue[0] < 120, "the drawing itself shows"
    assert len(image.convert("L").getcolors(2**16) or []) > 20, "the watermark is drawn over it"


def test_a_tiny_icon_and_a_drawing_with_only_a_view_box_are_drawn_800_px_long(folders):
    work, _ = folders

    icon = opened(preview(work, drawing("", size='width="24" height="12" viewBox="0 0 200 100"')))
    boxed = opened(preview(work, drawing("", size='viewBox="0 0 50 100"')))

    assert icon.size == (800, 400)
    assert boxed.size == (400, 800)


def test_a_picture_embedded_in_the_drawing_is_drawn(folders):
    work, _ = folders
    red = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(red, "PNG")
    embedded = base64.b64encode(red.getvalue()).decode()
    body = f'<image href="data:image/png;base64,{embedded}" width="200" height="100"/>'

    assert reddish_share(opened(preview(work, drawing(body)))) > 0.3  # the check sees red


REFERENCES = {
    "image-http": '<image href="{url}/img.png" width="200" height="100"/>',
    "image-xlink-http": '<image xlink:href="{url}/xlink.png" width="200" height="100"/>',
    "image-file-outside": '<image href="file://{outside}/secret.png" width="200" height="100"/>',
    "image-relative-outside": '<image href="../outside/secret.png" width="200" height="100"/>',
    "image-beside": '<image href="near.png" width="200" height="100"/>',
    "image-xml-base": '<g xml:base="file://{outside}/"><image href="secret.png" width="200" '
    'height="100"/></g>',
    "image-data-svg": '<image href="data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/'
    'svg%22%3E%3Cimage href=%22{url}/nested.png%22/%3E%3C/svg%3E"/>',
    "use-http": '<use href="{url}/use.svg#a"/>',
    "fill-url-http": '<rect width="200" height="100" fill="url({url}/fill.svg#g)"/>',
    "style-import-and-url": "<style>@import url({url}/import.css); "
    "rect {{ fill: url({url}/style.svg#g) }}</style>",
    "style-attribute-url": '<rect width="200" height="100" style="fill:url({url}/attr.svg#g)"/>',
    "filter-image": '<filter id="f"><feImage href="{url}/fe.png"/></filter>'
    '<rect width="200" height="100" filter="url(#f)"/>',
    "xinclude-file": '<text y="50"><xi:include href="file://{outside}/secret.txt" parse="text"/>'
    "</text>",
    "xinclude-http": '<text y="50"><xi:include href="{url}/xi.txt" parse="text"/></text>',
    "script": "<script>fetch('{url}/script'); new Image().src = '{url}/img-script';</script>",
    "script-cdata": "<script><![CDATA[ fetch('{url}/cdata') ]]></script>",
    "event-attributes": '<rect width="9" height="9" onload="fetch(\'{url}/onload\')" '
    "onclick=\"fetch('{url}/onclick')\"/>",
    "foreign-object": '<foreignObject width="200" height="100"><iframe xmlns="http://www.w3.org/'
    '1999/xhtml" src="{url}/iframe"/></foreignObject>',
    "anchor-javascript": '<a href="javascript:fetch(\'{url}/a\')"><rect width="9" height="9"/></a>',
}
HEADS = {
    "stylesheet-instruction": '<?xml-stylesheet type="text/css" href="{url}/pi.css"?>',
    "external-doctype": '<!DOCTYPE svg SYSTEM "{url}/svg.dtd">',
}


@pytest.mark.parametrize("cleaned", [True, False], ids=["cleaned", "raw-to-librsvg"])
@pytest.mark.parametrize(
    ("body", "head"),
    [pytest.param(body, "", id=name) for name, body in REFERENCES.items()]
    + [pytest.param("", head, id=name) for name, head in HEADS.items()],
)
def test_a_reference_in_a_drawing_is_never_fetched(
    folders, server, monkeypatch, body, head, cleaned
):
    work, outside = folders
    url, requests = server
    if not cleaned:  # the child is forked after this, so it inherits the switch
        monkeypatch.setattr(svg, "sanitised", lambda document: document)
    fill = {"url": url, "outside": outside}
    started = time.monotonic()

    result = preview(work, drawing(body.format(**fill), head=head.format(**fill)))

    assert time.monotonic() - started < BOUNDED_S
    assert requests == []
    assert reddish_share(opened(result)) < 0.01, "no referenced picture was drawn"


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(
            drawing("<text>&x;</text>", head='<!DOCTYPE svg [<!ENTITY x SYSTEM "{url}/ent">]>'),
            id="external-entity-http",
        ),
        pytest.param(
            drawing("<text>&x;</text>", head='<!DOCTYPE svg [<!ENTITY x SYSTEM "{secret}">]>'),
            id="external-entity-file",
        ),
        pytest.param(
            drawing("", head='<!DOCTYPE svg [<!ENTITY % p SYSTEM "{url}/p.dtd"> %p;]>'),
            id="parameter-entity",
        ),
        pytest.param(
            drawing("<text>&x;</text>", head='<!DOCTYPE svg [<!ENTITY x "harmless">]>'),
            id="internal-entity",
        ),
        pytest.param(
            billion_laughs(drawing("<text>&lol9;</text>")),
            id="billion-laughs",
        ),
    ],
)
def test_a_drawing_that_declares_entities_is_refused_unexpanded(folders, server, content):
    work, outside = folders
    url, requests = server
    content = content.replace(b"{url}", url.encode())
    content = content.replace(b"{secret}", f"file://{outside}/secret.txt".encode())
    started = time.monotonic()

    with pytest.raises(PreviewError, match="declares XML entities, which previews never expand"):
        preview(work, content)

    assert time.monotonic() - started < BOUNDED_S
    assert requests == []


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        ('width="40000" height="25000"', (800, 500)),  # 10^9 pixels
        ('width="100000" height="100000" viewBox="0 0 200 100"', (800, 800)),  # 10^10
    ],
)
def test_a_canvas_of_billions_of_pixels_is_only_a_scale_factor(folders, size, shown):
    work, _ = folders
    started = time.monotonic()

    result = preview(work, drawing("", size=size))

    assert time.monotonic() - started < BOUNDED_S
    assert opened(result).size == shown
    assert result.info["width"] * result.info["height"] >= 10**9


def test_a_canvas_too_thin_to_draw_gets_a_reason(folders):
    work, _ = folders

    with pytest.raises(PreviewError, match="100000 x 1: too thin to draw 800 px long"):
        preview(work, drawing("", size='width="100000" height="1"'))
    with pytest.raises(PreviewError, match="could not be read"):  # past libvips' int sizes
        preview(work, drawing("", size='width="1000000000000" height="1"'))


def test_groups_nested_past_the_limit_are_refused_before_drawing(folders):
    work, _ = folders
    depth = 100_000
    nested = "<g>" * depth + '<rect width="9" height="9"/>' + "</g>" * depth
    started = time.monotonic()

    with pytest.raises(PreviewError, match="nested more than 200 levels deep"):
        preview(work, drawing(nested))

    assert time.monotonic() - started < BOUNDED_S


def test_groups_nested_within_the_limit_are_drawn(folders):
    work, _ = folders
    nested = "<g>" * 150 + '<rect width="9" height="9" fill="#000"/>' + "</g>" * 150

    assert opened(preview(work, drawing(nested))).size == (800, 400)


def use_levels(levels: int) -> bytes:
    """``levels`` levels of ten <use> of the level below: 10^levels rectangles drawn."""
    defs = ['<rect id="l0" width="1" height="1"/>'] + [
        f'<g id="l{n}">' + f'<use href="#l{n - 1}"/>' * 10 + "</g>" for n in range(1, levels + 1)
    ]
    return drawing("<defs>" + "".join(defs) + f'</defs><use href="#l{levels}"/>')


def test_references_that_multiply_past_a_million_elements_are_refused_before_drawing(folders):
    work, _ = folders
    started = time.monotonic()

    with pytest.raises(PreviewError, match="would draw more than 1,000,000 elements"):
        preview(work, use_levels(10))

    assert time.monotonic() - started < BOUNDED_S
    assert opened(preview(work, use_levels(3))).size == (800, 400)  # a thousand is drawn


@pytest.mark.parametrize(
    "body",
    [
        '<g id="a"><use href="#a"/></g>',
        '<use id="a" href="#b"/><use id="b" href="#a"/>',
        '<pattern id="p" width="9" height="9"><rect width="9" height="9" fill="url(#p)"/>'
        '</pattern><rect width="9" height="9" fill="url(#p)"/>',
    ],
    ids=["use-itself", "use-each-other", "pattern-itself"],
)
def test_a_drawing_that_refers_to_itself_in_a_loop_is_refused(folders, body):
    work, _ = folders

    with pytest.raises(PreviewError, match="refers to itself in a loop"):
        preview(work, drawing(body))


@pytest.mark.parametrize("side", [6000, 20_000])  # 36 and 400 megapixels, a few kB of PNG
def test_a_picture_bomb_embedded_in_a_drawing_is_refused_before_decoding(folders, side):
    work, _ = folders
    bomb = base64.b64encode(png_bomb(side, side)).decode()
    body = f'<image href="data:image/png;base64,{bomb}" width="200" height="100"/>'

    with pytest.raises(PreviewError, match="embeds a picture of more than 25 megapixels"):
        preview(work, drawing(body))


def test_without_the_cleaning_the_memory_limit_still_stops_an_embedded_bomb(folders, monkeypatch):
    work, _ = folders
    monkeypatch.setattr(svg, "sanitised", lambda document: document)
    bomb = base64.b64encode(png_bomb()).decode()
    body = f'<image href="data:image/png;base64,{bomb}" width="200" height="100"/>'
    started = time.monotonic()

    faulthandler.disable()  # the child's abort is expected: no dump of it on the terminal
    try:
        with pytest.raises(PreviewError, match=r"decoder crashed|needed more than"):
            preview(work, drawing(body), Limits(timeout_s=10, memory_bytes=256 * 2**20))
    finally:
        faulthandler.enable(file=2)  # as pytest had it: the standard error stream

    assert time.monotonic() - started < BOUNDED_S


def test_a_drawing_that_draws_too_long_is_stopped_at_the_time_limit(folders):
    work, _ = folders
    # Morphology filters of a huge radius: no size or count gives them away, only the time.
    # One takes about 0.9 s here, eight about 7 s: far past the 1 s limit on any machine.
    slow = drawing(
        '<filter id="f">' + '<feMorphology radius="100000"/>' * 8 + "</filter>"
        '<rect width="200" height="100" filter="url(#f)"/>'
    )
    started = time.monotonic()

    with pytest.raises(PreviewError, match="took longer than 1 s"):
        preview(work, slow, Limits(timeout_s=1, memory_bytes=256 * 2**20))

    assert time.monotonic() - started < 2


def test_a_drawing_that_is_not_svg_or_not_xml_gets_a_reason(folders):
    work, _ = folders

    with pytest.raises(PreviewError, match="not well-formed XML"):
        preview(work, b'<svg xmlns="http://www.w3.org/2000/svg"><rect></svg>')
    with pytest.raises(PreviewError, match="not an SVG drawing"):
        preview(work, b"<html><body>hello</body></html>")
    with pytest.raises(PreviewError, match="states no size"):
        preview(work, b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')


def test_cleaning_keeps_the_drawing_and_drops_what_could_run_or_reach_out():
    document = drawing(
        '<defs><linearGradient id="g"><stop offset="0" stop-color="#fff"/></linearGradient>'
        '</defs><rect id="r" width="9" height="9" fill="url(#g)" onclick="x()"/>'
        '<use href="#r"/><image href="data:image/png;base64,iVBORw0KGgo="/>'
        '<image href="https://example.com/a.png"/><script>x()</script>'
        "<style>@import url(a.css); rect { fill: url(b.svg#g); stroke: url(#g) }</style>"
    )

    clean = svg.sanitised(document).decode()

    for kept in ('fill="url(#g)"', 'href="#r"', "data:image/png;base64", "stroke: url(#g)"):
        assert kept in clean
    for dropped in ("onclick", "example.com", "<script", "x()", "@import", "b.svg", "a.css"):
        assert dropped not in clean
