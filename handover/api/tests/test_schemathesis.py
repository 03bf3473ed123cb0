"""Schemathesis against the API's own OpenAPI document, as a buyer, a seller and support.

Every operation in ``/api/v1/openapi.json`` gets requests generated from its schema (valid ones
and, in the negative mode, invalid ones), sent through Django's WSGI handler with each role's
token. Each request is sent twice: with the generated ids, which mostly name nothing, and with
the ids of a real order story (an offer, a delivered order with a file, a disputed order, a
report, a webhook, a refund), so the handlers behind the 404s run too. Checked on every answer:
no 5xx, a documented answer matches its schema, and an error is the documented JSON error.

Bounded for the normal suite (a few examples per operation and role); HANDOVER_SLOW=1 runs
twenty times as many.
"""

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, note, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from handover.accounts.models import Role, User
from handover.delivery.previewing import preview_make
from handover.disputes.models import Dispute
from handover.notifications.models import Webhook
from handover.orders.models import Order
from handover.payments.models import RefundState
from handover.payments.providers import RefundResult
from handover.payments.services import provider_refund_answer, provider_refund_create
from handover.testing.actors import Api, make_user
from handover.testing.factories import make_offer
from handover.testing.files import png_bytes, upload
from handover.testing.steps import deliver, ok, paid_order
from handover.trust.models import Report

SLOW = os.environ.get("HANDOVER_SLOW") == "1"
EXAMPLES = 100 if SLOW else 5
ROLES = ("buyer", "seller", "support")
CHECKS = [not_a_server_error, response_schema_conformance]

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WSGIHandler())


@dataclass
class Story:
    """The actors, their tokens, and the ids of what they share."""

    users: dict[str, User]
    tokens: dict[str, str]
    ids: dict[str, int]

    def path_parameters(self, role: str, names: list[str]) -> dict[str, int]:
        ids = {**self.ids, "user_id": self.users["seller" if role == "buyer" else "buyer"].pk}
        return {name: ids[name] for name in names}


@pytest.fixture
def story(db) -> Iterator[Story]:
    users = {"buyer": make_user("buyer"), "seller": make_user("seller")}
    users["support"] = make_user("support", Role.SUPPORT)
    apis = {role: Api(user) for role, user in users.items()}
    offer = make_offer(users["seller"])
    delivered = paid_order(apis["buyer"], offer)
    delivery = deliver(apis["seller"], delivered)
    file_id = delivery["files"][0]["id"]
    preview_make(file_id=file_id)
    reference = {"text": "Ours", "files": [upload(png_bytes(32, 24), "shop.png")]}
    message = ok(apis["buyer"].post(f"/orders/{delivered}/messages", data=reference), 201)
    disputed = paid_order(apis["buyer"], offer)
    ok(apis["buyer"].act(disputed, "open-dispute", {"text": "Nothing arrived"}))
    ok(apis["seller"].post(f"/users/{users['buyer'].pk}/reports", {"reason": "abusive"}), 201)
    hook = {"url": "https://hooks.example.com/handover", "events": []}
    ok(apis["seller"].post("/webhooks", hook), 201)
    # A refund that went through, on the disputed order (written directly: a real one needs a
    # cancellation, too slow for every operation): support's retry runs to its 409.
    refund = provider_refund_create(order=Order.objects.get(pk=disputed), amount=100, key="k")
    provider_refund_answer(refund, RefundResult("re_story", RefundState.SUCCEEDED))
    ids = {
        "offer_id": offer.pk,
        "order_id": delivered,
        "delivery_id": delivery["id"],
        "file_id": file_id,
        "attachment_id": message["files"][0]["id"],
        "dispute_id": Dispute.objects.get(order_id=disputed).pk,
        "report_id": Report.objects.get().pk,
        "webhook_id": Webhook.objects.get().pk,
        "refund_id": refund.pk,
    }
    tokens = {role: api.token for role, api in apis.items() if api.token}
    with connection_kept_between_requests():
        yield Story(users=users, tokens=tokens, ids=ids)


@contextmanager
def connection_kept_between_requests() -> Iterator[None]:
    """Requests go to the WSGI handler itself, not through Django's test client, so at their
    end it would close the database connection the test's transaction lives on. As the test
    client does, that clean-up is switched off meanwhile (after the story, because the test
    client switches it back on after each of its own requests)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_api_answers_every_generated_request_within_its_schema(case, role, story):
    send_and_check(case, role, story)
    names = sorted(case.path_parameters)
    if names:
        real = case.operation.Case(
            path_parameters=story.path_parameters(role, names),
            query=case.query,
            body=case.body,
            media_type=case.media_type,
        )
        send_and_check(real, role, story)


def send_and_check(case: Any, role: str, story: Story) -> None:
    headers = {"Authorization": f"Bearer {story.tokens[role]}"}
    if case.method == "POST":
        headers["Idempotency-Key"] = uuid.uuid4().hex
    note(f"as {role}: {case.method} {case.formatted_path} {case.query} {case.body!r:.500}")
    response = case.call_and_validate(headers=headers, checks=CHECKS)
    if 400 <= response.status_code < 500 and case.method != "HEAD":
        assert_documented_error(response)


def assert_documented_error(response: Any) -> None:
    """The README's error shape: {"error": CODE, "detail": TEXT}."""
    body = json.loads(response.content)
    assert isinstance(body.get("error"), str) and body["error"], body
    assert isinstance(body.get("detail"), str) and body["detail"], body
