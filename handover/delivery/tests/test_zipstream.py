"""The ZIP written as it is sent: what unzip tools read back, its length known first, ZIP64
past the limits, and the names in it made safe. Pure: no database, no storage."""

import io
import os
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from handover.delivery import zipstream
from handover.delivery.zipstream import Entry, ZipLayout, safe_name, safe_names, zip_chunks

WHEN = datetime(2026, 5, 1, 12, 30, 10, tzinfo=UTC)


def archive(contents: dict[str, bytes], block: int = 7) -> tuple[bytes, ZipLayout, list]:
    entries = [Entry(name, len(data), WHEN) for name, data in contents.items()]
    layout = ZipLayout(entries)
    datas = list(contents.values())
    told: list[tuple[int, int, bool]] = []

    def read(index: int):
        data = datas[index]
        for start in range(0, len(data), block):
            yield data[start : start + block]

    body = b"".join(zip_chunks(layout, read, lambda *args: told.append(args)))
    return body, layout, told


def unzip_test(body: bytes, tmp_path: Path) -> None:
    """Info-ZIP's unzip, where the machine has it, reads the archive as Python does."""
    if shutil.which("unzip") is None:
        return
    path = tmp_path / "all.zip"
    path.write_bytes(body)
    result = subprocess.run(["unzip", "-tq", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_archive_holds_each_file_byte_for_byte_and_its_length_was_known_first(tmp_path):
    contents = {"a.txt": b"", "logo é.png": os.urandom(1000), "notes.md": b"x" * 33}
    body, layout, told = archive(contents)
    assert len(body) == layout.length
    with zipfile.ZipFile(io.BytesIO(body)) as zipped:
        assert zipped.testzip() is None  # every CRC checks
        assert zipped.namelist() == list(contents)
        for name, data in contents.items():
            assert zipped.read(name) == data
            info = zipped.getinfo(name)
            assert info.compress_type == zipfile.ZIP_STORED
            assert info.date_time == (2026, 5, 1, 12, 30, 10)
    assert told == [(0, 0, True), (1, 1000, True), (2, 33, True)]
    unzip_test(body, tmp_path)


def test_zip64_records_are_written_past_the_limits_and_read_back(monkeypatch, tmp_path):
    # The thresholds lowered, so every size, offset and count takes its ZIP64 form without
    # sending gigabytes (the real 4 GiB case is in bench/zipall.py).
    monkeypatch.setattr(zipstream, "ZIP64_FROM", 50)
    monkeypatch.setattr(zipstream, "COUNT_FROM", 2)
    contents = {"small": b"s" * 10, "big": os.urandom(120), "bigger": os.urandom(300)}
    body, layout, _told = archive(contents)
    assert len(body) == layout.length
    assert b"PK\x06\x06" in body and b"PK\x06\x07" in body  # the ZIP64 end records
    with zipfile.ZipFile(io.BytesIO(body)) as zipped:
        assert zipped.testzip() is None
        assert {name: zipped.read(name) for name in zipped.namelist()} == contents
    unzip_test(body, tmp_path)


def test_a_client_gone_before_a_block_was_handed_over_leaves_that_file_untold():
    contents = {"one": b"1" * 20, "two": b"2" * 20, "three": b"3" * 20}
    layout = ZipLayout([Entry(n, len(d), WHEN) for n, d in contents.items()])
    told: list[tuple[int, int, bool]] = []
    datas = list(contents.values())
    chunks = zip_chunks(
        layout, lambda i: iter([datas[i][:10], datas[i][10:]]), lambda *a: told.append(a)
    )
    taken = [next(chunks) for _ in range(6)]  # header, data, data, descriptor, header, data
    assert taken[1] == b"1" * 10
    chunks.close()  # the server stops iterating while the second file's first half is out
    # The second file's first block was yielded but the consumer never asked for more, so
    # it was never handed over: nothing of it is on the record.
    assert told == [(0, 20, True)]


def test_a_client_gone_after_a_block_of_a_file_has_that_block_told():
    layout = ZipLayout([Entry("one", 20, WHEN), Entry("two", 20, WHEN)])
    told: list[tuple[int, int, bool]] = []
    chunks = zip_chunks(layout, lambda i: iter([b"a" * 10, b"b" * 10]), lambda *a: told.append(a))
    for _ in range(7):  # ... the second file's header, its first block, and on to its second
        next(chunks)
    chunks.close()
    assert told == [(0, 20, True), (1, 10, False)]


def test_a_stored_file_of_the_wrong_size_breaks_the_transfer_instead_of_the_archive():
    layout = ZipLayout([Entry("short", 20, WHEN)])
    chunks = zip_chunks(layout, lambda i: iter([b"only ten b"]), lambda *a: None)
    with pytest.raises(OSError, match="10 bytes stored, 20 expected"):
        b"".join(chunks)


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\Desktop\\logo.png", "logo.png"),
        ("/absolute/path.txt", "path.txt"),
        ("..", "file-1"),
        ("...", "file-1"),
        ("", "file-1"),
        ("   ", "file-1"),
        ("a\x00b\x1fc.txt", "a_b_c.txt"),
        ('what?<>:*|".png', "what_______.png"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),  # no right-to-left override
        ("CON.txt", "_CON.txt"),
        ("lpt1", "_lpt1"),
        ("report. ", "report"),
        ("Cafe\u0301.png", "Café.png"),  # composed (NFC): one name on every system
        ("logo 日本語.svg", "logo 日本語.svg"),
        (".htaccess", ".htaccess"),
    ],
)
def test_names_are_made_one_plain_file_name(given, safe):
    assert safe_name(given, fallback="file-1") == safe


def test_long_names_keep_their_extension_within_the_limit():
    name = safe_name("é" * 300 + ".jpeg", fallback="x")
    assert name.endswith("é.jpeg")
    assert len(name.encode("utf-8")) <= zipstream.MAX_NAME_BYTES


def test_duplicates_are_numbered_as_a_case_insensitive_disk_sees_them():
    names = ["logo.png", "LOGO.png", "dir/logo.png", "logo.png", "notes", "notes", "", ""]
    assert safe_names(names) == [
        "logo.png",
        "LOGO (2).png",
        "logo (3).png",
        "logo (4).png",
        "notes",
        "notes (2)",
        "file-7",
        "file-8",
    ]


def test_a_long_duplicate_keeps_its_number():
    long = "n" * 300 + ".txt"
    first, second = safe_names([long, long])
    assert second.endswith(" (2).txt") and first != second
    assert len(second.encode("utf-8")) <= zipstream.MAX_NAME_BYTES
