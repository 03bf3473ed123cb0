"""The buyer's preview gallery and the file routes of the pages: the same access rule and
the same responses as the API's, each view and download on the order's record."""

import io
import subprocess
import wave
import zipfile
from pathlib import Path

import imageio_ffmpeg  # type: ignore[import-untyped]
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.csp import CSP

from handover.delivery.models import DeliveryFile
from handover.delivery.services import order_deliver
from handover.evidence.models import EventType
from handover.orders.rules import State
from handover.orders.services import order_accept
from handover.testing.factories import order_in_state
from handover.testing.files import pdf_bytes, png_bytes, text_bytes
from handover.testing.steps import previews_run
from handover.web.tests.helpers import page_messages


def wav_bytes(seconds: float = 1.0, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(rate)
        sound.writeframes(bytes(int(seconds * rate) * 2))
    return out.getvalue()


def mp4_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "clip.mp4"
    source = "testsrc=duration=1:size=320x240:rate=10"
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-f", "lavfi"]
    subprocess.run([*command, "-i", source, "-pix_fmt", "yuv420p", "-y", path], check=True)
    return path.read_bytes()


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("fonts/brand.otf", b"font" * 100)
        archive.writestr("README.txt", b"read me")
    return out.getvalue()


def gallery_order(buyer, seller, support, scratch: Path):
    """A delivered order with one file of each kind, previews made."""
    order = order_in_state(State.IN_PROGRESS, buyer=buyer, seller=seller, support=support)
    files = [
        ("logo.png", png_bytes()),
        ("brief.pdf", pdf_bytes(4)),
        ("notes.md", text_bytes(60)),
        ("fonts.zip", zip_bytes()),
        ("jingle.wav", wav_bytes()),
        ("clip.mp4", mp4_bytes(scratch)),
    ]
    order_deliver(
        order_id=order.pk,
        user=seller,
        text="All of it",
        files=[SimpleUploadedFile(name, data) for name, data in files],
    )
    previews_run()
    order.refresh_from_db()
    return order


@pytest.fixture
def gallery(buyer, seller, support, tmp_path):
    return gallery_order(buyer, seller, support, tmp_path)


def file_of(order, name: str) -> DeliveryFile:
    return DeliveryFile.objects.get(delivery__order=order, name=name)


def test_the_buyer_sees_a_preview_of_each_kind_and_no_original(client, gallery, buyer):
    client.force_login(buyer)
    html = client.get(f"/orders/{gallery.pk}/").content.decode()
    logo, notes = file_of(gallery, "logo.png"), file_of(gallery, "notes.md")
    jingle, clip = file_of(gallery, "jingle.wav"), file_of(gallery, "clip.mp4")
    assert {f.preview_state for f in DeliveryFile.objects.all()} == {"ready"}
    for text in (
        "The original files unlock when you accept the delivery.",
        # An image opens larger in the lightbox, or by itself without the script.
        f'<a class="thumb" href="/files/{logo.pk}/preview/?part=0" data-lightbox="logo.png">',
        f'<img src="/files/{logo.pk}/preview/?part=0" alt="Watermarked preview of logo.png"',
        '<dialog id="lightbox"',
        "4 pages, A4. The first page shown, watermarked (at most a quarter of a document",
        'alt="Page 1 of brief.pdf, watermarked"',
        f'<audio controls preload="none" src="/files/{jingle.pk}/preview/?part=0"',
        f'<video controls preload="none" src="/files/{clip.pk}/preview/?part=0" '
        f'poster="/files/{clip.pk}/preview/?part=1"',
        f'<img src="/files/{notes.pk}/preview/?part=0" alt="The opening of notes.md, drawn',
        "and 15 of 60 lines shown",
        "at most a quarter of a text is shown, the rest comes with the original",
        "fonts/brand.otf",
        "README.txt",
    ):
        assert text in html, text
    assert "/original/" not in html


def test_the_seller_may_download_the_originals(client, gallery, seller):
    client.force_login(seller)
    logo = file_of(gallery, "logo.png")
    html = client.get(f"/orders/{gallery.pk}/").content.decode()
    assert f'href="/files/{logo.pk}/original/"' in html
    response = client.get(f"/files/{logo.pk}/original/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == png_bytes()


def test_a_preview_is_served_with_its_own_policy_and_recorded(client, gallery, buyer):
    client.force_login(buyer)
    logo, notes = file_of(gallery, "logo.png"), file_of(gallery, "notes.md")
    response = client.get(f"/files/{logo.pk}/preview/", {"part": 0})
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response[CSP.HEADER_ENFORCE.value].startswith("default-src 'none'")
    assert response["Content-Disposition"].startswith("inline")
    event = gallery.events.filter(type=EventType.PREVIEW_VIEWED).get()
    assert event.payload["file_id"] == logo.pk and event.actor_id == buyer.pk
    text = client.get(f"/files/{notes.pk}/preview/")
    assert text["X-Frame-Options"] == "SAMEORIGIN"  # framed by the order page only
    assert "sandbox" in text[CSP.HEADER_ENFORCE.value]
    assert client.get(f"/files/{logo.pk}/preview/", {"part": 7}).status_code == 404
    assert client.get(f"/files/{logo.pk}/preview/", {"part": "x"}).status_code == 404


def test_the_buyer_is_refused_originals_until_the_order_completes(client, gallery, buyer):
    client.force_login(buyer)
    logo = file_of(gallery, "logo.png")
    response = client.get(f"/files/{logo.pk}/original/", follow=True)
    assert response.redirect_chain == [(f"/orders/{gallery.pk}/", 302)]
    assert page_messages(response) == ["Originals are released when the order completes."]
    assert gallery.events.filter(type=EventType.ORIGINAL_REFUSED).count() == 1

    order_accept(order_id=gallery.pk, user=buyer)
    html = client.get(f"/orders/{gallery.pk}/").content.decode()
    assert f'href="/files/{logo.pk}/original/"' in html
    assert "The original files unlock" not in html
    response = client.get(f"/files/{logo.pk}/original/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="logo.png"'
    assert b"".join(response.streaming_content) == png_bytes()
    downloaded = gallery.events.filter(type=EventType.ORIGINAL_DOWNLOADED).get()
    assert downloaded.actor_id == buyer.pk and downloaded.payload["file_id"] == logo.pk


def test_strangers_get_404_for_previews_and_originals(client, gallery, stranger):
    logo = file_of(gallery, "logo.png")
    for path in (f"/files/{logo.pk}/preview/", f"/files/{logo.pk}/original/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    client.force_login(stranger)
    events = gallery.events.count()
    assert client.get(f"/files/{logo.pk}/preview/").status_code == 404
    assert client.get(f"/files/{logo.pk}/original/").status_code == 404
    assert client.get("/files/999999/preview/").status_code == 404
    assert gallery.events.count() == events


def test_a_preview_being_made_says_so(client, buyer, seller, support):
    order = order_in_state(State.IN_PROGRESS, buyer=buyer, seller=seller, support=support)
    work = [SimpleUploadedFile("work.png", png_bytes())]
    file = order_deliver(order_id=order.pk, user=seller, text="", files=work).files.get()
    client.force_login(buyer)
    response = client.get(f"/files/{file.pk}/preview/")
    assert response.status_code == 409
    assert response.content.decode() == "The preview is being made; try again shortly."
