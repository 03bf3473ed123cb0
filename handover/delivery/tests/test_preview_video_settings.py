"""The video preview's two settings: HANDOVER_PREVIEW_CLIP (the longest clip) and
HANDOVER_PREVIEW_VIDEO=clip|whole (the first quarter at 480p, or every second small), read by
the worker and told truthfully on the order page. Small generated videos keep it fast."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from PIL import Image

from handover.delivery.models import DeliveryFile
from handover.delivery.previewing import preview_limits
from handover.delivery.previews import Limits
from handover.delivery.previews.video import make, whole_size
from handover.delivery.tests.test_previews_video import changed_share, frame, generated
from handover.lib.env import env_choice, env_duration
from handover.testing.files import upload

LABEL = "PREVIEW · order 5 · buyer alice"
TIMES = "\N{MULTIPLICATION SIGN}"


def preview(src: Path, out_dir: Path, limits: Limits):
    out_dir.mkdir()
    return make(src, out_dir, label=LABEL, name="film.mp4", limits=limits)


def test_the_clip_is_the_first_quarter_cut_to_the_set_length(tmp_path):
    src = generated(tmp_path / "film.mp4", "320x240", 8)

    result = preview(src, tmp_path / "out", Limits(video_seconds=1))

    assert result.info["clip_s"] == pytest.approx(1.0, abs=0.15)  # not the quarter's 2 s
    assert (result.info["clip_width"], result.info["clip_height"]) == (320, 240)
    assert "whole" not in result.info


def test_the_whole_video_is_shown_at_a_quarter_of_its_pixels_with_the_watermark(tmp_path):
    src = generated(tmp_path / "film.mp4", "320x240", 6)

    result = preview(src, tmp_path / "out", Limits(video_whole=True, video_seconds=1))

    assert result.info == {
        "duration_s": 6.0,
        "width": 320,
        "height": 240,
        "clip_s": pytest.approx(6.0, abs=0.15),  # every second, whatever the clip length
        "clip_width": 160,
        "clip_height": 120,
        "whole": True,
    }
    clip = tmp_path / "out" / "clip.mp4"
    marked = frame(clip, 160, 120, at_s=4.5)
    plain = frame(src, 160, 120, at_s=4.5, scale=True)
    assert changed_share(marked, plain, (0, 0, 160, 120)) > 0.05
    with Image.open(tmp_path / "out" / "poster.jpg") as poster:
        assert poster.size == (160, 120)


def test_the_whole_video_is_at_most_240_lines_at_a_low_bit_rate(tmp_path):
    src = generated(tmp_path / "film.mp4", "1280x720", 2, "-crf", "10", rate=25)

    result = preview(src, tmp_path / "out", Limits(video_whole=True))

    assert (result.info["clip_width"], result.info["clip_height"]) == (426, 240)
    kbit_s = (tmp_path / "out" / "clip.mp4").stat().st_size * 8 / 1000 / result.info["clip_s"]
    assert kbit_s < 450, "300 kbit/s of picture and 48 of sound, with the container's share"


@pytest.mark.parametrize(
    ("width", "height"), [(320, 240), (1920, 1080), (1080, 1920), (7680, 100), (6, 4), (2, 2)]
)
def test_a_whole_video_frame_never_has_more_than_a_quarter_of_the_pixels(width, height):
    shown_width, shown_height = whole_size(width, height, 240)

    assert shown_width % 2 == 0 and shown_height % 2 == 0  # x264 wants even sides
    assert shown_height <= 240
    if min(width, height) >= 4:
        assert shown_width * shown_height <= width * height // 4


def test_the_worker_reads_both_settings(settings):
    settings.HANDOVER_PREVIEW_CLIP = timedelta(seconds=45)
    settings.HANDOVER_PREVIEW_VIDEO = "whole"

    limits = preview_limits()

    assert (limits.video_seconds, limits.video_whole) == (45.0, True)


def test_a_wrong_setting_stops_start_up(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("HANDOVER_PREVIEW_VIDEO", "half")
    monkeypatch.setenv("HANDOVER_PREVIEW_CLIP", "0s")
    with pytest.raises(ImproperlyConfigured, match="one of clip, whole"):
        env_choice("HANDOVER_PREVIEW_VIDEO", "clip", {"clip", "whole"})
    with pytest.raises(ImproperlyConfigured, match="above zero"):
        env_duration("HANDOVER_PREVIEW_CLIP", "20s")


def test_the_order_page_says_the_whole_video_is_shown_small(
    settings, delivered, order_id, client, buyer, tmp_path
):
    settings.HANDOVER_PREVIEW_VIDEO = "whole"
    src = generated(tmp_path / "film.mp4", "320x240", 2)
    [file] = delivered(upload(src.read_bytes(), "film.mp4"))["files"]
    assert DeliveryFile.objects.get(pk=file["id"]).preview_state == "ready"
    client.force_login(buyer)

    page = client.get(reverse("web:order", args=[order_id])).content.decode()

    assert f"The whole video, small (160 {TIMES} 120), with a watermark" in page
    assert f"at 320 {TIMES} 240." in page
