"""Text and code preview: the first lines, highlighted; the rest is counted and held back."""

import codecs
import html
from pathlib import Path

from pygments import highlight  # type: ignore[import-untyped]
from pygments.formatters import HtmlFormatter  # type: ignore[import-untyped]
from pygments.lexer import Lexer  # type: ignore[import-untyped]
from pygments.lexers import TextLexer, get_lexer_for_filename, guess_lexer  # type: ignore[import-untyped]
from pygments.util import ClassNotFound  # type: ignore[import-untyped]

from handover.delivery.previews import Limits, Part, Result
from handover.delivery.previews.sandbox import run_limited

HEAD_BYTES = 64 * 1024  # shown at most, so one endless line cannot fill memory or the page
CHUNK_BYTES = 1 << 20
MIN_GUESS = 0.1  # a shebang scores 1.0, "#include" 0.1, plain prose 0.01 for some lexer
GUESS_CHARS = 8192  # enough for every lexer's analyser; each of them runs over the sample

# The first guess_lexer imports every lexer module: 1.5 s and 25 MB here. Paid once in the worker
# at import, instead of in every forked child (which inherits the imported modules).
guess_lexer("")

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title></head>
<body style="margin: 0; font: 14px/1.4 system-ui, sans-serif; color: #222">
<p style="margin: 0; padding: 8px 12px; background: #fff3cd">{label}</p>
<p style="margin: 0; padding: 4px 12px; color: #555">{summary}</p>
{code}
{rest}
</body></html>
"""


def make(src: Path, out_dir: Path, *, label: str, name: str, limits: Limits) -> Result:
    """``head.html``: the first ``limits.text_lines`` lines of ``src`` with syntax colours."""
    # Highlighting runs regular expressions over hostile text: a child process bounds its time.
    return run_limited(
        _make,
        src,
        out_dir,
        label=label,
        name=name,
        limits=limits,
        timeout_s=limits.timeout_s,
        memory_bytes=limits.memory_bytes,
    )


def _make(src: Path, out_dir: Path, *, label: str, name: str, limits: Limits) -> Result:
    lines, size = count_lines(src)
    if _is_utf16(src):
        head, text = _utf16_head(src, max_lines=limits.text_lines)
        lines = _utf16_lines(src)
    else:
        head = read_head(src, max_lines=limits.text_lines, max_bytes=HEAD_BYTES)
        # The head ends inside a character only if it was cut: the partial one is dropped.
        text = codecs.getincrementaldecoder("utf-8-sig")("replace").decode(head, len(head) == size)
    shown = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    lexer = pick_lexer(name, text[:GUESS_CHARS])
    page = out_dir / "head.html"
    page.write_text(
        render_page(text, lexer, label=label, name=name, shown=shown, lines=lines, size=size),
        encoding="utf-8",
    )
    return Result(
        parts=[Part(path=page, content_type="text/html; charset=utf-8")],
        info={
            "lines": lines,
            "bytes": size,
            "lines_shown": shown,
            "language": lexer.name,
            "truncated": len(head) < size or shown < lines,
        },
    )


def _is_utf16(src: Path) -> bool:
    with src.open("rb") as f:
        return f.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _utf16_head(src: Path, *, max_lines: int) -> tuple[bytes, str]:
    """The first lines of a UTF-16 file (the upload check accepts it only with a BOM)."""
    with src.open("rb") as f:
        head = f.read(HEAD_BYTES * 2)
    decoded = codecs.getincrementaldecoder("utf-16")("replace").decode(head)
    kept = decoded.splitlines(keepends=True)[:max_lines]
    return head, "".join(kept)


def _utf16_lines(src: Path) -> int:
    decoder = codecs.getincrementaldecoder("utf-16")("replace")
    lines, last = 0, "\n"
    with src.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            text = decoder.decode(chunk)
            lines += text.count("\n")
            last = text[-1:] or last
    return lines + (last != "\n")


def read_head(src: Path, *, max_lines: int, max_bytes: int) -> bytes:
    """The first ``max_lines`` lines of the file, cut at ``max_bytes``."""
    with src.open("rb") as file:
        start = file.read(max_bytes)
    end = 0
    for _ in range(max_lines):
        newline = start.find(b"\n", end)
        if newline < 0:
            return start
        end = newline + 1
    return start[:end]


def count_lines(src: Path) -> tuple[int, int]:
    """Lines (a last line without a newline counts) and bytes, reading the file in chunks."""
    lines = size = 0
    last = b"\n"
    with src.open("rb") as file:
        while chunk := file.read(CHUNK_BYTES):
            lines += chunk.count(b"\n")
            size += len(chunk)
            last = chunk[-1:]
    return lines + (last != b"\n"), size


def pick_lexer(name: str, sample: str) -> Lexer:
    """The lexer the file name asks for, else one that recognises the text, else plain text."""
    options = {"stripnl": False, "ensurenl": False}
    try:
        return get_lexer_for_filename(name, **options)
    except ClassNotFound:
        pass
    try:
        guess = guess_lexer(sample, **options)
    except ClassNotFound:
        return TextLexer(**options)
    # Every lexer gets a say; a faint one (prose as a "Tera Term macro") is no recognition.
    return guess if type(guess).analyse_text(sample) >= MIN_GUESS else TextLexer(**options)


def render_page(
    text: str, lexer: Lexer, *, label: str, name: str, shown: int, lines: int, size: int
) -> str:
    """A self-contained HTML page: inline styles only, no scripts, nothing loaded from elsewhere."""
    formatter = HtmlFormatter(
        noclasses=True,
        linenos="inline",
        cssstyles="margin: 0; padding: 8px 12px",
        prestyles="margin: 0; white-space: pre-wrap; overflow-wrap: anywhere",
    )
    held_back = lines - shown
    rest = f"<p style='margin: 0; padding: 8px 12px; color: #555'>… {held_back} more lines"
    rest += " are held back until the originals are released.</p>"
    return PAGE.format(
        title=html.escape(name),
        label=html.escape(label),
        summary=f"{html.escape(name)}: {lines} lines, {size} bytes",
        code=highlight(text, lexer, formatter),
        rest=rest if held_back > 0 else "",
    )
