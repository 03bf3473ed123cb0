"""The webhook endpoint against localstripe's own signed deliveries."""

import pytest

from handover.billing.models import WebhookEvent
from handover.testing.stripe import paid_intent

pytestmark = pytest.mark.django_db


def _paid_intent() -> str:
    return paid_intent(1234, "EUR")


def test_a_signed_event_is_stored_once_and_a_replay_changes_nothing(stripe_account, client):
    delivery = stripe_account.webhooks.wait_for("payment_intent.succeeded", _paid_intent())
    first = stripe_account.deliver(client, delivery)
    assert first.status_code == 200, first.content
    assert first.json()["received"] is True
    again = stripe_account.deliver(client, delivery)
    assert again.json()["result"] == "replayed"
    [stored] = WebhookEvent.objects.all()
    assert stored.event_id == delivery.event["id"]
    assert stored.type == "payment_intent.succeeded"


def test_a_bad_signature_is_refused_and_changes_nothing(stripe_account, client):
    delivery = stripe_account.webhooks.wait_for("payment_intent.succeeded", _paid_intent())
    forged = type(delivery)(delivery.body.replace(b"succeeded", b"succeedeD"), delivery.signature)
    response = stripe_account.deliver(client, forged)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_signature"
    unsigned = type(delivery)(delivery.body, "")
    assert stripe_account.deliver(client, unsigned).status_code == 400
    assert not WebhookEvent.objects.exists()
