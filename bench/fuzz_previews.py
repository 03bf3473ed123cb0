"""Coverage-guided fuzzing of the type sniffer and the preview makers with atheris, for sessions
of hours. The test suite runs the same checks briefly, with Hypothesis
(handover/delivery/tests/test_fuzz_previews.py); this is not part of it.

    uv run --with atheris python bench/fuzz_previews.py TARGET [CORPUS_DIR] [LIBFUZZER OPTIONS]
    uv run --with atheris python bench/fuzz_previews.py sniff -max_total_time=3600
    uv run --with atheris python bench/fuzz_previews.py pdf var/fuzz/pdf -max_total_time=7200

TARGET is ``sniff`` or a kind with a preview: image, pdf, text, archive, audio, video. The
corpus directory (default ``var/fuzz/TARGET``) starts with the seeds of that kind, written there
on the first run; libFuzzer adds every input that reaches new code. Options such as ``-jobs=2``,
``-runs=N`` or ``-max_total_time=S`` go to libFuzzer as they are.

A finding is what the tests call one: the sniffer raising anything but ``Refused`` or answering
a type off its allowlist; a maker raising anything but ``PreviewError``, failing with the
sandbox's catch-all (an exception nobody anticipated, whose traceback is printed), making a
preview that does not open or shows more than the share rule allows, or running past its time
limit. libFuzzer then stops and writes the input to ``crash-<sha1>``; replay it with
``bench/fuzz_previews.py TARGET crash-<sha1>``.

Coverage guidance reaches our Python code (the sniffer, the makers, the text shape and outline);
libvips, PDFium and ffmpeg are not instrumented, so for them this is mutation at random from
seeds that libFuzzer keeps when they take a new path through our side.
"""

import sys
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

with atheris.instrument_imports(include=["handover"]):
    from handover.delivery.tests import fuzzing, seeds

TARGETS = ("sniff", "image", "pdf", "text", "archive", "audio", "video")


def one_input(target: str, names: list[str]):
    """The function libFuzzer calls with each input."""

    def run(data: bytes) -> None:
        if target == "sniff":
            # The first two bytes choose the chunk size, so chunk edges get fuzzed too.
            fuzzing.sniff(data[2:], chunk=1 + int.from_bytes(data[:2], "big"))
            return
        # The first byte chooses the file name the maker is told (it picks the text lexer).
        name = names[data[0] % len(names)] if data else names[0]
        fuzzing.preview(target, name, data[1:])

    return run


def seed_corpus(target: str, corpus: Path) -> None:
    """Write the target's seeds in the input layout ``one_input`` reads."""
    corpus.mkdir(parents=True, exist_ok=True)
    if target == "sniff":
        for name, data in seeds.every().items():
            (corpus / f"seed-{name}").write_bytes((4095).to_bytes(2, "big") + data)
        return
    for index, (name, data) in enumerate(sorted(seeds.by_kind()[target].items())):
        (corpus / f"seed-{name}").write_bytes(bytes([index]) + data)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(TARGETS)}}} [CORPUS_DIR] [LIBFUZZER OPTIONS]")
    target, rest = sys.argv[1], sys.argv[2:]
    if not rest or rest[0].startswith("-"):
        rest.insert(0, str(ROOT / "var" / "fuzz" / target))
    if Path(rest[0]).is_dir() or not Path(rest[0]).exists():  # a corpus, not a crash to replay
        seed_corpus(target, Path(rest[0]))
    names = sorted(seeds.by_kind()[target]) if target != "sniff" else []
    atheris.Setup([sys.argv[0], *rest], one_input(target, names))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
