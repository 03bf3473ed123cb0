"""The buyer's reference files on the pages: the order form takes files for each answer and
the chat form takes files (multipart, no script needed), both through the upload middleware
with its CSRF check before a byte is stored; the order page lists them under each answer and
message, and both parties download them at once."""

import re

import pytest
from django.test import Client

from handover.evidence.models import Event, EventType
from handover.orders.models import Attachment, Order
from handover.orders.rules import State
from handover.testing.factories import order_in_state
from handover.testing.files import png_bytes, scratch_files, stored_objects, upload
from handover.testing.snapshots import db_snapshot
from handover.web.tests.helpers import field_errors

ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + bytes(200)


@pytest.fixture
def in_progress(buyer, seller, support):
    return order_in_state(State.IN_PROGRESS, buyer=buyer, seller=seller, support=support)


def download(client: Client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, response.content[:200]
    return b"".join(response.streaming_content)  # type: ignore[attr-defined]


def file_links(html: str) -> list[str]:
    return re.findall(r'href="(/orders/\d+/attachments/\d+/)"', html)


def test_the_order_form_takes_reference_files_for_each_answer(client, buyer, seller, offer):
    client.force_login(buyer)
    form = client.get(f"/offers/{offer.pk}/order/").content.decode()
    assert 'enctype="multipart/form-data"' in form
    assert form.index("csrfmiddlewaretoken") < form.index('type="file"')
    # Every answer comes before the first file: a refused file leaves them all typed.
    assert form.rindex('name="answer_') < form.index('type="file"')
    photo = png_bytes(seed=6)
    response = client.post(
        f"/offers/{offer.pk}/order/",
        {"answer_0": "ACME", "answer_1": "navy", "files_1": [upload(photo, "swatch.png")]},
    )
    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.pk}/"
    [attachment] = Attachment.objects.all()
    assert (attachment.requirement, attachment.name) == (1, "swatch.png")
    assert attachment.storage_key.startswith("references/new/")
    placed = Event.objects.get(type=EventType.ORDER_PLACED)
    assert placed.payload["files"][0]["sha256"] == attachment.sha256
    # The seller sees it under the answer, and takes it whole at once.
    client.force_login(seller)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    [link] = file_links(page)
    assert page.index("navy") < page.index("swatch.png") < page.index('id="record-title"')
    assert download(client, link) == photo
    assert Event.objects.filter(type=EventType.ATTACHMENT_DOWNLOADED, actor=seller).count() == 1


def test_a_refused_file_on_the_order_form_is_shown_beside_it_and_places_nothing(
    client, buyer, offer
):
    client.force_login(buyer)
    before_rows, before_objects = db_snapshot(), stored_objects()
    response = client.post(
        f"/offers/{offer.pk}/order/",
        {"answer_0": "ACME", "answer_1": "navy", "files_0": [upload(ELF, "logo.png")]},
    )
    assert response.status_code == 415
    [error] = field_errors(response, "files_0")
    assert error.startswith("logo.png: ")
    html = response.content.decode()
    assert "ACME" in html and "navy" in html  # the answers stay typed
    assert (db_snapshot(), stored_objects(), scratch_files()) == (
        before_rows,
        before_objects,
        set(),
    )


def test_the_buyer_attaches_files_in_the_chat_without_script(client, buyer, seller, in_progress):
    client.force_login(buyer)
    page = client.get(f"/orders/{in_progress.pk}/").content.decode()
    chat = page[page.index('id="chat"') :]
    assert 'enctype="multipart/form-data"' in chat and 'name="files"' in chat
    photo = png_bytes(seed=2)
    response = client.post(
        f"/orders/{in_progress.pk}/messages/", {"text": "", "files": [upload(photo, "ref.png")]}
    )
    assert response.status_code == 302
    message = in_progress.messages.get()
    assert message.body == "" and [a.name for a in message.attachments.all()] == ["ref.png"]
    client.force_login(seller)
    page = client.get(f"/orders/{in_progress.pk}/").content.decode()
    [link] = file_links(page[page.index('id="chat"') :])
    assert download(client, link) == photo


def test_the_sellers_chat_form_has_no_files_and_a_sellers_file_is_refused(
    client, seller, in_progress
):
    client.force_login(seller)
    page = client.get(f"/orders/{in_progress.pk}/").content.decode()
    assert 'name="files"' not in page[page.index('id="chat"') :]
    before_rows, before_objects = db_snapshot(), stored_objects()
    response = client.post(
        f"/orders/{in_progress.pk}/messages/",
        {"text": "A draft", "files": [upload(png_bytes(), "draft.png")]},
    )
    assert response.status_code == 403
    assert "seller sends work as a delivery" in response.content.decode()
    assert (db_snapshot(), stored_objects()) == (before_rows, before_objects)


def test_a_refused_chat_file_is_shown_beside_the_field(client, buyer, in_progress):
    client.force_login(buyer)
    before_rows, before_objects = db_snapshot(), stored_objects()
    response = client.post(
        f"/orders/{in_progress.pk}/messages/",
        {"text": "See this", "files": [upload(b"", "empty.png")]},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    [error] = field_errors(response, "files")
    assert error.startswith("empty.png: ")
    assert "See this" in response.content.decode()  # the text sent before the file stays
    assert (db_snapshot(), stored_objects()) == (before_rows, before_objects)


def test_a_chat_upload_without_a_csrf_token_stores_nothing(buyer, in_progress):
    client = Client(enforce_csrf_checks=True)
    client.force_login(buyer)
    before_rows, before_objects = db_snapshot(), stored_objects()
    response = client.post(
        f"/orders/{in_progress.pk}/messages/", {"text": "x", "files": [upload(png_bytes())]}
    )
    assert response.status_code == 403
    assert (db_snapshot(), stored_objects()) == (before_rows, before_objects)


def test_a_stranger_gets_404_for_a_reference_file(client, buyer, stranger, in_progress):
    client.force_login(buyer)
    client.post(
        f"/orders/{in_progress.pk}/messages/", {"text": "x", "files": [upload(png_bytes())]}
    )
    attachment = Attachment.objects.get()
    client.force_login(stranger)
    assert client.get(f"/orders/{in_progress.pk}/attachments/{attachment.pk}/").status_code == 404
    assert not Event.objects.filter(type=EventType.ATTACHMENT_DOWNLOADED).exists()


@pytest.fixture
def unpaid(buyer, seller, support):
    return order_in_state(State.PENDING_PAYMENT, buyer=buyer, seller=seller, support=support)


def test_the_buyer_changes_the_answers_and_adds_files_before_paying(client, buyer, unpaid):
    client.force_login(buyer)
    page = client.get(f"/orders/{unpaid.pk}/").content.decode()
    assert f'href="/orders/{unpaid.pk}/answers/"' in page
    form = client.get(f"/orders/{unpaid.pk}/answers/").content.decode()
    assert 'enctype="multipart/form-data"' in form and "Answer to" in form  # the answers so far
    response = client.post(
        f"/orders/{unpaid.pk}/answers/",
        {"answer_0": "ACME Ltd", "answer_1": "navy", "files_0": [upload(png_bytes(), "old.png")]},
    )
    assert response.status_code == 302
    unpaid.refresh_from_db()
    assert [item["answer"] for item in unpaid.requirements] == ["ACME Ltd", "navy"]
    assert [(a.requirement, a.name) for a in unpaid.attachments.all()] == [(0, "old.png")]
    event = Event.objects.filter(type=EventType.ANSWERS_UPDATED).get()
    assert event.payload["files"][0]["name"] == "old.png"


def test_only_the_buyer_changes_the_answers_and_only_until_paying(
    client, seller, buyer, unpaid, in_progress
):
    client.force_login(seller)
    before_rows, before_objects = db_snapshot(), stored_objects()
    files = {"answer_0": "x", "answer_1": "y", "files_0": [upload(png_bytes(), "s.png")]}
    response = client.post(f"/orders/{unpaid.pk}/answers/", files, follow=True)
    assert "only by the buyer, until paying" in response.content.decode()
    client.force_login(buyer)
    response = client.post(f"/orders/{in_progress.pk}/answers/", files, follow=True)
    assert "only by the buyer, until paying" in response.content.decode()
    assert (db_snapshot(), stored_objects()) == (before_rows, before_objects)
