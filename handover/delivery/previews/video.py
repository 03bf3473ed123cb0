"""Video preview, with the watermark burnt in, and a poster frame: either the first quarter
(``Limits.video_seconds`` at most) at 480p, or, with ``Limits.video_whole``, every second at a
quarter of the frame's pixels at most (240p at most) and a low bit rate."""

import re
import tempfile
import time
from pathlib import Path

from handover.delivery.previews import Limits, Part, PreviewError, Result, share_seconds
from handover.delivery.previews.audio import (
    Stream,
    audio_format,
    ffmpeg_input,
    ffmpeg_run,
    media_duration,
    media_probe,
    share_option,
)
from handover.delivery.previews.watermark import watermark_png

# Demuxers ffmpeg may use for an uploaded video; playlists, concat scripts and image sequences
# are not among them (see audio.AUDIO_FORMATS).
VIDEO_FORMATS = "mov,matroska,avi,mpeg,mpegts,flv,asf,ogg,mxf"

CRF = "28"
WHOLE_CRF = "33"
WHOLE_MAXRATE = "300k"  # 240p at about 2 MB a minute: enough to judge the cut, not to reuse it
MAX_FPS = 25  # a preview needs no more; fewer frames to scale, mark and encode
MAX_ASPECT = 4  # a panorama is fitted into 4:1, so its width stays bounded too
# Two cores are shared by all workers: two decoder and two encoder threads keep both busy
# without x264 starting a pool sized for a bigger machine.
THREADS = "2"
POSTER_AT_S = 1.0
SKIP_DEBLOCK_SHRINK = 2.0


def make(src: Path, out_dir: Path, *, label: str, name: str, limits: Limits) -> Result:
    """A watermarked H.264 clip (of the first quarter at 480p, or of the whole video small)
    and a poster JPEG."""
    deadline = time.monotonic() + limits.timeout_s
    probe = media_probe(src, formats=VIDEO_FORMATS, limits=limits, deadline=deadline)
    stream = probe.first("video")
    if stream is None:
        raise PreviewError("The file has no video track.")
    width, height = displayed_size(stream)
    if width * height > limits.max_pixels:
        raise PreviewError("The video's frames are too large to preview.")
    duration = media_duration(
        src, probe, stream="0:V:0", formats=VIDEO_FORMATS, limits=limits, deadline=deadline
    )
    if duration is None:
        raise PreviewError("The video's length cannot be read, so no share of it is shown.")
    if limits.video_whole:
        seconds = None
        clip_width, clip_height = whole_size(width, height, limits.video_whole_height)
    else:
        seconds = share_seconds(duration, limits.video_seconds)
        clip_width, clip_height = clip_size(width, height, limits.video_height)
    sound = probe.first("audio")
    mono = sound is not None and audio_format(sound)[1] == 1
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".work-") as work:
        clip, poster, mark = Path(work, "clip.mp4"), Path(work, "poster.jpg"), Path(work, "wm.png")
        watermark_png(label, clip_width, clip_height, mark)
        filters = _filters(stream, clip_width, clip_height)
        _encode_clip(
            src,
            mark,
            clip,
            filters=filters,
            seconds=seconds,
            mono=mono,
            shrink=height / clip_height,
            limits=limits,
            deadline=deadline,
        )
        made = media_probe(clip, formats="mov", limits=limits, deadline=deadline)
        clip_s = made.duration_s or 0.0
        poster_at = min(POSTER_AT_S, clip_s / 3)
        _grab_poster(clip, poster, at_s=poster_at, limits=limits, deadline=deadline)
        clip.replace(out_dir / clip.name)
        poster.replace(out_dir / poster.name)
    info = {
        "duration_s": None if duration is None else round(duration, 2),
        "width": width,
        "height": height,
        "clip_s": round(clip_s, 2),
        "clip_width": clip_width,
        "clip_height": clip_height,
    }
    return Result(
        parts=[
            Part(path=out_dir / clip.name, content_type="video/mp4"),
            Part(path=out_dir / poster.name, content_type="image/jpeg"),
        ],
        info={**info, "whole": True} if limits.video_whole else info,
    )


def displayed_size(stream: Stream) -> tuple[int, int]:
    """Width and height as the video is shown: pixel aspect applied, turned upright."""
    # "yuv420p(tv, bt709), 1920x1080 [SAR 1:1 DAR 16:9]"; codec tags such as "0x31637661" are
    # not sizes, hence no leading zero and a separator on both sides.
    size = re.search(r"[ ,]([1-9]\d{0,5})x([1-9]\d{0,5})(?=[ ,\[]|$)", stream.description)
    if not size:
        raise PreviewError("The video's frame size could not be read (damaged or unsupported).")
    width, height = int(size[1]), int(size[2])
    if sar := re.search(r"\[SAR ([1-9]\d*):([1-9]\d*) DAR", stream.description):
        width = max(1, round(width * int(sar[1]) / int(sar[2])))
    if round(stream.rotation) % 180 == 90:
        width, height = height, width
    return width, height


def clip_size(width: int, height: int, max_height: int) -> tuple[int, int]:
    """Fitted into ``max_height`` lines, never enlarged, aspect kept, both sides even (x264)."""
    scale = min(1.0, max_height / height, MAX_ASPECT * max_height / width)
    return _even(width * scale), _even(height * scale)


def whole_size(width: int, height: int, max_height: int) -> tuple[int, int]:
    """Half the width and height at most (a quarter of a frame's pixels), fitted into
    ``max_height`` lines, aspect kept, both sides even."""
    scale = min(0.5, max_height / height, MAX_ASPECT * max_height / width)
    return _even_down(width * scale), _even_down(height * scale)


def _even_down(length: float) -> int:
    return max(2, int(length) // 2 * 2)


def _even(length: float) -> int:
    return max(2, round(length / 2) * 2)


def _encode_clip(
    src: Path,
    mark: Path,
    dest: Path,
    *,
    filters: str,
    seconds: float | None,
    mono: bool,
    shrink: float,
    limits: Limits,
    deadline: float,
) -> None:
    decoding = ["-threads", THREADS, *([] if seconds is None else share_option(seconds))]
    if shrink >= SKIP_DEBLOCK_SHRINK:
        # The deblocking filter is about a fifth of H.264/HEVC decoding; the blocks it smooths
        # are averaged away when at least two source lines make one preview line.
        decoding += ["-skip_loop_filter", "all"]
    watermark = ["-f", "png_pipe", *ffmpeg_input(mark, "png_pipe")]
    inputs = [*decoding, *ffmpeg_input(src, VIDEO_FORMATS), *watermark]
    ffmpeg_run(
        [
            *inputs,
            "-filter_complex",
            filters,
            *_outputs(mono, small=seconds is None),
            f"file:{dest}",
        ],
        limits=limits,
        deadline=deadline,
        failure="The video could not be decoded (truncated or damaged).",
    )


def _filters(stream: Stream, width: int, height: int) -> str:
    # ffmpeg turns rotated video upright before the graph, so the forced size matches the frames.
    # Area averaging is the right filter for shrinking, and here the cheapest (a third of bicubic).
    steps = [f"scale={width}:{height}:flags=area", "setsar=1"]
    fps = re.search(r", (\d+(?:\.\d+)?) fps", stream.description)
    if fps and float(fps[1]) > MAX_FPS:
        steps.insert(0, f"fps={MAX_FPS}")
    return f"[0:V:0]{','.join(steps)}[v];[v][1:v]overlay=0:0,format=yuv420p[out]"


def _outputs(mono: bool, *, small: bool) -> list[str]:
    video = ["-c:v", "libx264", "-preset", "superfast", "-threads", THREADS]
    if small:
        rate = ["-crf", WHOLE_CRF, "-maxrate", WHOLE_MAXRATE, "-bufsize", "600k"]
        audio = ["-c:a", "aac", "-b:a", "48k", "-ac", "1"]
    else:
        rate = ["-crf", CRF]
        audio = ["-c:a", "aac", "-b:a", "64k", "-ac", "1" if mono else "2"]
    # Tags of the original (names, places, devices) stay out of the preview.
    container = ["-map_metadata", "-1", "-map_chapters", "-1", "-movflags", "+faststart"]
    return ["-map", "[out]", "-map", "0:a:0?", *video, *rate, *audio, *container, "-f", "mp4"]


def _grab_poster(clip: Path, dest: Path, *, at_s: float, limits: Limits, deadline: float) -> None:
    # From our own clip, so the poster carries the watermark and costs one 480p frame to decode.
    frame = ["-frames:v", "1", "-q:v", "3", "-f", "image2", "-update", "1"]
    ffmpeg_run(
        ["-ss", f"{at_s:.3f}", *ffmpeg_input(clip, "mov"), *frame, f"file:{dest}"],
        limits=limits,
        deadline=deadline,
        failure="The poster frame could not be made.",
    )
