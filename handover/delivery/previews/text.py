"""Text and code previews: at most a quarter of the text, drawn as a watermarked picture (so it
cannot be copied as text), and the rest only as its shape.

The rule (``previews.share``): the excerpt holds at most a quarter of the file's words, of its
characters and of its lines (a file of fewer than four lines: part of its first line only), and
never more than ``limits.text_lines`` lines. The shape is counted over the whole file: lines,
words, characters; sections of Markdown, columns and rows of CSV; for code the outline (classes
and functions with their signatures) and whether it parses.
"""

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pygments.lexer import Lexer  # type: ignore[import-untyped]
from pygments.lexers import TextLexer, get_lexer_for_filename, guess_lexer  # type: ignore[import-untyped]
from pygments.util import ClassNotFound  # type: ignore[import-untyped]

from handover.delivery.previews import Limits, Part, Result, share, watermark
from handover.delivery.previews.outline import Outline, code_outline
from handover.delivery.previews.sandbox import run_limited
from handover.delivery.previews.textpicture import PAGE_WIDTH, draw_page

CHUNK_BYTES = 1 << 20
HEAD_CHARS = 64 * 1024  # kept while counting: the excerpt is cut from it
OUTLINE_CHARS = 2 * 1024 * 1024  # code longer than this is counted, not outlined
MIN_GUESS = 0.1  # a shebang scores 1.0, "#include" 0.1, plain prose 0.01 for some lexer
GUESS_CHARS = 8192  # enough for every lexer's analyser; each of them runs over the sample
PREVIEW_NAME = "excerpt.png"
_WORD = re.compile(r"\S+")
_MARKDOWN_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]|$)", re.MULTILINE)

# The first guess_lexer imports every lexer module: 1.5 s and 25 MB here. Paid once in the worker
# at import, instead of in every forked child (which inherits the imported modules).
guess_lexer("")


@dataclass
class Shape:
    """What is counted over the whole text, and its beginning."""

    lines: int = 0
    words: int = 0
    characters: int = 0
    head: str = ""  # the first HEAD_CHARS characters
    whole: str | None = None  # all of it, when it is short enough to outline
    sections: int = 0  # Markdown headings


@dataclass
class Excerpt:
    text: str = ""
    lines: int = 0  # lines begun (a cut line counts)
    words: int = 0
    characters: int = 0
    cut: list[str] = field(default_factory=list)


def make(src: Path, out_dir: Path, *, label: str, name: str, limits: Limits) -> Result:
    """``excerpt.png``: the excerpt the rule allows, watermarked; the shape in the info."""
    watermark.prepare(label, PAGE_WIDTH)
    # Lexers run regular expressions over hostile text: a child process bounds their time.
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
    shape = read_shape(src)
    lexer = pick_lexer(name, shape.head[:GUESS_CHARS])
    excerpt = excerpt_of(shape, max_lines=limits.text_lines)
    genre = text_genre(name, lexer)
    outline = code_outline(lexer, shape.whole) if genre == "code" else None
    info = _info(src, shape, excerpt, lexer=lexer, genre=genre, outline=outline)
    picture = draw_page(excerpt.text, title=name, summary=summary(info), held_back=held_back(info))
    watermark.apply(picture, label)
    picture.save(out_dir / PREVIEW_NAME, "PNG", compress_level=6)
    return Result(parts=[Part(path=out_dir / PREVIEW_NAME, content_type="image/png")], info=info)


def read_shape(src: Path) -> Shape:
    """Count lines, words and characters of the whole file in chunks, keeping its head."""
    decoder = codecs.getincrementaldecoder(_encoding(src))("replace")
    shape, last, in_word = Shape(), "\n", False
    kept: list[str] = []
    whole: list[str] | None = []
    with src.open("rb") as file:
        while True:
            chunk = file.read(CHUNK_BYTES)
            text = decoder.decode(chunk, not chunk)
            if text:
                shape.lines += text.count("\n")
                shape.characters += len(text)
                # A word cut by the chunk's edge was counted with the chunk before.
                shape.words += len(_WORD.findall(text)) - int(in_word and not text[0].isspace())
                in_word, last = not text[-1].isspace(), text[-1]
                if sum(map(len, kept)) < HEAD_CHARS:
                    kept.append(text)
                if whole is not None and shape.characters <= OUTLINE_CHARS:
                    whole.append(text)
                else:
                    whole = None
            if not chunk:
                break
    shape.lines += last != "\n"
    shape.head = "".join(kept)[:HEAD_CHARS]
    shape.whole = "".join(whole) if whole is not None else None
    shape.sections = len(_MARKDOWN_HEADING.findall(shape.whole or shape.head))
    return shape


def _encoding(src: Path) -> str:
    with src.open("rb") as file:
        bom = file.read(2)
    # The upload check accepts UTF-16 only with a byte order mark; everything else is UTF-8.
    return "utf-16" if bom in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8-sig"


def excerpt_of(shape: Shape, *, max_lines: int) -> Excerpt:
    """The opening of the text within a quarter of its words, characters and lines."""
    line_budget = min(max_lines, share(shape.lines) if shape.lines >= 4 else 1)
    words_left, chars_left = share(shape.words), share(shape.characters)
    excerpt = Excerpt()
    for line in shape.head.splitlines(keepends=True)[:line_budget]:
        words = len(_WORD.findall(line))
        if words > words_left or len(line) > chars_left:
            excerpt.cut.append(_cut(line, words_left, chars_left))
            excerpt.lines += bool(excerpt.cut[-1])
            break
        excerpt.cut.append(line)
        excerpt.lines += 1
        words_left -= words
        chars_left -= len(line)
    excerpt.text = "".join(excerpt.cut)
    excerpt.words = len(_WORD.findall(excerpt.text))
    excerpt.characters = len(excerpt.text)
    return excerpt


def _cut(line: str, words: int, characters: int) -> str:
    """The start of ``line``: whole words only, at most ``words`` and ``characters`` of them."""
    end = 0
    for count, match in enumerate(_WORD.finditer(line), start=1):
        if count > words or match.end() > characters:
            break
        end = match.end()
    return line[:end]


def text_genre(name: str, lexer: Lexer) -> str:
    """ "csv", "markdown", "text" (prose) or "code": what the shape tells about it."""
    if name.lower().endswith((".csv", ".tsv")):
        return "csv"
    if lexer.name == "Markdown":
        return "markdown"
    return "text" if isinstance(lexer, TextLexer) else "code"


def _info(
    src: Path,
    shape: Shape,
    excerpt: Excerpt,
    *,
    lexer: Lexer,
    genre: str,
    outline: Outline | None,
) -> dict[str, Any]:
    info: dict[str, Any] = {
        "genre": genre,
        "language": lexer.name,
        "bytes": src.stat().st_size,
        "lines": shape.lines,
        "words": shape.words,
        "characters": shape.characters,
        "lines_shown": excerpt.lines,
        "words_shown": excerpt.words,
        "characters_shown": excerpt.characters,
        "truncated": excerpt.characters < shape.characters,
    }
    if genre == "markdown":
        info["sections"] = shape.sections
    if genre == "csv":
        info["columns"] = _columns(shape.head, tab=src.name.lower().endswith(".tsv"))
    if outline is not None:
        info["outline"] = outline.entries
        info["outline_truncated"] = outline.truncated
        info["parses"] = outline.parses
        info["parse_error"] = outline.parse_error
    return info


def _columns(head: str, *, tab: bool) -> int:
    import csv

    first = head.split("\n", 1)[0]
    try:
        row = next(csv.reader([first], delimiter="\t" if tab else ","), [])
    except csv.Error:
        return 0
    return len(row)


def summary(info: dict[str, Any]) -> str:
    """The shape in one line, for the top of the picture."""
    parts = [
        f"{info['lines']:,} lines",
        f"{info['words']:,} words",
        f"{info['characters']:,} characters",
    ]
    if "sections" in info:
        parts.append(f"{info['sections']:,} sections")
    if "columns" in info:
        parts.append(f"{info['columns']:,} columns")
    return f"{info['language']}: " + ", ".join(parts)


def held_back(info: dict[str, Any]) -> str:
    lines = info["lines"] - info["lines_shown"]
    words = info["words"] - info["words_shown"]
    return (
        f"Shown: {info['words_shown']:,} of {info['words']:,} words. The rest ({words:,} words, "
        f"{lines:,} more lines) comes with the originals."
    )


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
