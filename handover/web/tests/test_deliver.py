"""The delivery page: files stream into storage through the upload middleware, as the API's
do, under the session's user; the CSRF check comes before a byte is stored; the delivery is
one ``order_deliver`` call with the ticked checklist."""

import io
import re
import tracemalloc

import pytest
from django.test import Client
from django.test.client import ClientHandler

from handover.delivery import uploads
from handover.delivery.models import Delivery, DeliveryFile
from handover.delivery.tests.test_uploads import GeneratedMultipart
from handover.disputes.services import dispute_open
from handover.evidence.models import EventType
from handover.orders.rules import State
from handover.testing.factories import order_in_state
from handover.testing.files import (
    png_bytes,
    scratch_files,
    stored_bytes,
    stored_objects,
    text_bytes,
    upload,
)
from handover.testing.snapshots import db_snapshot
from handover.web.tests.helpers import field_errors, page_messages

ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + bytes(200)


@pytest.fixture
def in_progress(buyer, seller, support):
    return order_in_state(State.IN_PROGRESS, buyer=buyer, seller=seller, support=support)


@pytest.fixture
def nothing_stored(monkeypatch):
    """Fails the test if the upload opens a single object in storage."""

    def refuse(key):
        raise AssertionError(f"an object was opened for writing: {key}")

    monkeypatch.setattr(uploads, "writer_open", refuse)


def url(order) -> str:
    return f"/orders/{order.pk}/deliver/"


def csrf_client(user) -> tuple[Client, str]:
    """A client that sends no CSRF token unless told, and the token its page would carry."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client, client.cookies["csrftoken"].value if "csrftoken" in client.cookies else ""


def page_token(client: Client, order) -> str:
    html = client.get(url(order)).content.decode()
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_the_seller_delivers_files_with_a_message_and_the_checklist(client, in_progress, seller):
    client.force_login(seller)
    form = client.get(url(in_progress))
    assert form.status_code == 200
    html = form.content.decode()
    assert 'enctype="multipart/form-data"' in html and "Company name?" in html
    assert html.index("csrfmiddlewaretoken") < html.index('type="file"')  # the token goes first
    picture, notes = png_bytes(), text_bytes(5)
    response = client.post(
        url(in_progress),
        {
            "text": "Two concepts.",
            "tick_0": "on",
            "note_0": "The name is on both.",
            "note_1": "not ticked, so not recorded",
            "files": [upload(picture, "logo.png"), upload(notes, "notes.md")],
        },
        follow=True,
    )
    assert page_messages(response) == ["Delivered 2 files. The buyer sees the previews."]
    in_progress.refresh_from_db()
    assert in_progress.state == State.DELIVERED
    delivery = in_progress.deliveries.get()
    files = {f.name: f for f in delivery.files.all()}
    assert stored_bytes(files["logo.png"].storage_key) == picture
    assert stored_bytes(files["notes.md"].storage_key) == notes
    assert [(c.requirement, c.note) for c in delivery.checklist.all()] == [
        (0, "The name is on both.")
    ]
    event = in_progress.events.filter(type=EventType.ORDER_TRANSITION).order_by("id").last()
    assert event.payload["action"] == "deliver" and event.payload["message"] == "Two concepts."
    assert {key.split("/")[0] for key in stored_objects()} == {"originals"}


def test_each_requirement_names_the_files_that_answer_it(client, in_progress, seller, support):
    client.force_login(seller)
    response = client.post(
        url(in_progress),
        {
            "tick_0": "on",
            "files_1": " palette.txt ",  # naming a file ticks the item
            "note_1": "hex codes",
            "files": [upload(png_bytes(), "logo.png"), upload(text_bytes(5), "palette.txt")],
        },
        follow=True,
    )
    assert page_messages(response) == ["Delivered 2 files. The buyer sees the previews."]
    delivery = in_progress.deliveries.get()
    ticked = {
        c.requirement: sorted(f.name for f in c.files.all()) for c in delivery.checklist.all()
    }
    assert ticked == {0: ["logo.png", "palette.txt"], 1: ["palette.txt"]}  # 0: the whole delivery
    html = response.content.decode()
    assert 'Colours? <span class="small">(palette.txt)</span>' in html
    # Support compares each requirement with only the files ticked for it.
    dispute_open(order_id=in_progress.pk, user=in_progress.buyer, text="Not the colours.")
    dispute = in_progress.disputes.get()
    client.force_login(support)
    desk = client.get(f"/support/disputes/{dispute.pk}/").content.decode()
    compared = desk[
        desk.index('<ol class="compare"') : desk.index("</ol>", desk.index('<ol class="compare"'))
    ]
    rows = compared.split('<li class="compare__row')[1:]
    assert rows[1].count(">logo.png</a>") == 0 and rows[1].count(">palette.txt</a>") == 1
    assert rows[0].count(">logo.png</a>") == 1 and rows[0].count(">palette.txt</a>") == 1


def test_a_file_name_not_in_the_delivery_is_shown_beside_its_field_and_nothing_is_kept(
    client, in_progress, seller
):
    client.force_login(seller)
    objects, before = stored_objects(), db_snapshot()
    response = client.post(
        url(in_progress),
        {
            "files_1": "palette.txt, <script>x</script>",
            "files": [upload(text_bytes(5), "palette.txt")],
        },
    )
    assert response.status_code == 422
    assert field_errors(response, "files_1") == [
        "No file named “<script>x</script>” in this delivery."
    ]
    assert "<script>x</script>" not in response.content.decode()  # escaped
    assert stored_objects() == objects
    assert db_snapshot() == before


def test_the_pages_script_is_answered_with_where_to_go(client, in_progress, seller):
    client.force_login(seller)
    response = client.post(
        url(in_progress),
        {"text": "", "files": [upload(png_bytes(), "a.png")]},
        headers={"X-Handover-Upload": "1"},
    )
    assert response.status_code == 200
    assert response.json() == {"location": f"/orders/{in_progress.pk}/"}
    assert page_messages(client.get(f"/orders/{in_progress.pk}/")) == [
        "Delivered 1 file. The buyer sees the previews."
    ]


def test_a_delivery_without_a_csrf_token_is_refused_before_a_byte_is_stored(
    in_progress, seller, nothing_stored
):
    client, _ = csrf_client(seller)
    page_token(client, in_progress)  # the page was seen: the cookie is set
    objects, scratch, before = stored_objects(), scratch_files(), db_snapshot()
    response = client.post(url(in_progress), {"files": [upload(png_bytes(), "logo.png")]})
    assert response.status_code == 403
    assert stored_objects() == objects and scratch_files() == scratch
    assert db_snapshot() == before


def test_a_token_sent_after_the_files_is_too_late(in_progress, seller, nothing_stored):
    """The check is made when the first file begins, with what came before it."""
    client, _ = csrf_client(seller)
    token = page_token(client, in_progress)
    before = db_snapshot()
    response = client.post(
        url(in_progress), {"files": [upload(png_bytes(), "logo.png")], "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 403
    assert db_snapshot() == before


def test_a_delivery_from_another_site_is_refused(in_progress, seller, nothing_stored):
    client, _ = csrf_client(seller)
    token = page_token(client, in_progress)
    before = db_snapshot()
    response = client.post(
        url(in_progress),
        {"csrfmiddlewaretoken": token, "files": [upload(png_bytes(), "logo.png")]},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert db_snapshot() == before


@pytest.mark.parametrize("header", [False, True])
def test_with_the_pages_token_the_delivery_goes_through(in_progress, seller, header):
    client, _ = csrf_client(seller)
    token = page_token(client, in_progress)
    data: dict = {"files": [upload(png_bytes(), "logo.png")]}
    headers = {"X-CSRFToken": token} if header else {}
    if not header:
        data = {"csrfmiddlewaretoken": token, **data}
    response = client.post(url(in_progress), data, headers=headers)
    assert response.status_code == 302
    in_progress.refresh_from_db()
    assert in_progress.state == State.DELIVERED


def test_a_refused_file_is_shown_beside_the_field_and_nothing_is_kept(client, in_progress, seller):
    client.force_login(seller)
    objects, before = stored_objects(), db_snapshot()
    response = client.post(
        url(in_progress),
        {
            "text": "Kept for the next try",
            "tick_1": "on",
            "files": [upload(png_bytes(), "logo.png"), upload(ELF, "tool.bin")],
        },
    )
    assert response.status_code == 415
    assert field_errors(response, "files") == [
        "tool.bin: Executable programs cannot be delivered "
        "(this looks like a Linux program or library)."
    ]
    html = response.content.decode()
    assert "Kept for the next try" in html  # the fields sent before the files stay
    assert re.search(r'<input[^>]*name="tick_1"[^>]*checked', html)
    assert stored_objects() == objects  # logo.png, stored before tool.bin came, is gone too
    assert db_snapshot() == before


def test_a_delivery_needs_a_file(client, in_progress, seller):
    client.force_login(seller)
    before = db_snapshot()
    response = client.post(url(in_progress), {"text": "Nothing attached"})
    assert response.status_code == 422
    assert field_errors(response, "files") == ["A delivery needs at least one file."]
    assert db_snapshot() == before


def test_an_upload_of_unknown_length_gets_411_and_nothing_is_stored(
    client, in_progress, seller, nothing_stored
):
    client.force_login(seller)
    before = db_snapshot()
    # As a chunked body arrives: the length is not known before it is read.
    response = client.post(
        url(in_progress),
        {"files": [upload(png_bytes())]},
        CONTENT_LENGTH="",
        headers={"Transfer-Encoding": "chunked"},
    )
    assert response.status_code == 411
    assert "Content-Length" in response.content.decode()
    assert db_snapshot() == before


def test_the_buyer_cannot_deliver_and_nothing_is_stored(client, in_progress, buyer, nothing_stored):
    client.force_login(buyer)
    assert "Deliver the work" not in client.get(f"/orders/{in_progress.pk}/").content.decode()
    before = db_snapshot()
    response = client.post(url(in_progress), {"files": [upload(png_bytes())]}, follow=True)
    assert page_messages(response) == ["You cannot deliver on this order now."]
    assert db_snapshot() == before


def test_a_stranger_gets_404_and_nothing_is_stored(client, in_progress, stranger, nothing_stored):
    client.force_login(stranger)
    before = db_snapshot()
    assert client.get(url(in_progress)).status_code == 404
    assert client.post(url(in_progress), {"files": [upload(png_bytes())]}).status_code == 404
    assert db_snapshot() == before


def test_without_a_session_the_upload_is_not_read(client, in_progress, nothing_stored):
    response = client.post(url(in_progress), {"files": [upload(png_bytes())]})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert Delivery.objects.count() == 0


@pytest.fixture
def completed(buyer, seller, support):
    return order_in_state(State.COMPLETED, buyer=buyer, seller=seller, support=support)


def test_a_delivery_on_a_completed_order_is_refused(client, completed, seller, nothing_stored):
    order = completed
    client.force_login(seller)
    before = db_snapshot()
    response = client.post(url(order), {"files": [upload(png_bytes())]}, follow=True)
    assert page_messages(response) == ["You cannot deliver on this order now."]
    assert db_snapshot() == before


def _web_upload_peak(user, order, size: int) -> int:
    """Deliver one generated file of ``size`` bytes through the page's path, with the
    session's cookie and the CSRF header the page's script sends; the peak of memory."""
    client = Client()
    client.force_login(user)
    client.get(url(order))  # sets the CSRF cookie, as opening the page does
    token = client.cookies["csrftoken"].value
    body = GeneratedMultipart(size)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": url(order),
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": f"multipart/form-data; boundary={body.boundary}",
        "CONTENT_LENGTH": str(body.content_length),
        "HTTP_COOKIE": "; ".join(f"{k}={v.value}" for k, v in client.cookies.items()),
        "HTTP_X_CSRFTOKEN": token,
        "HTTP_X_HANDOVER_UPLOAD": "1",
        "wsgi.input": io.BufferedReader(body, 1024 * 1024),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    tracemalloc.start()
    try:
        response = ClientHandler(enforce_csrf_checks=True)(environ)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 200
    stored = DeliveryFile.objects.get(delivery__order=order)
    assert (stored.size, stored.sha256) == (size, body.sha256.hexdigest())
    return peak


def test_a_large_delivery_through_the_page_streams_with_flat_memory(buyer, seller, support):
    small, large = (
        order_in_state(State.IN_PROGRESS, buyer=buyer, seller=seller, support=support)
        for _ in range(2)
    )
    small_peak = _web_upload_peak(seller, small, 10 * 1024 * 1024)
    large_peak = _web_upload_peak(seller, large, 100 * 1024 * 1024)
    assert large_peak < 12 * 2**20, f"peak {large_peak / 2**20:.1f} MiB"
    assert large_peak - small_peak < 2 * 2**20
