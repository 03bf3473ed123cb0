"""The image preview: long edge at most 1600 px, never enlarged, upright, in sRGB on white, with
the watermark tiled over all of it, as a JPEG without metadata; bombs and broken files refused."""

import io
import struct
import tempfile
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat

from handover.delivery.previews import Limits, PreviewError, Result
from handover.delivery.previews.image import make
from handover.delivery.previews.watermark import apply, watermark_png

LABEL = "PREVIEW · order 123 · buyer alice"
DEFAULT_LIMITS = Limits()


def preview(src: Path, tmp_path: Path, limits: Limits = DEFAULT_LIMITS) -> Result:
    out_dir = Path(tempfile.mkdtemp(dir=tmp_path))
    return make(src, out_dir, label=LABEL, name=src.name, limits=limits)


def saved(tmp_path: Path, image: Image.Image, name: str, **options) -> Path:
    path = tmp_path / name
    if path.suffix == ".png":
        options.setdefault("compress_level", 1)  # the tests' time goes to decoding, not this
    image.save(path, **options)
    return path


def photo(width: int, height: int) -> Image.Image:
    """Smooth colour with some grain and shapes: compresses like a photograph."""
    grain = Image.effect_noise((width // 4, height // 4), 50).resize((width, height))
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.merge("RGB", (gradient, grain, gradient.transpose(Image.Transpose.ROTATE_180)))
    draw = ImageDraw.Draw(image)
    for n in range(0, width, width // 12):
        draw.ellipse((n, n // 2, n + width // 10, n // 2 + width // 10), fill=(200, 40, n % 255))
    return image


def opened(result: Result) -> Image.Image:
    [part] = result.parts
    assert part.path.name == "preview.jpg" and part.content_type == "image/jpeg"
    image = Image.open(part.path)
    assert image.format == "JPEG"
    image.load()
    return image


def median_colour(image: Image.Image) -> tuple[int, ...]:
    return tuple(ImageStat.Stat(image).median)


def grey_range(image: Image.Image) -> tuple[int, int]:
    """The darkest and the lightest grey level present."""
    present = [level for level, count in enumerate(image.convert("L").histogram()) if count]
    return present[0], present[-1]


def watermarked_share(preview_image: Image.Image, plain: Image.Image, box) -> float:
    """Share of the pixels in ``box`` that differ clearly from the plain picture."""
    difference = ImageChops.difference(preview_image.crop(box), plain.crop(box)).convert("L")
    histogram = difference.histogram()
    return sum(histogram[40:]) / sum(histogram)


def test_a_24_megapixel_jpeg_becomes_a_1600_px_preview_smaller_than_the_original(tmp_path):
    src = saved(tmp_path, photo(6000, 4000), "photo.jpg", quality=90)

    result = preview(src, tmp_path)

    image = opened(result)
    assert image.size == (1600, 1067)
    assert result.info == {
        "width": 6000,
        "height": 4000,
        "format": "jpeg",
        "preview_width": 1600,
        "preview_height": 1067,
    }
    assert result.parts[0].path.stat().st_size < src.stat().st_size / 4


def test_a_tall_png_is_scaled_by_its_long_edge(tmp_path):
    src = saved(tmp_path, photo(600, 2400), "tall.png")

    image = opened(preview(src, tmp_path))

    assert image.size == (300, 1200)  # half of each side: a quarter of the pixels


def test_a_small_image_gets_a_quarter_of_its_pixels(tmp_path):
    src = saved(tmp_path, photo(300, 200), "small.png")

    result = preview(src, tmp_path)

    assert opened(result).size == (150, 100)
    assert result.info["preview_width"] == 150 and result.info["preview_height"] == 100


@pytest.mark.parametrize(
    ("width", "height"), [(1600, 1000), (1600, 1001), (999, 7), (3, 2), (2, 2), (6000, 4000)]
)
def test_a_preview_never_has_more_than_a_quarter_of_the_pixels(tmp_path, width, height):
    result = preview(
        saved(tmp_path, Image.new("RGB", (width, height), "teal"), "any.png"), tmp_path
    )

    shown = opened(result).size
    assert shown[0] * shown[1] <= width * height // 4
    assert max(shown) <= 1600


def test_a_picture_too_small_to_halve_has_no_preview(tmp_path):
    with pytest.raises(PreviewError, match="too small"):
        preview(saved(tmp_path, Image.new("RGB", (1, 40), "teal"), "line.png"), tmp_path)


def test_exif_orientation_turns_the_preview_upright(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: turn 90 degrees clockwise to show
    src = saved(tmp_path, photo(400, 200), "sideways.jpg", exif=exif)

    result = preview(src, tmp_path)

    assert opened(result).size == (100, 200)
    assert (result.info["width"], result.info["height"]) == (200, 400)


def test_the_preview_carries_no_metadata(tmp_path):
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"
    exif[0x8825] = {2: (52.0, 31.0, 0.0)}  # GPS latitude
    src = saved(tmp_path, photo(800, 600), "gps.jpg", exif=exif)

    image = opened(preview(src, tmp_path))

    assert not image.getexif()
    assert "icc_profile" not in image.info and "xmp" not in image.info


def test_transparency_is_flattened_on_white(tmp_path):
    picture = Image.new("RGBA", (800, 600), (0, 0, 0, 0))  # transparent black on the left
    picture.paste((200, 0, 0, 255), (400, 0, 800, 600))

    image = opened(preview(saved(tmp_path, picture, "alpha.png"), tmp_path))

    assert image.mode == "RGB"
    assert median_colour(image.crop((0, 0, 200, 300))) >= (245, 245, 245)
    red, green, blue = median_colour(image.crop((200, 0, 400, 300)))
    assert red > 170 and green < 40 and blue < 40


def test_cmyk_jpeg_is_converted_to_rgb(tmp_path):
    cyan = Image.new("CMYK", (800, 600), (255, 0, 0, 0))

    result = preview(saved(tmp_path, cyan, "cmyk.jpg", quality=90), tmp_path)

    image = opened(result)
    assert image.mode == "RGB"
    red, green, blue = median_colour(image)
    assert red < 90 and green > 130 and blue > 190
    assert result.info["format"] == "jpeg"


def test_16_bit_greyscale_tiff_keeps_its_tones(tmp_path):
    ramp = Image.linear_gradient("L").resize((800, 600)).point(lambda v: v * 257, "I")
    src = saved(tmp_path, ramp.convert("I;16"), "deep.tif")

    result = preview(src, tmp_path)

    image = opened(result)
    assert image.mode == "RGB"
    top, bottom = image.crop((0, 0, 400, 30)), image.crop((0, 270, 400, 300))
    assert median_colour(top)[0] < 40 and median_colour(bottom)[0] > 215
    assert result.info["format"] == "tiff"


def test_an_animated_gif_shows_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (300, 200), colour) for colour in ("red", "lime", "blue")]
    src = tmp_path / "anim.gif"
    frames[0].save(src, save_all=True, append_images=frames[1:], duration=100, loop=0)

    result = preview(src, tmp_path)

    red, green, blue = median_colour(opened(result))
    assert red > 200 and green < 50 and blue < 50
    assert result.info["format"] == "gif"


def test_webp_is_previewed_and_downscaled(tmp_path):
    src = saved(tmp_path, photo(2000, 1500), "picture.webp", quality=80)

    result = preview(src, tmp_path)

    assert opened(result).size == (1000, 750)
    assert result.info["format"] == "webp"


def test_avif_is_previewed(tmp_path):
    # Small and at the encoder's fastest: AV1 encoding is slow, decoding is what is tested.
    src = saved(tmp_path, photo(640, 480), "picture.avif", quality=60, speed=10)

    result = preview(src, tmp_path)

    assert opened(result).size == (320, 240)
    assert result.info["format"] == "avif"


@pytest.mark.parametrize("background", ["white", "black"])
def test_the_watermark_covers_the_whole_preview_semi_transparently(tmp_path, background):
    src = saved(tmp_path, Image.new("RGB", (3200, 2400), background), "plain.png")
    plain = Image.new("RGB", (1600, 1200), background)  # what a bare downscale would show

    image = opened(preview(src, tmp_path))

    assert image.size == plain.size
    shares = [
        watermarked_share(image, plain, (x, y, x + 400, y + 300))
        for x in range(0, 1600, 400)
        for y in range(0, 1200, 300)
    ]
    assert min(shares) > 0.02, "every part of the picture carries some of the label"
    assert max(shares) < 0.5, "the picture still shows between the letters"
    darkest, lightest = grey_range(image)
    if background == "white":
        assert 80 < darkest < 200  # a visible outline, but not an opaque one
    else:
        assert 80 < lightest < 200


def test_the_watermark_shows_on_a_photograph(tmp_path):
    picture = photo(1600, 1200)
    src = saved(tmp_path, picture, "photo.png")

    image = opened(preview(src, tmp_path))

    shares = [
        watermarked_share(image, picture, (x, y, x + 400, y + 300))
        for x in range(0, 1600, 400)
        for y in range(0, 1200, 300)
    ]
    assert min(shares) > 0.02


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def grey_png(width: int, height: int, rows: int) -> bytes:
    """A greyscale PNG whose header says width x height; ``rows`` rows of zeros are present."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    packer = zlib.compressobj(9)
    row = bytes(width + 1)  # filter byte + pixels
    data = b"".join(packer.compress(row) for _ in range(rows)) + packer.flush()
    return b"\x89PNG\r\n\x1a\n" + b"".join(
        [png_chunk(b"IHDR", header), png_chunk(b"IDAT", data), png_chunk(b"IEND", b"")]
    )


def test_a_decompression_bomb_is_refused_by_its_header(tmp_path):
    src = tmp_path / "bomb.png"
    src.write_bytes(grey_png(50_000, 50_000, rows=16))  # a few kB claiming 2500 megapixels

    with pytest.raises(PreviewError, match=r"50000 x 50000 pixels \(2500 megapixels\)"):
        preview(src, tmp_path)


def test_a_complete_bomb_is_refused_before_it_is_decoded(tmp_path):
    src = tmp_path / "bomb.png"
    src.write_bytes(grey_png(6000, 6000, rows=6000))  # 36 megapixels in about 40 kB
    assert src.stat().st_size < 100_000

    with pytest.raises(PreviewError, match=r"\(36 megapixels\); .* up to 30 megapixels"):
        preview(src, tmp_path, Limits(max_pixels=30_000_000))
    # Under a higher limit the same file is a valid picture: the refusal was the limit.
    allowed = preview(src, tmp_path, Limits(max_pixels=40_000_000))
    assert opened(allowed).size == (1600, 1600)


def jpeg_bytes(width: int = 1200, height: int = 900) -> bytes:
    out = io.BytesIO()
    photo(width, height).save(out, "JPEG", quality=90)
    return out.getvalue()


JPEG = jpeg_bytes()


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(JPEG[: len(JPEG) // 2], id="jpeg-cut-in-half"),
        pytest.param(JPEG[:2000], id="jpeg-cut-after-the-header"),
        pytest.param(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 64, id="jpeg-magic-then-garbage"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * 4000, id="png-magic-then-zeros"),
        pytest.param(grey_png(400, 300, rows=100), id="png-missing-rows"),
        pytest.param(b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x01" * 500, id="webp-garbage"),
        pytest.param(b"", id="empty"),
    ],
)
def test_a_broken_file_gets_a_reason_not_a_crash_or_a_hang(tmp_path, content):
    src = tmp_path / "broken"
    src.write_bytes(content)

    with pytest.raises(PreviewError) as refused:
        preview(src, tmp_path, Limits(timeout_s=20))

    assert "decoder crashed" not in str(refused.value)
    assert "took longer" not in str(refused.value)
    assert str(src) not in str(refused.value)  # no server paths in what people read


@pytest.mark.parametrize(
    ("name", "content"),
    [
        (
            "drawing.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg" width="99" height="99">'
            b'<rect width="99" height="99"/></svg>',
        ),
        ("table.csv", b"1,2,3\n4,5,6\n"),
        ("matrix.mat", b"2 2\n1 2\n3 4\n"),
    ],
)
def test_formats_outside_the_allowlist_are_refused(tmp_path, name, content):
    src = tmp_path / name
    src.write_bytes(content)

    with pytest.raises(PreviewError, match="not an image format that previews are made for"):
        preview(src, tmp_path)


def test_the_watermark_as_a_png_for_video_is_the_same_layer(tmp_path):
    path = tmp_path / "mark.png"

    watermark_png(LABEL, 854, 480, path)

    mark = Image.open(path)
    assert (mark.format, mark.mode, mark.size) == ("PNG", "RGBA", (854, 480))
    alpha = mark.getchannel("A").histogram()
    assert alpha[0] / sum(alpha) > 0.5  # mostly clear
    assert sum(alpha[116:]) == 0  # at most 45 % opaque
    assert sum(alpha[89:]) / sum(alpha) > 0.02  # and the letters at 35 % or more
    black = Image.new("RGB", (854, 480), "black")
    black.paste(mark, (0, 0), mark)
    on_black = Image.new("RGB", (854, 480), "black")
    apply(on_black, LABEL)
    assert ImageChops.difference(black, on_black).getbbox() is None
