"""Audio preview: the first quarter (30 s at most) at a low bitrate, with an audible watermark tone.

This module also holds the small ffmpeg layer the video preview shares: running ffmpeg bounded
in time and memory, and reading what ``ffmpeg -i`` says about a file (there is no ffprobe in the
imageio-ffmpeg wheel)."""

import dataclasses
import functools
import logging
import math
import re
import resource
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import imageio_ffmpeg  # type: ignore[import-untyped]

from handover.delivery.previews import Limits, Part, PreviewError, Result, share_seconds

logger = logging.getLogger(__name__)

# Demuxers ffmpeg may use for an uploaded audio file. Anything else (playlists such as hls,
# concat scripts, image sequences, tty text) is refused before it can open a second file.
AUDIO_FORMATS = "mp3,wav,w64,flac,ogg,mov,aac,aiff,matroska,asf,caf,au,amr,wv,ape,tta,dsf"

SAMPLE_RATE = 22050
BITRATE = "64k"
# One period of the watermark: a 1 kHz beep of 0.4 s starting at 0.5 s, at -12 dBFS, with 20 ms
# ramps so it does not click.
BEEP_PERIOD_S = 5
BEEP = "0.25*sin(2*PI*1000*t)*clip(min(t-0.5,0.9-t)/0.02,0,1)"

# glibc gives each thread its own 64 MiB malloc arena; ffmpeg runs a dozen threads, which
# exhausts a 1 GiB address-space limit before any frame is decoded. Two arenas are plenty.
# Nothing else from our environment (database URLs, keys) is handed to a parser of hostile input.
CHILD_ENV = {"MALLOC_ARENA_MAX": "2", "LC_ALL": "C"}

TOO_SLOW = "Making the preview took too long."
TOO_BIG = "The file needs too much memory to preview."
CRASHED = "The decoder crashed on this file."
# How ffmpeg and its libraries say that the address-space limit was reached.
OUT_OF_MEMORY = r"Cannot allocate memory|malloc of size \d+ failed|pthread_create\(\) failed"


@dataclasses.dataclass(frozen=True)
class Stream:
    """One audio or video stream as ``ffmpeg -i`` describes it."""

    kind: str  # "audio" or "video"
    codec: str
    description: str  # the rest of the line, e.g. "(mp3float), 44100 Hz, stereo, fltp, 128 kb/s"
    rotation: float = 0.0  # degrees, from the display matrix of a video stream


@dataclasses.dataclass(frozen=True)
class Probe:
    duration_s: float | None
    streams: list[Stream]

    def first(self, kind: str) -> Stream | None:
        return next((s for s in self.streams if s.kind == kind), None)


@functools.cache
def ffmpeg_exe() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg_input(src: Path, formats: str) -> list[str]:
    """Options to open ``src`` with one of the demuxers ``formats`` and no other file."""
    return ["-protocol_whitelist", "file", "-format_whitelist", formats, "-i", f"file:{src}"]


def _child_limits(memory_bytes: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def _ffmpeg(args: list[str], *, limits: Limits, deadline: float) -> subprocess.CompletedProcess:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise PreviewError(TOO_SLOW)
    try:
        return subprocess.run(
            [ffmpeg_exe(), "-nostdin", "-hide_banner", *args],
            capture_output=True,
            timeout=remaining,
            env=CHILD_ENV,
            preexec_fn=_child_limits(limits.memory_bytes),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise PreviewError(TOO_SLOW) from None


def ffmpeg_run(args: list[str], *, limits: Limits, deadline: float, failure: str) -> str:
    """Run ffmpeg bounded in time and memory; return its stdout, or raise PreviewError(failure)."""
    done = _ffmpeg(["-loglevel", "error", *args], limits=limits, deadline=deadline)
    if done.returncode != 0:
        raise _failed(done, failure)
    return done.stdout.decode("utf-8", "replace")


def _failed(done: subprocess.CompletedProcess, failure: str) -> PreviewError:
    stderr = done.stderr.decode("utf-8", "replace")
    logger.info("ffmpeg failed (%s): %s", done.returncode, stderr[-2000:])
    if re.search(OUT_OF_MEMORY, stderr):
        return PreviewError(TOO_BIG)
    return PreviewError(CRASHED if done.returncode < 0 else failure)


def media_probe(src: Path, *, formats: str, limits: Limits, deadline: float) -> Probe:
    """What ffmpeg reads from the file's headers, or PreviewError when it cannot open it."""
    done = _ffmpeg(ffmpeg_input(src, formats), limits=limits, deadline=deadline)
    report = done.stderr.decode("utf-8", "replace")
    if not re.search(r"^Input #0, ", report, re.MULTILINE):
        unreadable = "The file could not be read as audio or video (damaged or unsupported)."
        raise _failed(done, unreadable)
    return parse_probe(report)


def parse_probe(report: str) -> Probe:
    # Only lines at ffmpeg's own indentation count: tag values print deeper (and continuation
    # lines of multi-line tags start with ":"), so a crafted title cannot pose as a stream.
    duration = re.search(r"^  Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", report, re.MULTILINE)
    streams: list[Stream] = []
    for line in report.splitlines():
        found = re.match(r"  Stream #0:\d+\S*: (Audio|Video): ([^\s,]+),? ?(.*)$", line)
        if found and "(attached pic)" not in line:
            kind = "audio" if found[1] == "Audio" else "video"
            streams.append(Stream(kind=kind, codec=found[2], description=found[3]))
        rotation = re.match(r"\s+Display Matrix: rotation of (-?\d+(?:\.\d+)?) degrees", line)
        if rotation and streams and streams[-1].kind == "video":
            streams[-1] = dataclasses.replace(streams[-1], rotation=float(rotation[1]))
    seconds = None
    if duration:
        seconds = int(duration[1]) * 3600 + int(duration[2]) * 60 + float(duration[3])
    return Probe(duration_s=seconds, streams=streams)


def media_duration(
    src: Path, probe: Probe, *, stream: str, formats: str, limits: Limits, deadline: float
) -> float | None:
    """The duration the headers state, else the time of the last packet of ``stream``."""
    # A stated zero (a damaged header, or under the 10 ms ffmpeg prints) is measured instead:
    # the share of it would be "-t 0", which ffmpeg reads as no limit at all.
    if probe.duration_s:
        return probe.duration_s
    # Streams recorded live (browser webm) carry no duration: read the packets without decoding.
    copy = ["-map", stream, "-c", "copy", "-progress", "pipe:1"]
    progress = ffmpeg_run(
        [*ffmpeg_input(src, formats), *copy, "-f", "null", "-"],
        limits=limits,
        deadline=deadline,
        failure="The file could not be read to its end (truncated or damaged).",
    )
    times = re.findall(r"^out_time_us=(\d+)$", progress, re.MULTILINE)
    return int(times[-1]) / 1e6 if times else None


def share_option(seconds: float) -> list[str]:
    """ffmpeg's input option for the first ``seconds`` of a recording. "-t 0" would mean no
    limit, so a share that rounds to nothing is refused, not the whole recording shown."""
    if round(seconds, 3) <= 0:
        raise PreviewError("The recording is too short to show a part of it.")
    return ["-t", f"{seconds:.3f}"]


def audio_format(stream: Stream) -> tuple[int | None, int | None]:
    """(sample rate, channels) from a description like "44100 Hz, stereo, fltp"."""
    found = re.search(r"\b(\d+) Hz, ([^,]+)", stream.description)
    if not found:
        return None, None
    return int(found[1]), layout_channels(found[2])


def layout_channels(layout: str) -> int | None:
    named = {"mono": 1, "stereo": 2, "downmix": 2, "quad": 4, "hexagonal": 6, "octagonal": 8}
    if layout in named:
        return named[layout]
    if found := re.match(r"(\d+) channels", layout):
        return int(found[1])
    if found := re.match(r"(\d+)\.(\d+)", layout):
        return int(found[1]) + int(found[2])
    return None


def make(src: Path, out_dir: Path, *, label: str, name: str, limits: Limits) -> Result:
    """The first quarter of the recording (at most ``limits.audio_seconds``) as a 64 kbit/s MP3
    with a beep every five seconds."""
    deadline = time.monotonic() + limits.timeout_s
    probe = media_probe(src, formats=AUDIO_FORMATS, limits=limits, deadline=deadline)
    stream = probe.first("audio")
    if stream is None:
        raise PreviewError("The file has no audio track.")
    duration = media_duration(
        src, probe, stream="0:a:0", formats=AUDIO_FORMATS, limits=limits, deadline=deadline
    )
    if duration is None:
        raise PreviewError("The recording's length cannot be read, so no share of it is shown.")
    snippet_s = share_seconds(duration, limits.audio_seconds)
    sample_rate, channels = audio_format(stream)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".work-") as work:
        snippet = Path(work) / "snippet.mp3"
        _encode_snippet(
            src, snippet, seconds=snippet_s, channels=channels, limits=limits, deadline=deadline
        )
        snippet.replace(out_dir / snippet.name)
    return Result(
        parts=[Part(path=out_dir / snippet.name, content_type="audio/mpeg")],
        info={
            "duration_s": None if duration is None else round(duration, 2),
            "snippet_s": round(snippet_s, 2),
            "codec": stream.codec,
            "sample_rate": sample_rate,
            "channels": channels,
        },
    )


def _encode_snippet(
    src: Path,
    dest: Path,
    *,
    seconds: float,
    channels: int | None,
    limits: Limits,
    deadline: float,
) -> None:
    # One period is computed and then looped: evaluating the expression per sample for the whole
    # snippet would cost half the encoding time.
    repeats = max(0, math.ceil(seconds / BEEP_PERIOD_S) - 1)
    tone = f"aevalsrc='{BEEP}':s={SAMPLE_RATE}:c=mono:d={BEEP_PERIOD_S},"
    tone += f"aloop=loop={repeats}:size={BEEP_PERIOD_S * SAMPLE_RATE}"
    mix = f"[0:a:0]aresample={SAMPLE_RATE}[music];{tone}[tone];"
    mix += "[music][tone]amix=inputs=2:duration=first:normalize=0[out]"
    inputs = [*share_option(seconds), *ffmpeg_input(src, AUDIO_FORMATS)]
    layout = ["-ac", "1" if channels == 1 else "2", "-ar", str(SAMPLE_RATE)]
    codec = ["-c:a", "libmp3lame", "-b:a", BITRATE, "-map_metadata", "-1", "-f", "mp3"]
    ffmpeg_run(
        [*inputs, "-filter_complex", mix, "-map", "[out]", *layout, *codec, f"file:{dest}"],
        limits=limits,
        deadline=deadline,
        failure="The audio could not be decoded (truncated or damaged).",
    )
