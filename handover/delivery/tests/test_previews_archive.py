"""The archive preview: the listing of names and sizes, never the content."""

import bz2
import gzip
import io
import lzma
import tarfile
import zipfile
from pathlib import Path

import pytest

from handover.delivery.previews import Limits, PreviewError, Result
from handover.delivery.previews import archive as archive_preview

LABEL = "PREVIEW · order 123 · buyer alice"
COMPRESS = {"": lambda data: data, "gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}


def preview(tmp_path: Path, content: bytes) -> Result:
    src, out_dir = tmp_path / "original", tmp_path / "out"
    src.write_bytes(content)
    out_dir.mkdir()
    result = archive_preview.make(src, out_dir, label=LABEL, name="work", limits=Limits())
    assert result.parts == []
    assert list(out_dir.iterdir()) == []  # nothing extracted, nothing written
    return result


def zip_bytes(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            if name.endswith("/"):
                archive.mkdir(name)
            else:
                archive.writestr(name, data)
    return out.getvalue()


def tar_bytes(members: list[tarfile.TarInfo], compression: str = "") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for member in members:
            data = b"x" * member.size if member.isreg() else None
            archive.addfile(member, io.BytesIO(data) if data is not None else None)
    return COMPRESS[compression](out.getvalue())


def member(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE, target: str = ""):
    info = tarfile.TarInfo(name)
    info.size, info.type, info.linkname = size, kind, target
    return info


def by_name(result: Result) -> dict[str, dict]:
    return {entry["name"]: entry for entry in result.info["entries"]}


def test_a_zip_is_listed_from_its_directory(tmp_path):
    content = zip_bytes({"docs/": b"", "docs/readme.txt": b"hello " * 100, "logo.png": b"\x89P"})

    result = preview(tmp_path, content)

    assert result.info["format"] == "zip"
    assert result.info["entries"][0] == {
        "name": "docs/",
        "size": 0,
        "compressed_size": 0,
        "type": "dir",
        "flags": [],
    }
    readme = by_name(result)["docs/readme.txt"]
    assert (readme["size"], readme["type"], readme["flags"]) == (600, "file", [])
    assert 0 < readme["compressed_size"] < 600
    assert {k: v for k, v in result.info.items() if k != "entries"} == {
        "format": "zip",
        "entry_count": 3,
        "listed": 3,
        "truncated": False,
        "total_size": 602,
        "compression_ratio": round(602 / len(content), 1),
        "warnings": [],
    }


@pytest.mark.parametrize("compression", ["", "gz", "bz2", "xz"])
def test_a_tar_is_listed_from_its_headers(tmp_path, compression):
    members = [member("src/", kind=tarfile.DIRTYPE), member("src/main.c", 1234)]
    members.append(member("a" * 150 + "/long-name.txt", 10))  # needs a pax header

    result = preview(tmp_path, tar_bytes(members, compression))

    assert result.info["format"] == ("tar." + compression if compression else "tar")
    assert result.info["entries"] == [
        {"name": "src", "size": 0, "type": "dir", "flags": []},
        {"name": "src/main.c", "size": 1234, "type": "file", "flags": []},
        {"name": "a" * 150 + "/long-name.txt", "size": 10, "type": "file", "flags": []},
    ]
    assert (result.info["entry_count"], result.info["total_size"]) == (3, 1244)
    assert result.info["truncated"] is False


@pytest.mark.parametrize("source", ["zip", "tar"])
def test_names_that_climb_out_or_are_absolute_are_flagged(tmp_path, source):
    names = ["ok/file.txt", "../evil.sh", "/etc/cron.d/job", "a/../../b", "C:\\boot.ini", "..\\x"]
    if source == "zip":
        content = zip_bytes(dict.fromkeys(names, b"x"))
    else:
        content = tar_bytes([member(name) for name in names])

    result = preview(tmp_path, content)

    flagged = [e["name"] for e in result.info["entries"] if "path_traversal" in e["flags"]]
    assert flagged == names[1:]
    assert "entries with unsafe paths" in result.info["warnings"]


def test_links_are_flagged_with_their_target(tmp_path):
    content = tar_bytes(
        [
            member("config", kind=tarfile.SYMTYPE, target="/etc/passwd"),
            member("copy", kind=tarfile.LNKTYPE, target="config"),
        ],
        "gz",
    )

    entries = preview(tmp_path, content).info["entries"]

    assert [(e["name"], e["type"], e["flags"], e["target"]) for e in entries] == [
        ("config", "symlink", ["link"], "/etc/passwd"),
        ("copy", "other", ["link"], "config"),
    ]


def test_a_symlink_in_a_zip_is_flagged(tmp_path):
    link = zipfile.ZipInfo("shortcut")
    link.external_attr = (0o120777 << 16) | 0x20
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(link, "/etc/passwd")

    entry = preview(tmp_path, out.getvalue()).info["entries"][0]

    assert (entry["type"], entry["flags"]) == ("symlink", ["link"])


def test_a_zip_bomb_is_listed_with_a_warning_and_not_unpacked(tmp_path):
    out = io.BytesIO()
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("zeros.bin", "w", force_zip64=True) as entry,
    ):
        chunk = bytes(1 << 20)
        for _ in range(100):
            entry.write(chunk)

    result = preview(tmp_path, out.getvalue())

    assert result.info["entries"][0]["size"] == 100 * 2**20
    assert result.info["compression_ratio"] > 100
    assert "suspicious compression ratio (zip bomb?)" in result.info["warnings"]


@pytest.mark.parametrize("source", ["zip", "tar.gz"])
def test_more_than_1000_entries_are_counted_but_1000_listed(tmp_path, source):
    names = [f"frames/{n:05}.png" for n in range(1500)]
    if source == "zip":
        content = zip_bytes(dict.fromkeys(names, b""))
    else:
        content = tar_bytes([member(name) for name in names], "gz")

    result = preview(tmp_path, content)

    assert result.info["entry_count"] == 1500
    assert result.info["listed"] == len(result.info["entries"]) == 1000
    assert result.info["entries"][-1]["name"] == "frames/00999.png"
    assert result.info["truncated"] is True


def test_a_compressed_tar_is_read_only_up_to_a_budget(tmp_path, monkeypatch):
    # As if 4 MB were the budget: the 64 MB member is not decompressed to reach what follows.
    monkeypatch.setattr(archive_preview, "READ_BYTES", 4 << 20)
    members = [member("small.txt", 10), member("zeros.bin", 64 << 20), member("after.txt", 1)]

    result = preview(tmp_path, tar_bytes(members, "gz"))

    assert [e["name"] for e in result.info["entries"]] == ["small.txt", "zeros.bin"]
    assert result.info["truncated"] is True
    assert any("reading stopped" in warning for warning in result.info["warnings"])


def test_counting_stops_at_the_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(archive_preview, "COUNT_CAP", 50)

    result = preview(tmp_path, tar_bytes([member(f"f{n}") for n in range(80)]))

    assert result.info["entry_count"] == 50
    assert "counting stopped at 50 entries" in result.info["warnings"]


def test_names_cannot_hide_or_reorder_characters(tmp_path):
    tricky = "invoice\u202efdp.exe"  # shows as "invoiceexe.pdf" when not replaced
    content = zip_bytes({tricky: b"x", "line\nbreak": b"x", "n" * 1000: b"x"})

    names = [e["name"] for e in preview(tmp_path, content).info["entries"]]

    assert names[:2] == ["invoice\ufffdfdp.exe", "line\ufffdbreak"]
    assert len(names[2]) == 300
    assert names[2].endswith("…")


def test_a_gzip_that_is_not_a_tar_is_not_unpacked(tmp_path):
    result = preview(tmp_path, gzip.compress(b"just one file\n" * 1000))

    assert result.info == {
        "format": "gzip",
        "entries": [],
        "note": "compressed single file; contents are not shown",
    }


@pytest.mark.parametrize(
    "damage",
    [
        lambda zipped: zipped[:-30],  # end of the central directory cut off
        lambda zipped: zipped.replace(b"PK\x01\x02", b"PK\x09\x09"),  # directory overwritten
    ],
    ids=["cut", "overwritten"],
)
def test_a_damaged_zip_is_refused(tmp_path, damage):
    content = damage(zip_bytes({"a.txt": b"a" * 100, "b.txt": b"b"}))

    with pytest.raises(PreviewError, match=r"^The archive is damaged: "):
        preview(tmp_path, content)


def test_a_truncated_tar_gz_is_refused(tmp_path):
    content = tar_bytes([member("a.bin", 200_000), member("b.bin", 10)], "gz")

    with pytest.raises(PreviewError, match=r"^The archive is damaged: "):
        preview(tmp_path, content[: len(content) // 2])


def test_a_file_that_is_no_archive_is_refused(tmp_path):
    with pytest.raises(PreviewError, match="not an archive"):
        preview(tmp_path, b"plain words, not an archive\n" * 50)
