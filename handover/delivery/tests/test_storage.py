"""What a presigned S3 link says the bytes are: a browser may show them, never run them."""

import pytest

from handover.delivery.storage import served_type


@pytest.mark.parametrize(
    "content_type",
    [
        "image/jpeg",
        "image/png",
        "application/pdf",
        "audio/mpeg",
        "video/mp4",
        "text/plain; charset=utf-8",
    ],
)
def test_what_a_browser_only_shows_keeps_its_type(content_type):
    assert served_type(content_type) == content_type


@pytest.mark.parametrize(
    "content_type",
    [
        "text/html",
        "TEXT/HTML; charset=utf-8",
        "image/svg+xml",
        "application/xhtml+xml",
        "text/xml",
        "application/javascript",
        "application/zip",
        "",
    ],
)
def test_anything_a_browser_could_run_is_opaque_bytes(content_type):
    assert served_type(content_type) == "application/octet-stream"
