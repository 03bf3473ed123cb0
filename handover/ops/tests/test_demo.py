import re
from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client

from handover.accounts.models import ApiToken, User
from handover.delivery.models import DeliveryFile
from handover.disputes.models import Dispute
from handover.evidence.models import Event
from handover.ledger.models import Entry
from handover.offers.models import Offer
from handover.ops.demo import BUYER, PASSWORD, SELLER, SUPPORT
from handover.orders.models import Order
from handover.orders.rules import State

pytestmark = pytest.mark.django_db

SHOWN_STATES = {
    State.PENDING_PAYMENT,
    State.AWAITING_ACCEPTANCE,
    State.IN_PROGRESS,
    State.DELIVERED,
    State.CANCELLATION_REQUESTED,
    State.DISPUTED,
    State.COMPLETED,
}


@pytest.fixture(autouse=True)
def _fast_hasher(settings) -> None:
    # The default PBKDF2 takes about 1.7 s a password on these machines; the demo makes three.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def demo() -> str:
    out = StringIO()
    call_command("demo", "--no-serve", stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    models = (User, Offer, Order, Event, Entry, Dispute, DeliveryFile)
    return {model.__name__: model.objects.count() for model in models}


def test_demo_seeds_an_order_in_every_state_worth_showing():
    demo()
    assert set(Order.objects.values_list("state", flat=True)) == SHOWN_STATES
    assert Offer.objects.filter(seller__username=SELLER).count() == 3
    assert Offer.objects.filter(requires_acceptance=True).count() == 1
    support = User.objects.get(username=SUPPORT)
    assert support.is_staff and support.is_support and not support.is_superuser


def test_a_second_run_adds_nothing_but_fresh_tokens():
    demo()
    before = row_counts()
    tokens_before = ApiToken.objects.count()
    output = demo()
    assert row_counts() == before
    assert ApiToken.objects.count() == tokens_before + 3
    assert "seeded by an earlier run" in output


def test_the_printed_tokens_work_and_name_their_owner():
    output = demo()
    tokens = dict(re.findall(r"^  (SELLER|BUYER|SUPPORT)=(hov_\S+)$", output, re.MULTILINE))
    client = Client()
    for variable, username in (("SELLER", SELLER), ("BUYER", BUYER), ("SUPPORT", SUPPORT)):
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens[variable]}"})
        assert response.status_code == 200, response.content
        assert response.json()["username"] == username


def test_the_output_names_urls_logins_and_curl_examples():
    output = demo()
    for text in ("Web app", "/api/v1/docs", "/admin/", PASSWORD, "curl -s", "/accept", "/decision"):
        assert text in output


def test_delivered_demo_files_are_stored_with_their_hash():
    import hashlib

    demo()
    files = list(DeliveryFile.objects.all())
    assert files
    for file in files:
        with default_storage.open(file.storage_key, "rb") as stored:
            content = stored.read()
        assert content.startswith(b"\x89PNG")
        assert hashlib.sha256(content).hexdigest() == file.sha256


def test_the_disputed_demo_order_was_asked_to_cancel_then_declined():
    demo()
    order = Order.objects.get(state=State.DISPUTED)
    actions = [
        e.payload.get("action") for e in Event.objects.filter(order=order, type="order.transition")
    ]
    assert actions == [
        "pay",
        "deliver",
        "request_cancellation",
        "decline_cancellation",
        "open_dispute",
    ]


def test_the_demo_support_agent_can_read_orders_in_the_admin():
    demo()
    client = Client()
    assert client.login(username=SUPPORT, password=PASSWORD)
    response = client.get("/admin/orders/order/")
    assert response.status_code == 200
    assert BUYER in response.content.decode()
    assert client.get("/admin/evidence/event/").status_code == 200
