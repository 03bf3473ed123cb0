"""The preview sections of bench/delivery.py: image, pdf, video and audio, each against the
plain tool doing the same job, and the children that measure peak memory in a fresh process."""

import os
import resource
import shutil
import statistics
import subprocess
from collections.abc import Callable
from pathlib import Path

import delivery_http as net
import delivery_media as media
from delivery_measure import (
    LABEL,
    MIB,
    Context,
    interleaved,
    median_cpu,
    median_wall,
    ms,
    percentile,
    progress,
    run_child,
)

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


# --- image ---


def imagemagick() -> tuple[str, str] | None:
    """ImageMagick's ``magick`` (7) or ``convert`` (6) as ``PATH`` finds it, and its version;
    None when there is none, or when the ``convert`` found is another program of that name."""
    for name in ("magick", "convert"):
        program = shutil.which(name)
        if program is None:
            continue
        done = subprocess.run([program, "-version"], capture_output=True, text=True, check=False)
        first = done.stdout.splitlines()[0] if done.stdout else ""
        if "ImageMagick" in first:
            return program, first.removeprefix("Version: ").split(" https")[0]
    return None


def convert_command(convert: str, src: Path, dest: Path, *, size_hint: bool) -> list[str]:
    """ImageMagick doing our job: fit 1600x1600, tile a translucent outlined label turned 30
    degrees over the whole picture, JPEG q80. ``size_hint`` lets libjpeg decode at a fraction
    of the size (1/2 here, as ours does)."""
    hint = ["-define", "jpeg:size=1600x1600"] if size_hint else []
    font = ["-font", str(FONT)] if FONT.exists() else []
    return [
        convert, "-respect-parentheses", *hint, str(src), "-resize", "1600x1600",
        "(", "-size", "640x360", "xc:none", *font, "-pointsize", "36",
        "-fill", "rgba(255,255,255,0.4)", "-stroke", "rgba(20,20,20,0.4)", "-strokewidth", "2",
        "-gravity", "center", "-annotate", "-30x-30+0+0", LABEL,
        "-write", "mpr:wm", "+delete", ")",
        "(", "+clone", "-alpha", "transparent", "-tile", "mpr:wm", "-draw", "color 0,0 reset", ")",
        "-compose", "over", "-composite", "-quality", "80", str(dest),
    ]  # fmt: skip


def section_image(ctx: Context) -> None:
    from PIL import Image

    from handover.delivery.previews import Limits, image

    report, plan = ctx.report, ctx.plan
    src = ctx.path("photo.jpg")
    media.photo(src, *plan.photo)
    megapixels = plan.photo[0] * plan.photo[1] / 1e6
    report.notes.append(
        f"image: {plan.photo[0]}x{plan.photo[1]} JPEG q90, {src.stat().st_size / MIB:.1f} MiB; "
        f"{plan.image_reps} interleaved rounds after one unmeasured"
    )
    out = ctx.path("image-out")
    out.mkdir()
    cases: dict[str, Callable[[], object]] = {
        "ours": lambda: image.make(src, out, label=LABEL, name="photo.jpg", limits=Limits()),
        "decode": lambda: Image.open(src).load(),
    }
    found = imagemagick()
    if found is None:
        report.notes.append(
            "image: no ImageMagick on PATH (`magick` or `convert`): the convert rows are "
            "skipped; `apt-get install imagemagick` adds them"
        )
    else:
        convert, version = found
        report.notes.append(f"image: {version} ({convert}), its default threads (OpenMP)")

        def magick(size_hint: bool) -> Callable[[], object]:
            dest = out / f"convert-{size_hint}.jpg"
            command = convert_command(convert, src, dest, size_hint=size_hint)
            return lambda: subprocess.run(command, check=True, capture_output=True)

        cases["convert"] = magick(False)
        cases["convert_hint"] = magick(True)
    progress("image: timing")
    samples = interleaved(cases, plan.image_reps)
    ours = median_wall(samples["ours"])
    what = f"image: {megapixels:.0f} MP JPEG -> preview, median"
    if "convert" not in samples:
        report.add(f"{what}, vs `convert`", "skipped: no ImageMagick on PATH")
    else:
        plain = median_wall(samples["convert"])
        report.add(
            f"{what}, vs `convert`",
            ms(samples["ours"]),
            ms(samples["convert"]),
            f"{plain / ours:.1f}x faster",
            ">= 4x faster",
            met=plain / ours >= 4,
        )
        hinted = median_wall(samples["convert_hint"])
        report.add(
            f"{what}, vs `convert -define jpeg:size=1600x1600` (info)",
            ms(samples["ours"]),
            ms(samples["convert_hint"]),
            f"{hinted / ours:.1f}x faster",
        )
    decode = median_wall(samples["decode"])
    report.add(
        f"{what}, vs bare Pillow full-size decode",
        ms(samples["ours"]),
        ms(samples["decode"]),
        f"{ours / decode:.2f}x",
        "<= 1.25x",
        met=ours / decode <= 1.25,
    )
    progress("image: memory")
    mine = run_child("image-rss", str(src), str(out), "bare")
    worker_env = net.base_env(ctx.path("image-django"))
    in_worker = run_child("image-rss", str(src), str(out), "worker", env=worker_env)
    decoded = run_child("decode-rss", str(src))
    baseline, ratio = "-", "-"
    if found is not None:
        command = convert_command(found[0], src, out / "rss.jpg", size_hint=False)
        magick_rss = run_child("rss", *command)
        baseline = f"{magick_rss['peak_mib']:.0f} MiB (convert)"
        ratio = f"{mine['child_peak_mib'] / magick_rss['peak_mib']:.2f}x"
    report.add(
        "image: peak RSS of the preview child",
        f"{mine['child_peak_mib']:.0f} MiB (its parent: {mine['parent_rss_mib']:.0f})",
        baseline,
        ratio,
        "<= 150 MB",
        met=mine["child_peak_mib"] * MIB <= 150e6,
    )
    report.add(
        "image: the same, forked from a Django worker process (info)",
        f"{in_worker['child_peak_mib']:.0f} MiB (its parent: {in_worker['parent_rss_mib']:.0f})",
    )
    report.notes.append(
        f"image: a bare Pillow decode peaks at {decoded['peak_mib']:.0f} MiB "
        f"(the interpreter with Pillow alone: {decoded['before_mib']:.0f} MiB)"
    )


def child_image_rss(src: str, out: str, parent: str) -> dict:
    """Peak RSS of the forked preview child, from a fresh interpreter that has no other child:
    RUSAGE_CHILDREN's ru_maxrss is then that child's own peak. A forked child starts with its
    parent's resident pages counted (shared, copy-on-write), so the parent's RSS at the fork is
    reported beside it. ``parent`` "bare" forks from an interpreter with only the image module
    loaded; "worker" from one with Django set up and the delivery services imported, as the
    task worker that makes previews in production is."""
    if parent == "worker":
        import django

        django.setup()
        import handover.delivery.services
        import handover.delivery.tasks  # noqa: F401
    from handover.delivery.previews import Limits, image, watermark

    watermark.prepare(LABEL, Limits().image_edge)
    rss = net.status_kib(os.getpid(), "VmRSS") / 1024
    image.make(Path(src), Path(out), label=LABEL, name="photo.jpg", limits=Limits())
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"parent_rss_mib": rss, "child_peak_mib": peak}


def child_decode_rss(src: str) -> dict:
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the process that started us.
    from PIL import Image

    before = net.status_kib(os.getpid(), "VmHWM") / 1024
    Image.open(src).load()
    return {"before_mib": before, "peak_mib": net.status_kib(os.getpid(), "VmHWM") / 1024}


def child_rss(command: list[str]) -> dict:
    subprocess.run(command, check=True, capture_output=True)
    return {"peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


# --- pdf ---


def section_pdf(ctx: Context) -> None:
    import pypdfium2 as pdfium

    from handover.delivery.previews import Limits, pdf

    report, plan = ctx.report, ctx.plan
    src = ctx.path("document.pdf")
    media.pdf_document(src, plan.pdf_pages)
    out = ctx.path("pdf-out")
    out.mkdir()
    limits = Limits()
    edge = getattr(pdf, "PAGE_EDGE", 1400)

    def bare() -> None:
        # What PDFium and Pillow cost for the same pages: no fork, no watermark, no checks.
        document = pdfium.PdfDocument(src)
        for index in range(limits.pdf_pages):
            page = document[index]
            scale = edge / max(page.get_size())
            picture = page.render(scale=scale, rev_byteorder=True, prefer_bgrx=True).to_pil()
            picture.save(out / f"bare-{index}.jpg", "JPEG", quality=80)
        document.close()

    cases = {
        "ours": lambda: pdf.make(src, out, label=LABEL, name="document.pdf", limits=limits),
        "bare": bare,
    }
    progress("pdf: timing")
    samples = interleaved(cases, plan.pdf_reps)
    walls = [s.wall * 1000 for s in samples["ours"]]
    ours, p90 = statistics.median(walls), percentile(walls, 90)
    bare_ms = median_wall(samples["bare"]) * 1000
    report.add(
        f"pdf: {plan.pdf_pages}-page A4 text -> {limits.pdf_pages} pages, median (p90)",
        f"{ours:.0f} ms (p90 {p90:.0f}; CPU {median_cpu(samples['ours']) * 1000:.0f})",
        f"{bare_ms:.0f} ms (bare PDFium + JPEG)",
        f"{ours / bare_ms:.2f}x",
        "< 100 ms",
        met=ours < 100,
    )
    report.notes.append(
        f"pdf: {src.stat().st_size / 1024:.0f} KiB, pages rendered at {edge} px long edge; "
        f"{plan.pdf_reps} interleaved rounds"
    )


# --- video and audio ---


def section_video(ctx: Context) -> None:
    from handover.delivery.previews import Limits, video

    report, plan = ctx.report, ctx.plan
    src = ctx.path("clip.mp4")
    progress("video: making the test clip")
    media.video_clip(src, plan.video_s)
    out = ctx.path("video-out")
    out.mkdir()
    limits = Limits()
    seconds = min(plan.video_s, limits.video_seconds)
    bare = [
        media.imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-y",
        "-threads", "2", "-t", str(limits.video_seconds), "-i", str(src),
        "-vf", "scale=-2:480", "-c:v", "libx264", "-preset", "veryfast", "-crf", "28",
        "-threads", "2", "-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart",
        str(out / "bare.mp4"),
    ]  # fmt: skip
    # Decoding alone is the floor: no preview of this clip can be faster than reading it.
    decode = [*bare[: bare.index("-vf")], "-f", "null", "-"]
    cases = {
        "ours": lambda: video.make(src, out, label=LABEL, name="clip.mp4", limits=limits),
        "bare": lambda: subprocess.run(bare, check=True),
        "decode": lambda: subprocess.run(decode, check=True),
    }
    progress("video: timing")
    samples = interleaved(cases, plan.video_reps)
    ours = median_wall(samples["ours"])

    def speed(name: str) -> str:
        wall, cpu = median_wall(samples[name]), median_cpu(samples[name])
        return f"{seconds / wall:.1f}x, {wall:.1f} s (CPU {cpu:.1f})"

    what = f"video: {plan.video_s} s 1080p30 H.264 8 Mbit/s -> 480p preview, x real time"
    report.add(
        f"{what}, vs plain ffmpeg to 480p",
        speed("ours"),
        speed("bare"),
        f"{ours / median_wall(samples['bare']):.2f}x the time",
        ">= 3x",
        met=seconds / ours >= 3,
    )
    report.add(
        f"{what}, vs decoding only (info)",
        speed("ours"),
        speed("decode"),
        f"{ours / median_wall(samples['decode']):.2f}x the time",
    )


def section_audio(ctx: Context) -> None:
    from handover.delivery.previews import Limits, audio

    report, plan = ctx.report, ctx.plan
    src = ctx.path("track.mp3")
    media.mp3(src, plan.audio_s)
    out = ctx.path("audio-out")
    out.mkdir()
    limits = Limits()
    snippet = min(plan.audio_s, limits.audio_seconds)
    bare = [
        media.imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-y",
        "-t", str(limits.audio_seconds), "-i", str(src), "-ac", "2", "-ar", "22050",
        "-c:a", "libmp3lame", "-b:a", "64k", str(out / "bare.mp3"),
    ]  # fmt: skip
    cases = {
        "ours": lambda: audio.make(src, out, label=LABEL, name="track.mp3", limits=limits),
        "bare": lambda: subprocess.run(bare, check=True),
    }
    progress("audio: timing")
    samples = interleaved(cases, plan.audio_reps)
    ours, base = median_wall(samples["ours"]), median_wall(samples["bare"])
    report.add(
        f"audio: {plan.audio_s} s MP3 -> {snippet} s snippet, x real time of the snippet",
        f"{snippet / ours:.1f}x, {ms(samples['ours'])}",
        f"{snippet / base:.1f}x, {ms(samples['bare'])} (plain ffmpeg)",
        f"{ours / base:.2f}x the time",
        ">= 60x",
        met=snippet / ours >= 60,
    )
    report.notes.append(
        f"audio: counted against the whole {plan.audio_s} s file instead, ours runs at "
        f"{plan.audio_s / ours:.0f}x real time (the preview reads only the first {snippet} s)"
    )
