"""How large a picture's preview is: never more than a quarter of the original's pixels and
1600 px at most on its long side, for every size (Hypothesis), as rendered, and as the order page
says it."""

import tempfile
from pathlib import Path

import pytest
from django.urls import reverse
from hypothesis import example, given
from hypothesis import strategies as st
from PIL import Image

from handover.delivery.previews import Limits, PreviewError, share
from handover.delivery.previews.image import make, preview_size
from handover.testing.files import upload

EDGE = Limits().image_edge
TIMES = "\N{MULTIPLICATION SIGN}"
sides = st.integers(min_value=2, max_value=200_000)


@given(width=sides, height=sides)
@example(width=1600, height=1000)
@example(width=2, height=2)
@example(width=3, height=3)
@example(width=999, height=7)
@example(width=3201, height=2)
@example(width=200_000, height=2)
def test_a_preview_has_a_quarter_of_the_pixels_at_most_and_1600_px_on_its_long_side(width, height):
    shown_width, shown_height = preview_size(width, height, EDGE)

    assert 1 <= shown_width <= width // 2 + 1 and 1 <= shown_height <= height // 2 + 1
    assert shown_width * shown_height <= share(width * height)
    assert max(shown_width, shown_height) <= EDGE


@given(width=sides, height=sides)
def test_the_preview_keeps_the_pictures_shape_within_a_pixel(width, height):
    shown_width, shown_height = preview_size(width, height, EDGE)
    scale = min(0.5, EDGE / max(width, height))

    assert abs(shown_width - width * scale) < 1 or shown_width == 1
    assert abs(shown_height - height * scale) < 1 or shown_height == 1


@given(side=st.integers(min_value=1, max_value=200_000))
def test_a_picture_one_pixel_wide_or_tall_has_no_preview(side):
    for width, height in ((1, side), (side, 1)):
        with pytest.raises(PreviewError, match="too small to show a reduced preview"):
            preview_size(width, height, EDGE)


@pytest.mark.parametrize(
    ("size", "shown"),
    [((1600, 1000), (800, 500)), ((2, 2), (1, 1)), ((3, 5), (1, 2)), ((4000, 3), (1600, 1))],
)
def test_the_rendered_preview_has_exactly_the_size_the_rule_gives(tmp_path, size, shown):
    src = tmp_path / "picture.png"
    Image.new("RGB", size, "teal").save(src, compress_level=1)

    result = make(src, Path(tempfile.mkdtemp(dir=tmp_path)), label="P", name="p", limits=Limits())

    with Image.open(result.parts[0].path) as preview:
        assert preview.size == shown == preview_size(size[0], size[1], EDGE)
    assert (result.info["preview_width"], result.info["preview_height"]) == shown


def test_the_order_page_says_how_large_the_preview_is_against_the_original(
    delivered, order_id, client, buyer, tmp_path
):
    picture = Image.new("RGB", (1600, 1000), "teal")
    path = tmp_path / "poster.png"
    picture.save(path, compress_level=1)
    drawing = b'<svg xmlns="http://www.w3.org/2000/svg" width="300" height="150"/>'
    delivered(upload(path.read_bytes(), "poster.png"), upload(drawing, "logo.svg"))
    client.force_login(buyer)

    page = client.get(reverse("web:order", args=[order_id])).content.decode()

    picture_caption = "Preview: 800 {x} 500 of 1600 {x} 1000 px (PNG)"
    drawing_caption = (
        "Preview: 800 {x} 400 px, drawn from the SVG drawing (it declares 300 {x} 150)"
    )
    assert picture_caption.format(x=TIMES) in page
    assert drawing_caption.format(x=TIMES) in page
