"""The text preview: at most a quarter of a text, drawn as a watermarked picture; the rest as its
shape (counts, sections, columns, the outline of code)."""

from pathlib import Path

import pytest
from PIL import Image

from handover.delivery.previews import Limits, Result
from handover.delivery.previews.text import excerpt_of, make, read_shape

LABEL = "PREVIEW · order 123 · buyer alice"


def preview(tmp_path: Path, content: bytes, name: str = "notes.txt") -> Result:
    tmp_path.mkdir(exist_ok=True)
    src, out_dir = tmp_path / name.replace("/", "_"), tmp_path / "out"
    src.write_bytes(content)
    out_dir.mkdir()
    return make(src, out_dir, label=LABEL, name=name, limits=Limits())


def excerpt(tmp_path: Path, content: bytes) -> str:
    src = tmp_path / "excerpt-source"
    src.write_bytes(content)
    return excerpt_of(read_shape(src), max_lines=Limits().text_lines).text


def numbered(lines: int) -> bytes:
    return "".join(f"line {n}: the original text\n" for n in range(1, lines + 1)).encode()


ARTICLE = "".join(
    f"Paragraph {n} tells the client's story with care, sentence {n} of the commissioned "
    f"article, phrase-{n}-{'x' * 600}\n"
    for n in range(1, 40)
).encode()  # 39 lines, about 30 KB: the article the old preview showed whole


def test_a_quarter_of_100_lines_is_shown_as_a_watermarked_picture(tmp_path):
    content = numbered(100)

    result = preview(tmp_path, content)

    assert [(p.path.name, p.content_type) for p in result.parts] == [("excerpt.png", "image/png")]
    assert result.info == {
        "genre": "text",
        "language": "Text only",
        "bytes": len(content),
        "lines": 100,
        "words": 500,
        "characters": len(content),
        "lines_shown": 25,
        "words_shown": 125,
        "characters_shown": len(numbered(25)),
        "truncated": True,
    }
    assert excerpt(tmp_path, content) == numbered(25).decode()
    with Image.open(result.parts[0].path) as picture:
        assert picture.format == "PNG" and picture.width == 1200
    # The text is drawn, not carried: none of it is in the picture's bytes.
    assert b"the original text" not in result.parts[0].path.read_bytes()


def test_the_39_line_article_is_never_shown_whole(tmp_path):
    result = preview(tmp_path, ARTICLE, name="article.txt")

    shown = excerpt(tmp_path, ARTICLE)
    assert result.info["lines"] == 39
    assert result.info["lines_shown"] <= 39 // 4
    assert result.info["words_shown"] <= result.info["words"] // 4
    assert result.info["characters_shown"] <= result.info["characters"] // 4
    assert result.info["truncated"] is True
    assert "Paragraph 1 " in shown
    assert "Paragraph 39" not in shown and "phrase-30-" not in shown
    assert b"Paragraph" not in result.parts[0].path.read_bytes()
    assert "Paragraph" not in str(result.info)


@pytest.mark.parametrize(
    "content",
    [b"one\ntwo\nthree", b"Just one line of copy, the whole job.\n", b"word", b""],
    ids=["three-lines", "one-line", "one-word", "empty"],
)
def test_a_short_file_is_never_shown_whole(tmp_path, content):
    result = preview(tmp_path, content)

    shown = excerpt(tmp_path, content)
    assert len(shown) <= len(content) // 4
    assert result.info["characters_shown"] == len(shown)
    assert result.info["words_shown"] <= result.info["words"] // 4
    if content:
        assert shown != content.decode()
        assert result.info["truncated"] is True


def test_a_line_longer_than_the_quarter_is_cut_at_a_word(tmp_path):
    content = b"alpha beta gamma delta epsilon zeta eta theta\n"

    shown = excerpt(tmp_path, content)

    assert shown == "alpha beta"  # 2 of 8 words; the line is its first row


LONG_MARKDOWN = "".join(
    f"# Chapter {n}\n\n" + "".join(f"Sentence {n}.{m} of the chapter.\n" for m in range(8)) + "\n"
    for n in range(1, 6)
).encode()
CSV = b"name,email,amount\n" + b"".join(
    b"row%d,r%d@example.com,%d\n" % (n, n, n) for n in range(60)
)
HTML_AS_TEXT = b"<p>Intro of the landing page copy</p>\n" + b"".join(
    b"<p>Section %d: persuasive words for the client</p>\n" % n for n in range(30)
)
PYTHON = b"".join(
    b"class Model%d(Base):\n    def run(self, x: int) -> int:\n        return x * %d\n\n" % (n, n)
    for n in range(20)
)
JAVASCRIPT = b"".join(
    b"function handler%d(event) {\n  return event.value + %d;\n}\n" % (n, n) for n in range(20)
)


@pytest.mark.parametrize(
    ("name", "content", "genre"),
    [
        ("notes.txt", numbered(7), "text"),
        ("article.txt", ARTICLE, "text"),
        ("brief.md", LONG_MARKDOWN, "markdown"),
        ("export.csv", CSV, "csv"),
        ("landing.txt", HTML_AS_TEXT, "text"),
        ("models.py", PYTHON, "code"),
        ("app.js", JAVASCRIPT, "code"),
    ],
)
def test_a_preview_holds_at_most_a_quarter_of_each_kind_of_text(tmp_path, name, content, genre):
    result = preview(tmp_path, content, name=name)

    info, shown = result.info, excerpt(tmp_path, content)
    assert info["genre"] == genre
    assert 0 < info["words_shown"] <= info["words"] // 4
    assert info["characters_shown"] <= info["characters"] // 4
    assert info["lines_shown"] <= max(1, info["lines"] // 4)
    # The excerpt is the text's opening, no longer than a quarter of it.
    assert len(shown) == info["characters_shown"] and content.decode().startswith(shown)


def test_markdown_and_csv_shape(tmp_path):
    markdown = preview(tmp_path / "md", LONG_MARKDOWN, name="brief.md").info
    csv = preview(tmp_path / "csv", CSV, name="export.csv").info

    assert markdown["sections"] == 5
    assert (csv["columns"], csv["lines"]) == (3, 61)


def test_python_code_shows_its_outline_and_whether_it_parses(tmp_path):
    info = preview(tmp_path, PYTHON, name="models.py").info

    assert info["language"] == "Python" and info["parses"] is True
    assert info["outline"][:2] == [
        {"kind": "class", "name": "Model0", "signature": "class Model0(Base)", "line": 1},
        {
            "kind": "function",
            "name": "run",
            "signature": "def run(self, x: int) -> int",
            "line": 2,
        },
    ]
    assert len(info["outline"]) == 40
    assert "return x" not in str(info)  # signatures, never bodies


def test_code_that_does_not_parse_says_so(tmp_path):
    info = preview(tmp_path, b"def broken(:\n    pass\n" * 4, name="broken.py").info

    assert info["parses"] is False
    assert info["parse_error"] == "It does not parse as Python (line 1)."


def test_other_languages_are_outlined_from_their_tokens(tmp_path):
    info = preview(tmp_path, JAVASCRIPT, name="app.js").info

    assert info["parses"] is None  # not checked for JavaScript
    assert info["outline"][0] == {
        "kind": "function",
        "name": "handler0",
        "signature": "function handler0(event) {",
        "line": 1,
    }


@pytest.mark.parametrize(
    ("name", "content", "language"),
    [
        ("tool.py", b"def main():\n    return 1\n", "Python"),
        ("Makefile", b"all:\n\tcc -o x x.c\n", "Makefile"),
        ("deploy", b"#!/bin/bash\nset -eu\necho done\n", "Bash"),
        ("README", b"Thank you for the order.\nThe files are attached.\n", "Text only"),
    ],
)
def test_the_language_comes_from_the_name_else_from_the_text(tmp_path, name, content, language):
    result = preview(tmp_path, content, name=name)

    assert result.info["language"] == language


def test_a_single_20_mb_line_is_counted_and_a_bounded_part_drawn(tmp_path):
    content = b"word " * (4 * 2**20)

    result = preview(tmp_path, content)

    assert result.info["lines"] == 1 and result.info["words"] == 4 * 2**20
    assert result.info["characters_shown"] <= 64 * 1024
    with Image.open(result.parts[0].path) as picture:
        assert picture.height < 4000  # the drawn rows are bounded too


def test_words_cut_by_a_chunk_edge_are_counted_once(tmp_path):
    src = tmp_path / "long.txt"
    src.write_bytes(b"ab " * ((1 << 20) // 3) + b"abcdef" * 10)

    shape = read_shape(src)

    assert shape.words == (1 << 20) // 3 + 1


def test_byte_order_mark_and_invalid_bytes(tmp_path):
    content = "\ufeffcafé au lait\n".encode() + b"bad \xff byte\n" * 7

    shown = excerpt(tmp_path, content)
    info = preview(tmp_path, content).info

    assert info["lines"] == 8
    assert shown.startswith("café au lait\n")
    assert "\ufeff" not in shown


def test_utf16_text_is_decoded_and_counted(tmp_path):
    content = "".join(f"Zeile {n}: Grüße\n" for n in range(1, 101)).encode("utf-16")

    info = preview(tmp_path, content).info

    assert (info["lines"], info["words"], info["lines_shown"]) == (100, 300, 25)
