"""The text preview: the first 40 lines, highlighted; the rest counted and held back."""

from pathlib import Path

import pytest

from handover.delivery.previews import Limits, Result
from handover.delivery.previews.text import make

LABEL = "PREVIEW · order 123 · buyer alice"


def preview(tmp_path: Path, content: bytes, name: str = "notes.txt") -> tuple[Result, str]:
    tmp_path.mkdir(exist_ok=True)
    src, out_dir = tmp_path / "original", tmp_path / "out"
    src.write_bytes(content)
    out_dir.mkdir()
    result = make(src, out_dir, label=LABEL, name=name, limits=Limits())
    return result, (out_dir / "head.html").read_text(encoding="utf-8")


def numbered(lines: int) -> bytes:
    return "".join(f"line {n}: the original text\n" for n in range(1, lines + 1)).encode()


def test_the_first_40_of_100_lines_are_shown_and_all_are_counted(tmp_path):
    content = numbered(100)

    result, page = preview(tmp_path, content)

    assert [(p.path.name, p.content_type) for p in result.parts] == [
        ("head.html", "text/html; charset=utf-8")
    ]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["head.html"]
    assert result.info == {
        "lines": 100,
        "bytes": len(content),
        "lines_shown": 40,
        "language": "Text only",
        "truncated": True,
    }
    assert "line 40: the original text" in page
    assert "line 41:" not in page
    assert "60 more lines" in page
    assert LABEL in page


def test_a_short_file_is_shown_whole(tmp_path):
    result, page = preview(tmp_path, b"one\ntwo\nthree")  # the last line has no newline

    assert result.info | {"language": None} == {
        "lines": 3,
        "bytes": 13,
        "lines_shown": 3,
        "language": None,
        "truncated": False,
    }
    assert "three" in page
    assert "more lines" not in page


def test_markup_in_the_file_and_its_name_is_escaped(tmp_path):
    content = b'<script>alert("x")</script>\n<img src=x onerror=alert(1)>\n'

    for name in ("page.html", "<script>alert(1)</script>.txt"):
        _, page = preview(tmp_path / name.replace("/", "_"), content, name=name)

        assert "<script" not in page.lower()
        assert "<img" not in page.lower()
        assert page.count("&lt;") >= 3
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.txt" in page


def test_the_page_is_self_contained(tmp_path):
    _, page = preview(tmp_path, b"import os\nprint(os.getcwd())\n", name="tool.py")

    assert page.startswith("<!doctype html>")
    assert '<meta charset="utf-8">' in page
    assert "<link" not in page
    assert "src=" not in page
    assert "url(" not in page


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
    result, _ = preview(tmp_path, content, name=name)

    assert result.info["language"] == language


def test_a_single_20_mb_line_is_cut_and_counted(tmp_path):
    content = b"x" * (20 * 2**20)

    result, page = preview(tmp_path, content)

    assert result.info == {
        "lines": 1,
        "bytes": 20 * 2**20,
        "lines_shown": 1,
        "language": "Text only",
        "truncated": True,
    }
    assert 64 * 1024 <= len(page) < 100 * 1024


def test_byte_order_mark_and_invalid_bytes(tmp_path):
    content = "\ufeffcafé\n".encode() + b"bad \xff byte\n"

    result, page = preview(tmp_path, content)

    assert result.info["lines"] == 2
    assert result.info["bytes"] == len(content)
    assert "\ufeff" not in page
    assert "café" in page
    assert "bad \ufffd byte" in page


def test_a_cut_inside_a_character_does_not_show_a_broken_one(tmp_path):
    # 64 KiB ends after the first byte of a two-byte "é".
    content = ("a" + "é" * 40_000).encode()

    _, page = preview(tmp_path, content)

    assert "é" * 32_767 in page
    assert "\ufffd" not in page


def test_utf16_text_is_shown_decoded(tmp_path):
    src = tmp_path / "notes.txt"
    src.write_bytes("".join(f"Zeile {n}: Grüße\n" for n in range(1, 101)).encode("utf-16"))
    out = tmp_path / "out"
    out.mkdir()
    result = make(src, out, label="PREVIEW", name="notes.txt", limits=Limits())
    page = (out / "head.html").read_text()
    assert "Zeile 40: Grüße" in page and "Zeile 41" not in page
    assert result.info["lines"] == 100
    assert result.info["lines_shown"] == 40
    assert result.info["truncated"] is True
