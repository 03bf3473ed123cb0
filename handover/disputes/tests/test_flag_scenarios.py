"""Each flag raised by a story played through the API by the named actors, and not raised by
a clean order that goes to a dispute all the same."""

from datetime import timedelta

import pytest
from django.utils import timezone

from handover.disputes.rules import span, when
from handover.evidence.models import Event
from handover.ops.timers import timers_run_due
from handover.testing.steps import (
    TOTAL,
    deliver,
    delivered_order,
    download,
    ok,
    open_dispute,
    paid_order,
)

HOUR = timedelta(hours=1)


def flags(support_api, dispute_id: int) -> dict[str, str]:
    return {f["code"]: f["reason"] for f in ok(support_api.get(f"/disputes/{dispute_id}"))["flags"]}


def release_early(seller_api, order_id: int, delivery_id: int) -> None:
    ok(seller_api.post(f"/orders/{order_id}/release-early", {"delivery_id": delivery_id}))


def take(response) -> None:
    assert response.status_code == 200, response.content
    b"".join(response.streaming_content)


def downloaded_at(order_id: int):
    return Event.objects.get(order_id=order_id, type="file.original_downloaded").created_at


# --- a clean order ---------------------------------------------------------------------------


def test_a_clean_order_that_goes_to_a_dispute_raises_no_flag(
    offer, buyer_api, seller_api, support_api, clock
):
    order_id = paid_order(buyer_api, offer)
    clock.shift(HOUR)
    ok(
        buyer_api.post(f"/orders/{order_id}/messages", {"text": "Budget 105.50 EUR, order #1234"}),
        201,
    )
    clock.shift(HOUR)
    ok(
        seller_api.post(
            f"/orders/{order_id}/messages", {"text": "Draft by 2026-05-03 14:30, v1.2.3"}
        ),
        201,
    )
    clock.shift(HOUR)
    delivery = deliver(seller_api, order_id)
    clock.shift(HOUR)
    take(download(seller_api, delivery["files"][0]["id"]))  # the seller checks their upload
    dispute_id = open_dispute(buyer_api, order_id)
    clock.shift(HOUR)

    assert flags(support_api, dispute_id) == {}
    assert ok(support_api.get("/disputes"))["items"][0]["flags"] == []


# --- originals_then_exit ---------------------------------------------------------------------


def test_buyer_downloads_early_released_originals_then_asks_to_cancel(
    offer, buyer_api, seller_api, support_api, clock
):
    order_id = paid_order(buyer_api, offer)
    delivery = deliver(seller_api, order_id)
    release_early(seller_api, order_id, delivery["id"])
    clock.shift(HOUR)
    take(download(buyer_api, delivery["files"][0]["id"]))
    clock.shift(2 * HOUR)
    ok(
        buyer_api.act(
            order_id, "request-cancellation", {"text": "Changed my mind", "refund": TOTAL}
        )
    )
    ok(seller_api.act(order_id, "decline-cancellation", {"text": "You have the files."}))
    dispute_id = open_dispute(buyer_api, order_id)

    assert flags(support_api, dispute_id) == {
        "originals_then_exit": f"Buyer downloaded logo.png on {when(downloaded_at(order_id))},"
        " then asked to cancel 2 h later."
    }


def test_buyer_downloads_originals_of_a_completed_order_then_opens_a_dispute(
    offer, buyer_api, seller_api, support_api, clock
):
    order_id, file_id = delivered_order(buyer_api, seller_api, offer)
    ok(buyer_api.act(order_id, "accept"))
    clock.shift(HOUR)
    take(download(buyer_api, file_id))
    clock.shift(timedelta(minutes=20))
    dispute_id = open_dispute(buyer_api, order_id, "Not what I asked for")

    assert flags(support_api, dispute_id) == {
        "originals_then_exit": f"Buyer downloaded logo.png on {when(downloaded_at(order_id))},"
        " then opened a dispute 20 min later."
    }


# --- changed_after_start ---------------------------------------------------------------------


def offer_body(offer, terms: str) -> dict:
    return {
        "title": offer.title,
        "description": offer.description,
        "price": offer.price,
        "currency": offer.currency,
        "delivery_days": offer.delivery_days,
        "revisions": offer.revisions,
        "terms": terms,
        "requirements": offer.requirements,
    }


def test_seller_changing_the_terms_after_payment_is_flagged(
    offer, buyer_api, seller_api, support_api, clock
):
    order_id = paid_order(buyer_api, offer)
    paid_at = timezone.now()
    clock.shift(5 * HOUR)
    ok(seller_api.put(f"/offers/{offer.pk}", offer_body(offer, "Terms v2: no refunds at all.")))
    published_at = timezone.now()
    clock.shift(HOUR)
    dispute_id = open_dispute(buyer_api, order_id, "The seller now says no refunds")

    assert flags(support_api, dispute_id) == {
        "changed_after_start": f"Seller published terms v2 on {when(published_at)}, after"
        f" payment on {when(paid_at)}; this order is bound by v1."
    }


def test_terms_changed_before_the_order_was_placed_are_not_flagged(
    offer, buyer_api, seller_api, support_api, clock
):
    ok(seller_api.put(f"/offers/{offer.pk}", offer_body(offer, "Terms v2.")))
    clock.shift(HOUR)
    order_id = paid_order(buyer_api, offer)
    clock.shift(HOUR)
    dispute_id = open_dispute(buyer_api, order_id)

    assert ok(buyer_api.get(f"/orders/{order_id}"))["terms_version"] == 2
    assert flags(support_api, dispute_id) == {}


# --- late_delivery ---------------------------------------------------------------------------


def test_a_delivery_after_the_due_date_is_flagged(offer, buyer_api, seller_api, support_api, clock):
    order_id = paid_order(buyer_api, offer)
    due_at = timezone.now() + timedelta(days=offer.delivery_days)
    clock.shift(timedelta(days=offer.delivery_days) + 2 * HOUR)
    deliver(seller_api, order_id)
    delivered_at = timezone.now()
    dispute_id = open_dispute(buyer_api, order_id, "Too late for the launch")

    assert flags(support_api, dispute_id) == {
        "late_delivery": f"First delivery on {when(delivered_at)}, 2 h after the due date"
        f" ({when(due_at)})."
    }


def test_a_dispute_with_nothing_delivered_past_the_due_date_is_flagged(
    offer, buyer_api, support_api, clock
):
    order_id = paid_order(buyer_api, offer)
    due_at = timezone.now() + timedelta(days=offer.delivery_days)
    clock.shift(timedelta(days=offer.delivery_days + 1))
    dispute_id = open_dispute(buyer_api, order_id, "Nothing came")

    assert flags(support_api, dispute_id) == {
        "late_delivery": f"Nothing was delivered by the due date ({when(due_at)});"
        " the dispute was opened 1 d later."
    }


def test_a_delivery_just_in_time_is_not_late(offer, buyer_api, seller_api, support_api, clock):
    order_id = paid_order(buyer_api, offer)
    clock.shift(timedelta(days=offer.delivery_days))
    deliver(seller_api, order_id)
    dispute_id = open_dispute(buyer_api, order_id)

    assert flags(support_api, dispute_id) == {}


# --- party_silent ----------------------------------------------------------------------------


def test_a_seller_who_leaves_the_buyers_message_unanswered_is_flagged(
    offer, buyer_api, seller_api, support_api, settings, clock
):
    order_id = paid_order(buyer_api, offer)
    clock.shift(HOUR)
    ok(
        buyer_api.post(f"/orders/{order_id}/messages", {"text": "Can you use the new colours?"}),
        201,
    )
    asked_at = Event.objects.filter(order_id=order_id, type="message.posted").get().created_at
    clock.shift(settings.HANDOVER_CANCELLATION_WINDOW)
    dispute_id = open_dispute(buyer_api, order_id, "No answer")
    assert flags(support_api, dispute_id) == {}  # exactly the window: not past it

    clock.shift(timedelta(seconds=1))

    silent = span(settings.HANDOVER_CANCELLATION_WINDOW + timedelta(seconds=1))
    assert flags(support_api, dispute_id) == {
        "party_silent": f"Seller did not write or act for {silent} after the buyer's message"
        f" of {when(asked_at)}."
    }


def test_a_cancellation_request_the_timer_sends_to_support_flags_the_silent_seller(
    offer, buyer_api, seller_api, support_api, settings, clock
):
    order_id = paid_order(buyer_api, offer)
    delivery = deliver(seller_api, order_id)
    release_early(seller_api, order_id, delivery["id"])
    clock.shift(HOUR)
    ok(buyer_api.act(order_id, "request-cancellation", {"text": "Wrong colours", "refund": TOTAL}))
    asked_at = timezone.now()
    clock.shift(settings.HANDOVER_CANCELLATION_WINDOW + timedelta(minutes=5))
    assert timers_run_due() == {"fired": 1, "cleared": 0}
    [item] = ok(support_api.get("/disputes"))["items"]

    assert item["opened_by_role"] == "timer"
    assert item["flags"] == [
        {
            "code": "party_silent",
            "reason": "Seller did not write or act for 2 d after the buyer's cancellation"
            f" request of {when(asked_at)}.",
        }
    ]


def test_a_prompt_answer_is_not_silence(offer, buyer_api, seller_api, support_api, settings, clock):
    order_id = paid_order(buyer_api, offer)
    ok(buyer_api.post(f"/orders/{order_id}/messages", {"text": "New colours?"}), 201)
    clock.shift(settings.HANDOVER_CANCELLATION_WINDOW - HOUR)
    ok(seller_api.post(f"/orders/{order_id}/messages", {"text": "Sure, tomorrow."}), 201)
    clock.shift(HOUR)
    dispute_id = open_dispute(buyer_api, order_id)

    assert flags(support_api, dispute_id) == {}


# --- contact_shared --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "kind", "shown"),
    [
        ("Let's finish on WhatsApp, cheaper for both", "a messenger", "WhatsApp"),
        ("Mail me the files: ben.buyer@example.com", "an e-mail address", "ben.buyer@example.com"),
        ("Call me: +49 170 1234567", "a phone number", "+49 170 1234567"),
        ("t.me/sofia_designs for the rest", "a messenger", "t.me/sofia_designs"),
    ],
)
def test_a_party_sharing_contact_details_in_the_chat_is_flagged(
    offer, buyer_api, seller_api, support_api, clock, body, kind, shown
):
    order_id = paid_order(buyer_api, offer)
    clock.shift(HOUR)
    ok(seller_api.post(f"/orders/{order_id}/messages", {"text": body}), 201)
    sent_at = Event.objects.filter(order_id=order_id, type="message.posted").get().created_at
    clock.shift(HOUR)
    dispute_id = open_dispute(buyer_api, order_id)

    assert flags(support_api, dispute_id) == {
        "contact_shared": f"Seller shared {kind} on {when(sent_at)}: “{shown}”."
    }


def test_contact_details_in_a_dispute_reason_are_flagged(offer, buyer_api, support_api, clock):
    order_id = paid_order(buyer_api, offer)
    dispute_id = open_dispute(buyer_api, order_id, "Seller won't answer, call me on 0170 1234567")

    assert "phone number" in flags(support_api, dispute_id)["contact_shared"]
