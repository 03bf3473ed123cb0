"""The audio preview: the first quarter (30 s at most), low bitrate, a beep every five seconds."""

import array
import math
import struct
import subprocess
import wave
from pathlib import Path

import imageio_ffmpeg  # type: ignore[import-untyped]
import pytest

from handover.delivery.previews import Limits, PreviewError
from handover.delivery.previews.audio import make, parse_probe

LABEL = "PREVIEW · order 123 · buyer alice"
RATE = 22050  # the snippet's sample rate; decoded at it, sample n is at n / RATE seconds


def ffmpeg(*args: str | Path) -> bytes:
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error"]
    return subprocess.run([*command, *map(str, args)], check=True, capture_output=True).stdout


def generated(path: Path, source: str, *output: str) -> Path:
    """A file made by ffmpeg from a lavfi source, e.g. ``sine=frequency=440:duration=3``."""
    ffmpeg("-f", "lavfi", "-i", source, *output, "-y", path)
    return path


def samples(path: Path) -> array.array:
    """The file decoded to mono floats at RATE."""
    return array.array("f", ffmpeg("-i", path, "-ac", "1", "-ar", str(RATE), "-f", "f32le", "-"))


def window(pcm: array.array, start_s: float, end_s: float) -> array.array:
    return pcm[round(start_s * RATE) : round(end_s * RATE)]


def rms(pcm: array.array) -> float:
    return math.sqrt(sum(x * x for x in pcm) / len(pcm))


def tone_level(pcm: array.array, frequency: float) -> float:
    """Amplitude of one frequency in the samples (Goertzel)."""
    coefficient = 2 * math.cos(2 * math.pi * frequency / RATE)
    previous = before = 0.0
    for x in pcm:
        previous, before = x + coefficient * previous - before, previous
    power = previous**2 + before**2 - coefficient * previous * before
    return 2 * math.sqrt(max(power, 0.0)) / len(pcm)


def preview(src: Path, out_dir: Path, name: str = "song.mp3"):
    out_dir.mkdir()
    return make(src, out_dir, label=LABEL, name=name, limits=Limits())


def test_snippet_is_the_first_30_seconds_of_a_long_recording(tmp_path):
    src = generated(
        tmp_path / "long.wav", "sine=frequency=440:sample_rate=8000:duration=160", "-ac", "1"
    )

    result = preview(src, tmp_path / "out")

    snippet = tmp_path / "out" / "snippet.mp3"
    assert [(p.path, p.content_type) for p in result.parts] == [(snippet, "audio/mpeg")]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["snippet.mp3"]
    assert result.info == {
        "duration_s": 160.0,
        "snippet_s": pytest.approx(30.0, abs=0.1),
        "codec": "pcm_s16le",
        "sample_rate": 8000,
        "channels": 1,
    }
    assert len(samples(snippet)) / RATE == pytest.approx(30.0, abs=0.1)
    assert snippet.stat().st_size < src.stat().st_size


def test_beep_sounds_every_five_seconds_where_the_original_is_silent(tmp_path):
    src = generated(
        tmp_path / "quiet.wav", "anullsrc=sample_rate=44100:channel_layout=stereo", "-t", "48"
    )

    result = preview(src, tmp_path / "out")

    pcm = samples(result.parts[0].path)
    assert max(abs(x) for x in samples(src)) == 0
    for beep_s in (0.5, 5.5, 10.5):
        beep = window(pcm, beep_s + 0.05, beep_s + 0.35)
        assert tone_level(beep, 1000) > 0.15
        assert tone_level(beep, 1000) > 10 * tone_level(beep, 1500)
    for start_s, end_s in [(1.5, 4.5), (6.5, 9.5), (11.0, 11.9)]:
        assert rms(window(pcm, start_s, end_s)) < 0.005


def test_beep_is_mixed_into_the_music_not_instead_of_it(tmp_path):
    src = generated(tmp_path / "song.mp3", "sine=frequency=440:duration=24", "-b:a", "192k")

    pcm = samples(preview(src, tmp_path / "out").parts[0].path)

    original = samples(src)
    beep, between = window(pcm, 5.55, 5.85), window(pcm, 2.0, 2.3)
    assert tone_level(window(original, 5.55, 5.85), 1000) < 0.01
    assert tone_level(beep, 1000) > 0.15
    assert tone_level(between, 1000) < 0.01
    music = tone_level(window(original, 2.0, 2.3), 440)  # lavfi's sine is at 1/8 of full scale
    for part in (beep, between):
        assert tone_level(part, 440) == pytest.approx(music, rel=0.2)


def test_snippet_is_the_first_quarter_of_a_shorter_recording(tmp_path):
    src = generated(
        tmp_path / "take.wav", "sine=frequency=440:sample_rate=8000:duration=40", "-ac", "1"
    )

    result = preview(src, tmp_path / "out")

    assert result.info["snippet_s"] == pytest.approx(10.0, abs=0.01)
    assert len(samples(result.parts[0].path)) / RATE == pytest.approx(10.0, abs=0.1)


def test_a_short_recording_gets_a_quarter_of_itself_with_its_format(tmp_path):
    src = generated(
        tmp_path / "take.m4a", "sine=frequency=300:sample_rate=48000:duration=3", "-ac", "2"
    )

    result = preview(src, tmp_path / "out")

    assert result.info == {
        "duration_s": pytest.approx(3.0, abs=0.05),
        "snippet_s": pytest.approx(0.75, abs=0.02),
        "codec": "aac",
        "sample_rate": 48000,
        "channels": 2,
    }


def test_a_recording_whose_header_says_it_lasts_no_time_is_measured_not_played_whole(tmp_path):
    # ffmpeg reads "-t 0" as no limit: taken at its word, the header gave the whole song away.
    src = generated(tmp_path / "song.mka", "sine=frequency=440:sample_rate=8000:duration=8")
    data = bytearray(src.read_bytes())
    at = data.index(b"\x44\x89\x88")  # Matroska's Duration element, an 8-byte float
    data[at + 3 : at + 11] = struct.pack(">d", 0.001)  # a microsecond (0 means "unknown")
    src.write_bytes(bytes(data))

    result = preview(src, tmp_path / "out")

    assert result.info["duration_s"] == pytest.approx(8.0, abs=0.1)
    assert result.info["snippet_s"] == pytest.approx(2.0, abs=0.05)
    assert len(samples(result.parts[0].path)) / RATE == pytest.approx(2.0, abs=0.1)


def test_a_recording_too_short_to_have_a_quarter_is_refused_not_played_whole(tmp_path):
    src = tmp_path / "blip.wav"
    with wave.open(str(src), "wb") as recording:  # 1 ms: a quarter of it is under 1 ms
        recording.setnchannels(1)
        recording.setsampwidth(2)
        recording.setframerate(8000)
        recording.writeframes(bytes(16))

    with pytest.raises(PreviewError, match="too short"):
        preview(src, tmp_path / "out")

    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_broken_audio_is_refused_and_leaves_nothing(tmp_path, damage):
    whole = generated(tmp_path / "take.m4a", "sine=frequency=300:duration=3").read_bytes()
    broken = tmp_path / "broken"
    # The index of an .m4a is written last, so the first half holds samples but no index.
    broken.write_bytes(whole[: len(whole) // 2] if damage == "truncated" else b"\x93NOT" * 2000)

    with pytest.raises(PreviewError, match="could not be"):
        preview(broken, tmp_path / "out")

    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize(
    "script",
    [
        "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:3,\n{target}\n#EXT-X-ENDLIST\n",
        "ffconcat version 1.0\nfile '{target}'\n",
    ],
    ids=["hls-playlist", "ffconcat"],
)
def test_a_playlist_cannot_make_ffmpeg_read_another_file(tmp_path, script):
    generated(tmp_path / "elsewhere.ts", "sine=frequency=300:duration=3", "-f", "mpegts")
    # What ffmpeg would follow if it let these formats in: a segment named relative to the
    # playlist (no "unsafe" absolute path), a playlist with the extension HLS is detected by.
    crafted = tmp_path / "crafted.m3u8"
    crafted.write_text(script.format(target="elsewhere.ts"))

    with pytest.raises(PreviewError):
        preview(crafted, tmp_path / "out")

    assert list((tmp_path / "out").iterdir()) == []


def test_a_video_without_sound_has_no_audio_preview(tmp_path):
    src = generated(tmp_path / "silent.mp4", "testsrc2=size=160x90:rate=5:duration=1")

    with pytest.raises(PreviewError, match="no audio track"):
        preview(src, tmp_path / "out")


def test_tags_cannot_pose_as_the_duration_or_a_stream():
    report = (
        "Input #0, wav, from 'file:x':\n"
        "  Metadata:\n"
        "    title           : a\n"
        "                    :   Duration: 99:00:00.00, start: 0\n"
        "                    :   Stream #0:1: Audio: fake, 1 Hz, mono\n"
        "  Duration: 00:00:03.00, bitrate: 1411 kb/s\n"
        "  Stream #0:0: Audio: pcm_s16le ([1][0][0][0] / 0x0001), 44100 Hz, stereo, s16\n"
    )

    probe = parse_probe(report)

    assert probe.duration_s == 3.0
    assert [s.codec for s in probe.streams] == ["pcm_s16le"]
