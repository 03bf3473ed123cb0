"""Every text a user writes refuses the bidi controls (U+202E and its kin) with 400
`bidi_control`, whoever writes it and wherever it goes, and the refusal leaves nothing
behind; clean text, right-to-left letters among it, still goes through."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handover.accounts.models import User
from handover.offers.models import Offer, OfferTerms
from handover.testing.actors import Api
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import delivered_order, ok, open_dispute, paid_order, place, upload

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
PROSE = st.text(
    st.characters(
        exclude_categories=("Cs", "Cc"), exclude_characters=BIDI, include_characters="\n"
    ),
    min_size=1,
    max_size=30,
)
# Names and references are one line of a few kinds of character: the control is the only fault.
NAME = st.from_regex(r"[a-z][a-z0-9_-]{0,20}", fullmatch=True)
# Hebrew and Arabic letters show right to left on their own; only the controls are refused.
CLEAN = "Logo שלום مرحبا 👍 naïve"

HYPOTHESIS = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
OFFER_BODY: dict[str, Any] = {
    "title": "Logo",
    "description": "Three concepts.",
    "price": 10000,
    "currency": "EUR",
    "delivery_days": 3,
    "revisions": 1,
    "terms": "Licence on completion.",
    "requirements": ["Company name?", "Colours?"],
}


def with_control(text: str, control: str, at: int) -> str:
    at %= len(text) + 1
    return text[:at] + control + text[at:]


def hostile(clean: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(with_control, clean, st.sampled_from(BIDI), st.integers(min_value=0))


@dataclass
class Actors:
    buyer: Api
    seller: Api
    support: Api
    offer: Offer
    settings: Any


Send = Callable[[str], Any]


def offer_field(field: str) -> Callable[[Actors], Send]:
    return lambda a: lambda text: a.seller.post("/offers", {**OFFER_BODY, field: text})


def offer_question(a: Actors) -> Send:
    return lambda text: a.seller.post("/offers", {**OFFER_BODY, "requirements": ["Name?", text]})


def offer_update(a: Actors) -> Send:
    return lambda text: a.seller.put(f"/offers/{a.offer.pk}", {**OFFER_BODY, "title": text})


def order_answer(a: Actors) -> Send:
    return lambda text: a.buyer.post("/orders", {"offer_id": a.offer.pk, "answers": ["ACME", text]})


def order_answers_update(a: Actors) -> Send:
    order_id = place(a.buyer, a.offer)["id"]
    return lambda text: a.buyer.put(f"/orders/{order_id}/answers", {"answers": ["ACME", text]})


def chat_message(a: Actors) -> Send:
    order_id = paid_order(a.buyer, a.offer)
    return lambda text: a.buyer.post(f"/orders/{order_id}/messages", {"text": text})


def delivery(message: str, note: str | None = None) -> dict[str, Any]:
    ticks = [] if note is None else [{"requirement": 0, "note": note}]
    return {"text": message, "checklist": json.dumps(ticks), "files": [upload(b"x" * 64)]}


def delivery_message(a: Actors) -> Send:
    path = f"/orders/{paid_order(a.buyer, a.offer)}/deliveries"
    return lambda text: a.seller.post(path, data=delivery(text))


def checklist_note(a: Actors) -> Send:
    path = f"/orders/{paid_order(a.buyer, a.offer)}/deliveries"
    return lambda text: a.seller.post(path, data=delivery("Here it is", note=text))


def revision_message(a: Actors) -> Send:
    order_id, _ = delivered_order(a.buyer, a.seller, a.offer)
    return lambda text: a.buyer.act(order_id, "request-revision", {"text": text})


def cancellation_reason(a: Actors) -> Send:
    order_id = paid_order(a.buyer, a.offer)
    return lambda text: a.buyer.act(order_id, "request-cancellation", {"text": text, "refund": 500})


def cancellation_decline(a: Actors) -> Send:
    order_id = paid_order(a.buyer, a.offer)
    ok(a.buyer.act(order_id, "request-cancellation", {"text": "Too slow", "refund": 500}))
    return lambda text: a.seller.act(order_id, "decline-cancellation", {"text": text})


def dispute_reason(a: Actors) -> Send:
    order_id = paid_order(a.buyer, a.offer)
    return lambda text: a.buyer.act(order_id, "open-dispute", {"text": text})


def decision_rationale(a: Actors) -> Send:
    dispute_id = open_dispute(a.buyer, paid_order(a.buyer, a.offer))
    path = f"/disputes/{dispute_id}/decision"
    return lambda text: a.support.post(path, {"outcome": "release", "text": text})


def support_note(a: Actors) -> Send:
    dispute_id = open_dispute(a.buyer, paid_order(a.buyer, a.offer))
    return lambda text: a.support.post(f"/disputes/{dispute_id}/notes", {"text": text})


def review_text(a: Actors) -> Send:
    order_id, _ = delivered_order(a.buyer, a.seller, a.offer)
    ok(a.buyer.act(order_id, "accept"))
    return lambda text: a.buyer.post(f"/orders/{order_id}/review", {"rating": 4, "text": text})


def report_text(a: Actors) -> Send:
    order_id = paid_order(a.buyer, a.offer)
    path = f"/users/{a.seller.user.pk}/reports"  # type: ignore[union-attr]
    return lambda text: a.buyer.post(path, {"reason": "other", "text": text, "order_id": order_id})


def payment_reference(a: Actors) -> Send:
    a.settings.HANDOVER_PAYMENT_PROVIDER = "manual"
    order_id = place(a.buyer, a.offer)["id"]
    ok(a.buyer.act(order_id, "pay"))
    return lambda text: a.support.act(order_id, "confirm-payment", {"reference": text})


def username(a: Actors) -> Send:
    anonymous = Client()

    def sign_up(text: str) -> Any:
        body = json.dumps({"username": text, "password": "Zx9-long-passphrase"})
        return anonymous.post("/api/v1/users", body, content_type="application/json")

    return sign_up


# Each writable text: how to reach it, and the clean text that then goes through.
PATHS: dict[str, tuple[Callable[[Actors], Send], st.SearchStrategy[str], str]] = {
    "offer title": (offer_field("title"), PROSE, CLEAN),
    "offer description": (offer_field("description"), PROSE, CLEAN),
    "offer terms": (offer_field("terms"), PROSE, CLEAN),
    "requirement question": (offer_question, PROSE, CLEAN),
    "offer title, changed": (offer_update, PROSE, CLEAN),
    "requirement answer": (order_answer, PROSE, CLEAN),
    "requirement answer, changed": (order_answers_update, PROSE, CLEAN),
    "chat message": (chat_message, PROSE, CLEAN),
    "delivery message": (delivery_message, PROSE, CLEAN),
    "checklist note": (checklist_note, PROSE, CLEAN),
    "revision request": (revision_message, PROSE, CLEAN),
    "cancellation reason": (cancellation_reason, PROSE, CLEAN),
    "cancellation decline": (cancellation_decline, PROSE, CLEAN),
    "dispute reason": (dispute_reason, PROSE, CLEAN),
    "decision rationale": (decision_rationale, PROSE, CLEAN),
    "support note": (support_note, PROSE, CLEAN),
    "review": (review_text, PROSE, CLEAN),
    "report": (report_text, PROSE, CLEAN),
    "payment reference": (payment_reference, NAME, "BANK-42 שלום"),
    "username": (username, NAME, "שלום"),
}


def everything() -> tuple[Any, ...]:
    return (
        db_snapshot(),
        list(User.objects.order_by("pk").values_list()),
        list(Offer.objects.order_by("pk").values_list()),
        list(OfferTerms.objects.order_by("pk").values_list()),
    )


@pytest.mark.parametrize("path", PATHS)
def test_bidi_controls_are_refused_in_every_text_and_leave_nothing_behind(
    path, buyer_api, seller_api, support_api, offer, settings
):
    reach, clean, accepted = PATHS[path]
    send = reach(Actors(buyer_api, seller_api, support_api, offer, settings))
    before = everything()

    @HYPOTHESIS
    @given(text=hostile(clean))
    def check(text):
        response = send(text)
        assert response.status_code == 400, (text, response.content)
        assert response.json()["error"] == "bidi_control"
        assert "direction" in response.json()["detail"]
        assert everything() == before

    check()
    assert send(accepted).status_code in (200, 201)
