"""The video preview: a 480p clip of the first quarter (20 seconds at most), watermarked."""

import struct
import subprocess
from pathlib import Path

import imageio_ffmpeg  # type: ignore[import-untyped]
import pytest
from PIL import Image, ImageChops

from handover.delivery.previews import Limits, PreviewError
from handover.delivery.previews.video import make

LABEL = "PREVIEW · order 123 · buyer alice"


def ffmpeg(*args: str | Path) -> bytes:
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error"]
    return subprocess.run([*command, *map(str, args)], check=True, capture_output=True).stdout


def generated(path: Path, size: str, seconds: float, *output: str, rate: int = 10) -> Path:
    """A test-pattern video with a tone, made quickly (ultrafast, so the tests stay fast)."""
    picture = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]
    sound = ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    codec = ["-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast"]
    ffmpeg(*picture, *sound, *codec, *output, "-y", path)
    return path


def frame(src: Path, width: int, height: int, *, at_s: float, scale: bool = False) -> Image.Image:
    """One decoded frame, optionally scaled to the size plainly (no watermark)."""
    filters = ["-vf", f"scale={width}:{height}"] if scale else []
    raw_rgb = ["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    return Image.frombytes(
        "RGB", (width, height), ffmpeg("-ss", str(at_s), "-i", src, *filters, *raw_rgb)
    )


def changed_share(a: Image.Image, b: Image.Image, box: tuple[int, int, int, int]) -> float:
    """Share of the pixels in ``box`` that differ clearly (more than compression does)."""
    counts = ImageChops.difference(a, b).convert("L").crop(box).histogram()
    return sum(counts[40:]) / sum(counts)


def preview(src: Path, out_dir: Path):
    out_dir.mkdir()
    return make(src, out_dir, label=LABEL, name="film.mp4", limits=Limits())


def test_1080p_becomes_a_480p_clip_with_the_watermark_across_the_frame(tmp_path):
    src = generated(tmp_path / "film.mp4", "1920x1080", 8, "-crf", "18")

    result = preview(src, tmp_path / "out")

    clip, poster = tmp_path / "out" / "clip.mp4", tmp_path / "out" / "poster.jpg"
    assert [(p.path, p.content_type) for p in result.parts] == [
        (clip, "video/mp4"),
        (poster, "image/jpeg"),
    ]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["clip.mp4", "poster.jpg"]
    assert result.info == {
        "duration_s": 8.0,
        "width": 1920,
        "height": 1080,
        "clip_s": pytest.approx(2.0, abs=0.1),
        "clip_width": 854,
        "clip_height": 480,
    }
    marked = frame(clip, 854, 480, at_s=1.0)
    plain = frame(src, 854, 480, at_s=1.0, scale=True)
    # In every ninth of the frame, not only in one corner that could be cropped away.
    for row in range(3):
        for column in range(3):
            box = (column * 284, row * 160, (column + 1) * 284, (row + 1) * 160)
            assert changed_share(marked, plain, box) > 0.05, box
    with Image.open(poster) as picture:
        assert (picture.format, picture.size) == ("JPEG", (854, 480))


def test_the_clip_stops_at_20_seconds(tmp_path):
    src = generated(tmp_path / "long.mkv", "160x90", 100, rate=5)

    result = preview(src, tmp_path / "out")

    assert result.info["duration_s"] == 100.0
    assert result.info["clip_s"] == pytest.approx(20.0, abs=0.25)


def test_the_clip_of_a_short_video_is_its_first_quarter(tmp_path):
    src = generated(tmp_path / "short.mkv", "160x90", 24, rate=5)

    result = preview(src, tmp_path / "out")

    assert result.info["duration_s"] == 24.0
    assert result.info["clip_s"] == pytest.approx(6.0, abs=0.25)


def test_a_small_video_is_not_enlarged(tmp_path):
    src = generated(tmp_path / "small.mp4", "640x360", 4)

    result = preview(src, tmp_path / "out")

    assert (result.info["clip_width"], result.info["clip_height"]) == (640, 360)
    assert frame(result.parts[0].path, 640, 360, at_s=0.5).size == (640, 360)


def test_a_phone_video_is_turned_upright(tmp_path):
    landscape = generated(tmp_path / "raw.mp4", "640x360", 1)
    src = tmp_path / "phone.mp4"
    ffmpeg("-display_rotation", "90", "-i", landscape, "-c", "copy", "-y", src)

    result = preview(src, tmp_path / "out")

    assert (result.info["width"], result.info["height"]) == (360, 640)
    assert (result.info["clip_width"], result.info["clip_height"]) == (270, 480)


def matroska_lasting_no_time(path: Path) -> None:
    """Overwrite the Duration element of a Matroska/WebM file (ID 44 89, an 8-byte float)."""
    data = bytearray(path.read_bytes())
    at = data.index(b"\x44\x89\x88")
    data[at + 3 : at + 11] = struct.pack(">d", 0.001)  # a microsecond (0 means "unknown")
    path.write_bytes(bytes(data))


def test_a_video_whose_header_says_it_lasts_no_time_is_measured_not_shown_whole(tmp_path):
    # ffmpeg reads "-t 0" as no limit: taken at its word, the header gave the whole film away.
    src = generated(tmp_path / "film.webm", "160x90", 8, "-c:v", "libvpx", "-an")
    matroska_lasting_no_time(src)

    result = preview(src, tmp_path / "out")

    assert result.info["duration_s"] == pytest.approx(8.0, abs=0.25)
    assert result.info["clip_s"] == pytest.approx(2.0, abs=0.25)


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_broken_video_is_refused_and_leaves_nothing(tmp_path, damage):
    whole = generated(tmp_path / "film.mp4", "320x180", 2).read_bytes()
    broken = tmp_path / "broken"
    # The index of an .mp4 is written last: half the file has frames but no way to find them.
    broken.write_bytes(whole[: len(whole) // 2] if damage == "truncated" else b"\x00\x93" * 5000)

    with pytest.raises(PreviewError, match="could not be"):
        preview(broken, tmp_path / "out")

    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize(
    "script",
    [
        "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:2,\n{target}\n#EXT-X-ENDLIST\n",
        "ffconcat version 1.0\nfile '{target}'\n",
    ],
    ids=["hls-playlist", "ffconcat"],
)
def test_a_playlist_cannot_make_ffmpeg_read_another_file(tmp_path, script):
    generated(tmp_path / "elsewhere.ts", "320x180", 2, "-f", "mpegts")
    # Without the list of allowed formats ffmpeg opens both and previews elsewhere.ts.
    crafted = tmp_path / "crafted.m3u8"
    crafted.write_text(script.format(target="elsewhere.ts"))

    with pytest.raises(PreviewError):
        preview(crafted, tmp_path / "out")

    assert list((tmp_path / "out").iterdir()) == []
