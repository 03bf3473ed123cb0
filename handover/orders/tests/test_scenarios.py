"""Whole stories played through the API by the named actors: the outcome, the evidence rows
and the ledger balances after each one.

Amounts: the default offer costs 10000 minor units; the buyer pays a 5.5 % fee (550, total
10550); the seller fee is 20 % (2000), so a completed order gives the seller 8000 and the
platform 2550.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from handover.evidence.models import Event
from handover.ops.timers import timers_run_due
from handover.orders.models import Order
from handover.testing.factories import make_offer
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import (
    NOTHING_HELD,
    PLATFORM_SHARE,
    PRICE,
    SELLER_SHARE,
    TOTAL,
    assert_ledger_consistent,
    balances,
    decide,
    deliver,
    delivered_order,
    download,
    downloaded_bytes,
    last_transition,
    ledger_kinds,
    ok,
    open_dispute,
    paid_order,
    place,
    refused,
    transitions,
    upload,
)

# --- the seed story --------------------------------------------------------------------------


def test_seed_story_declined_cancellation_then_dispute_released_pays_seller_and_frees_originals(
    offer, seller, buyer_api, seller_api, support_api
):
    order_id, file_id = delivered_order(buyer_api, seller_api, offer)
    refused(download(buyer_api, file_id), 403, "originals_locked")

    r = buyer_api.act(
        order_id, "request-cancellation", {"text": "Changed my mind", "refund": TOTAL}
    )
    assert ok(r)["cancellation"] == {
        "requested_by": "buyer",
        "text": "Changed my mind",
        "refund": TOTAL,
    }
    r = seller_api.act(order_id, "decline-cancellation", {"text": "Done as asked."})
    assert ok(r)["state"] == "delivered"
    assert last_transition(order_id).payload["message"] == "Done as asked."
    dispute_id = open_dispute(buyer_api, order_id)
    assert [d["id"] for d in ok(support_api.get("/disputes"))["items"]] == [dispute_id]

    decision = ok(decide(support_api, dispute_id, "release"))
    assert decision["order_state"] == "completed" and decision["outcome"] == "release"

    assert balances(order_id, seller) == {
        "world": -TOTAL,
        "escrow": 0,
        "pending": SELLER_SHARE,
        "available": 0,
        "fees": PLATFORM_SHARE,
        "losses": 0,
    }
    assert ok(seller_api.get("/balance"))["pending"] == SELLER_SHARE
    assert ledger_kinds(order_id) == ["capture", "settlement"]
    assert transitions(order_id) == [
        ("pay", "pending_payment", "in_progress"),
        ("deliver", "in_progress", "delivered"),
        ("request_cancellation", "delivered", "cancellation_requested"),
        ("decline_cancellation", "cancellation_requested", "delivered"),
        ("open_dispute", "delivered", "disputed"),
        ("decide", "disputed", "completed"),
    ]
    decided = last_transition(order_id)
    assert decided.actor_role == "support"
    assert decided.payload["outcome"] == "release"
    assert decided.payload["seller"] == SELLER_SHARE
    assert decided.payload["platform"] == PLATFORM_SHARE
    assert downloaded_bytes(download(buyer_api, file_id)) == b"ORIGINAL" * 64
    assert Event.objects.filter(order_id=order_id, type="file.original_refused").count() == 1
    assert Event.objects.filter(order_id=order_id, type="file.original_downloaded").count() == 1
    assert_ledger_consistent()


# --- cancellations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("refund", "seller_share", "platform_share"),
    [
        (3000, 5725, 1825),  # 8000 * 7550 / 10550 = 5725.1..., rounded half up
        (5275, 4000, 1275),  # half the total back: half of each share
        (TOTAL, 0, 0),
        (0, SELLER_SHARE, PLATFORM_SHARE),
    ],
)
def test_mutual_cancellation_refunds_as_proposed_and_settles_the_rest_in_proportion(
    offer, seller, buyer_api, seller_api, refund, seller_share, platform_share
):
    order_id, _ = delivered_order(buyer_api, seller_api, offer)
    r = buyer_api.act(order_id, "request-cancellation", {"text": "Not needed", "refund": refund})
    assert ok(r)["state"] == "cancellation_requested"
    refused(buyer_api.act(order_id, "accept-cancellation"), 409, "transition_not_allowed")

    order = ok(seller_api.act(order_id, "accept-cancellation"))

    assert order["state"] == "cancelled" and order["refunded"] == refund
    assert order["cancellation"] is None
    assert balances(order_id, seller) == {
        "world": -TOTAL + refund,
        "escrow": 0,
        "pending": seller_share,
        "available": 0,
        "fees": platform_share,
        "losses": 0,
    }
    assert seller_share + platform_share + refund == TOTAL
    event = last_transition(order_id)
    assert event.actor_role == "seller"
    assert event.payload["action"] == "accept_cancellation"
    assert (event.payload["refund"], event.payload["seller"], event.payload["platform"]) == (
        refund,
        seller_share,
        platform_share,
    )
    assert ("refund_reference" in event.payload) == (refund > 0)
    # The test provider confirms the refund at once: posted out under its reference.
    refunds = ["refund"] if refund else []
    assert ledger_kinds(order_id) == ["capture", "settlement", *refunds]
    assert_ledger_consistent()


def test_cancel_late_refunds_everything_once_the_delivery_time_has_passed(
    offer, seller, buyer_api, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    order_id = paid_order(buyer_api, offer)
    before = db_snapshot()
    refused(buyer_api.act(order_id, "cancel-late"), 409, "transition_not_allowed")
    assert db_snapshot() == before

    time_machine.shift(timedelta(days=offer.delivery_days, seconds=1))
    order = ok(buyer_api.act(order_id, "cancel-late"))

    assert order["state"] == "cancelled" and order["refunded"] == TOTAL
    assert balances(order_id, seller) == NOTHING_HELD
    assert transitions(order_id)[-1] == ("cancel_late", "in_progress", "cancelled")
    assert last_transition(order_id).payload["refund"] == TOTAL
    assert Order.objects.get(pk=order_id).clears_at is None  # nothing for the seller to clear
    assert_ledger_consistent()


def test_cancel_late_is_refused_once_something_was_delivered(
    offer, buyer_api, seller_api, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    order_id = paid_order(buyer_api, offer)
    time_machine.shift(timedelta(days=offer.delivery_days, seconds=1))
    deliver(seller_api, order_id)  # late, but delivered
    before = db_snapshot()

    refused(buyer_api.act(order_id, "cancel-late"), 409, "transition_not_allowed")
    assert db_snapshot() == before


# --- auto-complete and revisions -------------------------------------------------------------


def test_auto_complete_timer_completes_a_delivered_order_and_pays_the_seller(
    offer, seller, buyer_api, seller_api, settings, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    order_id, file_id = delivered_order(buyer_api, seller_api, offer)
    order = ok(buyer_api.get(f"/orders/{order_id}"))
    assert order["timer_action"] == "accept"

    time_machine.shift(settings.HANDOVER_AUTO_COMPLETE_AFTER + timedelta(seconds=1))
    assert timers_run_due() == {"fired": 1, "cleared": 0}

    assert ok(buyer_api.get(f"/orders/{order_id}"))["state"] == "completed"
    event = last_transition(order_id)
    assert (event.actor_id, event.actor_role, event.payload["action"]) == (None, "timer", "accept")
    assert balances(order_id, seller)["pending"] == SELLER_SHARE
    assert balances(order_id, seller)["fees"] == PLATFORM_SHARE
    assert downloaded_bytes(download(buyer_api, file_id)) == b"ORIGINAL" * 64


def test_request_revision_refused_when_revisions_are_exhausted_until_the_seller_grants_one(
    seller, buyer_api, seller_api
):
    offer = make_offer(seller, revisions=1)
    order_id, _ = delivered_order(buyer_api, seller_api, offer)
    order = ok(buyer_api.act(order_id, "request-revision", {"text": "Darker blue"}))
    assert order["state"] == "revision_requested" and order["revisions_left"] == 0
    deliver(seller_api, order_id, b"SECOND")
    assert "request-revision" not in ok(buyer_api.get(f"/orders/{order_id}"))["actions"]

    before = db_snapshot()
    refused(
        buyer_api.act(order_id, "request-revision", {"text": "Again"}),
        409,
        "transition_not_allowed",
    )
    assert db_snapshot() == before

    assert ok(seller_api.act(order_id, "grant-revision"))["revisions_left"] == 1
    granted = Event.objects.filter(order_id=order_id, type="order.revision_granted").get()
    assert granted.actor_role == "seller" and granted.payload == {"revisions_left": 1}
    order = ok(buyer_api.act(order_id, "request-revision", {"text": "Again"}))
    assert order["state"] == "revision_requested" and order["revisions_left"] == 0
    assert [t[0] for t in transitions(order_id)].count("request_revision") == 2
    refused(buyer_api.act(order_id, "grant-revision"), 409, "transition_not_allowed")


# --- support decisions -----------------------------------------------------------------------


def test_split_decision_completes_with_a_partial_refund(
    offer, seller, buyer_api, seller_api, support_api
):
    order_id, file_id = delivered_order(buyer_api, seller_api, offer)
    dispute_id = open_dispute(seller_api, order_id, "The buyer went silent")
    refused(decide(support_api, dispute_id, "split", TOTAL), 400, "bad_refund")
    refused(decide(support_api, dispute_id, "split", 0), 400, "bad_refund")

    decision = ok(decide(support_api, dispute_id, "split", 5275))

    assert decision["order_state"] == "completed" and decision["refund"] == 5275
    assert Order.objects.get(pk=order_id).refunded == 5275
    assert balances(order_id, seller) == {
        "world": -5275,
        "escrow": 0,
        "pending": 4000,
        "available": 0,
        "fees": 1275,
        "losses": 0,
    }
    event = last_transition(order_id)
    assert event.payload["outcome"] == "split" and event.payload["refund"] == 5275
    refused(decide(support_api, dispute_id, "release"), 409, "already_decided")
    assert downloaded_bytes(download(buyer_api, file_id))  # a split completes the order
    assert_ledger_consistent()


def test_refund_decision_cancels_returns_everything_and_ends_access_to_originals(
    offer, seller, buyer_api, seller_api, support_api
):
    order_id, file_id = delivered_order(buyer_api, seller_api, offer)
    delivery_id = ok(seller_api.get(f"/orders/{order_id}/deliveries"))[0]["id"]
    ok(seller_api.post(f"/orders/{order_id}/release-early", {"delivery_id": delivery_id}))
    dispute_id = open_dispute(buyer_api, order_id)

    decision = ok(decide(support_api, dispute_id, "refund"))

    assert decision["order_state"] == "cancelled" and decision["refund"] == TOTAL
    assert balances(order_id, seller) == NOTHING_HELD
    assert transitions(order_id)[-1] == ("decide", "disputed", "cancelled")
    refused(download(buyer_api, file_id), 403, "originals_locked")
    assert downloaded_bytes(download(seller_api, file_id))  # the seller keeps their work


def test_buyer_disputes_after_completion_and_a_refund_takes_the_money_back_from_pending(
    offer, seller, buyer_api, seller_api, support_api
):
    order_id, file_id = delivered_order(buyer_api, seller_api, offer)
    ok(buyer_api.act(order_id, "accept"))
    assert balances(order_id, seller)["pending"] == SELLER_SHARE
    refused(seller_api.act(order_id, "open-dispute", {"text": "x"}), 409, "transition_not_allowed")
    dispute_id = open_dispute(buyer_api, order_id, "The files are corrupt")
    assert downloaded_bytes(download(buyer_api, file_id))  # nothing revoked until decided

    decision = ok(decide(support_api, dispute_id, "refund"))

    assert decision["order_state"] == "cancelled"
    assert balances(order_id, seller) == NOTHING_HELD
    assert ledger_kinds(order_id) == ["capture", "settlement", "adjustment", "refund"]
    event = last_transition(order_id)
    assert event.payload["after_settlement"] is True
    assert (event.payload["refund"], event.payload["seller"], event.payload["platform"]) == (
        TOTAL,
        -SELLER_SHARE,
        -PLATFORM_SHARE,
    )
    order = Order.objects.get(pk=order_id)
    assert order.refunded == TOTAL and order.clears_at is None
    refused(download(buyer_api, file_id), 403, "originals_locked")
    refused(
        buyer_api.act(order_id, "open-dispute", {"text": "again"}), 409, "transition_not_allowed"
    )
    assert_ledger_consistent()


def test_buyer_cannot_dispute_a_completed_order_after_clearance(
    offer, buyer_api, seller_api, settings, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    order_id, _ = delivered_order(buyer_api, seller_api, offer)
    ok(buyer_api.act(order_id, "accept"))
    time_machine.shift(settings.HANDOVER_CLEARANCE_PERIOD + timedelta(seconds=1))
    timers_run_due()
    before = db_snapshot()

    refused(
        buyer_api.act(order_id, "open-dispute", {"text": "Late regrets"}),
        409,
        "transition_not_allowed",
    )
    assert db_snapshot() == before


@pytest.mark.parametrize("paid_out", [SELLER_SHARE, 0])
def test_chargeback_after_clearance_claws_back_leaving_the_seller_owing_what_was_paid_out(
    offer, seller, buyer_api, seller_api, support_api, settings, time_machine, paid_out
):
    time_machine.move_to(timezone.now(), tick=False)
    order_id, file_id = delivered_order(buyer_api, seller_api, offer)
    ok(buyer_api.act(order_id, "accept"))
    time_machine.shift(settings.HANDOVER_CLEARANCE_PERIOD + timedelta(seconds=1))
    assert timers_run_due() == {"fired": 0, "cleared": 1}
    assert balances(order_id, seller)["available"] == SELLER_SHARE
    if paid_out:
        ok(seller_api.post("/payouts", {"amount": paid_out}), 201)
    refused(buyer_api.act(order_id, "chargeback"), 409, "transition_not_allowed")

    order = ok(support_api.act(order_id, "chargeback"))

    assert order["state"] == "chargeback_hold"
    refused(download(buyer_api, file_id), 403, "originals_locked")
    # Nothing is booked to platform losses: a seller paid out already owes it (a negative
    # available balance, netted against later earnings).
    assert balances(order_id, seller) == {
        "world": -TOTAL + paid_out + TOTAL,
        "escrow": 0,
        "pending": 0,
        "available": -paid_out,
        "fees": 0,
        "losses": 0,
    }
    event = last_transition(order_id)
    assert event.actor_role == "provider"
    assert event.payload["amount"] == TOTAL and "loss" not in event.payload
    assert event.payload["seller_available"] == SELLER_SHARE
    assert event.payload["platform_fees"] == TOTAL - SELLER_SHARE
    refused(seller_api.post("/payouts", {"amount": 1}), 409, "insufficient_funds")
    order = ok(support_api.act(order_id, "chargeback-lost"))
    assert order["state"] == "charged_back"
    payout = ["payout"] if paid_out else []  # a payout names the order it was earned on
    assert ledger_kinds(order_id) == ["capture", "settlement", "clearance", *payout, "chargeback"]
    refused(download(buyer_api, file_id), 403, "originals_locked")
    assert_ledger_consistent()


# --- acceptance, payment ---------------------------------------------------------------------


def test_seller_must_accept_an_order_on_an_offer_that_asks_for_it(seller, buyer_api, seller_api):
    offer = make_offer(seller, requires_acceptance=True)
    order_id = place(buyer_api, offer)["id"]
    order = ok(buyer_api.act(order_id, "pay"))
    assert order["state"] == "awaiting_acceptance" and order["due_at"] is None
    assert balances(order_id, seller)["escrow"] == TOTAL
    refused(buyer_api.act(order_id, "accept-order"), 409, "transition_not_allowed")
    refused(
        seller_api.post(f"/orders/{order_id}/deliveries", data={"files": [upload(b"x")]}),
        409,
        "transition_not_allowed",
    )

    order = ok(seller_api.act(order_id, "accept-order"))

    assert order["state"] == "in_progress" and order["due_at"] is not None
    assert transitions(order_id)[-1] == ("accept_order", "awaiting_acceptance", "in_progress")
    assert balances(order_id, seller)["escrow"] == TOTAL


def test_seller_declining_an_order_refunds_the_buyer_in_full(seller, buyer_api, seller_api):
    offer = make_offer(seller, requires_acceptance=True)
    order_id = place(buyer_api, offer)["id"]
    ok(buyer_api.act(order_id, "pay"))

    order = ok(seller_api.act(order_id, "decline-order"))

    assert order["state"] == "cancelled" and order["refunded"] == TOTAL
    assert balances(order_id, seller) == NOTHING_HELD
    event = last_transition(order_id)
    assert event.payload["action"] == "decline_order" and event.payload["refund"] == TOTAL
    assert event.actor_role == "seller"


def test_manual_payment_waits_for_support_to_confirm_the_transfer(
    offer, seller, buyer_api, seller_api, support_api, stranger_api, settings
):
    settings.HANDOVER_PAYMENT_PROVIDER = "manual"
    order_id = place(buyer_api, offer)["id"]

    order = ok(buyer_api.act(order_id, "pay"))

    assert order["state"] == "pending_payment"
    assert order["payment_reference"].startswith(f"HOV-{order_id}-")
    assert order["payment_reference"] in order["payment_instructions"]
    assert "105.50 EUR" in order["payment_instructions"]
    assert balances(order_id, seller)["escrow"] == 0
    started = Event.objects.get(order_id=order_id, type="payment.started")
    assert started.payload["provider"] == "manual"
    assert transitions(order_id) == []
    before = db_snapshot()
    refused(buyer_api.act(order_id, "confirm-payment"), 409, "transition_not_allowed")
    refused(seller_api.act(order_id, "confirm-payment"), 409, "transition_not_allowed")
    refused(stranger_api.act(order_id, "confirm-payment"), 404, "not_found")
    assert db_snapshot() == before

    order = ok(support_api.act(order_id, "confirm-payment", {"reference": "BANK-42"}))

    assert order["state"] == "in_progress" and order["payment_reference"] == "BANK-42"
    assert balances(order_id, seller)["escrow"] == TOTAL
    assert balances(order_id, seller)["world"] == -TOTAL
    event = last_transition(order_id)
    assert event.actor_role == "provider" and event.actor_id == support_api.user.pk
    assert event.payload["reference"] == "BANK-42" and event.payload["amount"] == TOTAL
    before = db_snapshot()
    assert support_api.act(order_id, "confirm-payment").status_code == 409
    assert db_snapshot() == before
    assert ledger_kinds(order_id) == ["capture"]


# --- what the order keeps --------------------------------------------------------------------


def test_requirement_answers_can_change_before_payment_and_are_frozen_after(
    offer, buyer_api, seller_api
):
    order_id = place(buyer_api, offer)["id"]
    r = buyer_api.put(f"/orders/{order_id}/answers", {"answers": ["ACME Ltd", "green"]})
    assert [a["answer"] for a in ok(r)["requirements"]] == ["ACME Ltd", "green"]
    assert Event.objects.filter(order_id=order_id, type="order.answers_updated").count() == 1
    refused(
        seller_api.put(f"/orders/{order_id}/answers", {"answers": ["x", "y"]}),
        409,
        "transition_not_allowed",
    )
    ok(buyer_api.act(order_id, "pay"))
    paid = last_transition(order_id).payload["requirements_sha256"]
    before = db_snapshot()

    r = buyer_api.put(f"/orders/{order_id}/answers", {"answers": ["Other", "red"]})

    refused(r, 409, "frozen")
    assert db_snapshot() == before
    order = ok(buyer_api.get(f"/orders/{order_id}"))
    assert [a["answer"] for a in order["requirements"]] == ["ACME Ltd", "green"]
    assert last_transition(order_id).payload["requirements_sha256"] == paid


def test_an_order_keeps_the_terms_version_it_was_placed_under(offer, buyer_api, seller_api):
    offer_v1 = ok(seller_api.get(f"/offers/{offer.pk}"))
    first = place(buyer_api, offer)
    fields = {
        k: offer_v1[k]
        for k in (
            "title",
            "description",
            "price",
            "currency",
            "delivery_days",
            "revisions",
            "requirements",
            "requires_acceptance",
        )
    }

    r = seller_api.put(f"/offers/{offer.pk}", {**fields, "price": 20000, "terms": "Terms v2"})

    offer_v2 = ok(r)
    assert offer_v2["terms_version"] == 2 and offer_v2["terms_sha256"] != offer_v1["terms_sha256"]
    kept = ok(buyer_api.get(f"/orders/{first['id']}"))
    assert (kept["terms_version"], kept["terms_sha256"]) == (1, offer_v1["terms_sha256"])
    assert kept["price"] == PRICE
    second = place(buyer_api, offer)
    assert (second["terms_version"], second["terms_sha256"]) == (2, offer_v2["terms_sha256"])
    assert second["price"] == 20000
    placed = Event.objects.filter(order_id=first["id"], type="order.placed").get()
    assert placed.payload["terms_sha256"] == offer_v1["terms_sha256"]
    versioned = Event.objects.filter(type="offer.terms_versioned").get()
    assert versioned.payload["terms_version"] == 2


# --- originals -------------------------------------------------------------------------------


def test_buyer_cannot_download_an_original_before_completion_and_the_refusal_is_recorded(
    offer, buyer, buyer_api, seller_api, support_api
):
    order_id, file_id = delivered_order(buyer_api, seller_api, offer)

    refused(download(buyer_api, file_id), 403, "originals_locked")

    refusal = Event.objects.get(order_id=order_id, type="file.original_refused")
    assert (refusal.actor_id, refusal.actor_role) == (buyer.pk, "buyer")
    assert refusal.payload["file_id"] == file_id and refusal.payload["bytes"] == 0
    assert downloaded_bytes(download(seller_api, file_id)) == b"ORIGINAL" * 64
    assert downloaded_bytes(download(support_api, file_id)) == b"ORIGINAL" * 64
    roles = Event.objects.filter(order_id=order_id, type="file.original_downloaded")
    assert sorted(roles.values_list("actor_role", flat=True)) == ["seller", "support"]


def test_strangers_get_404_for_real_and_guessed_file_ids_and_leave_no_trace(
    offer, buyer_api, seller_api, stranger_api
):
    _, file_id = delivered_order(buyer_api, seller_api, offer)
    events = Event.objects.count()

    for guess in (file_id, file_id + 1, 999_999, 0):
        refused(download(stranger_api, guess), 404, "not_found")
    refused(download(buyer_api, file_id + 1), 404, "not_found")

    assert Event.objects.count() == events


def test_release_early_lets_the_buyer_download_that_delivery_only(seller, buyer_api, seller_api):
    order_id = paid_order(buyer_api, make_offer(seller, revisions=2))
    first = deliver(seller_api, order_id, b"FIRST")
    ok(buyer_api.act(order_id, "request-revision", {"text": "Another version"}))
    second = deliver(seller_api, order_id, b"SECOND")
    refused(
        buyer_api.post(f"/orders/{order_id}/release-early", {"delivery_id": first["id"]}),
        409,
        "transition_not_allowed",
    )

    ok(seller_api.post(f"/orders/{order_id}/release-early", {"delivery_id": first["id"]}))

    assert downloaded_bytes(download(buyer_api, first["files"][0]["id"])) == b"FIRST"
    refused(download(buyer_api, second["files"][0]["id"]), 403, "originals_locked")
    released = Event.objects.get(order_id=order_id, type="delivery.released_early")
    assert released.payload == {"delivery_id": first["id"]} and released.actor_role == "seller"
    assert Order.objects.get(pk=order_id).state == "delivered"


def test_access_to_early_released_originals_ends_when_the_order_is_refunded(
    offer, seller, buyer_api, seller_api
):
    order_id, file_id = delivered_order(buyer_api, seller_api, offer)
    delivery_id = ok(seller_api.get(f"/orders/{order_id}/deliveries"))[0]["id"]
    ok(seller_api.post(f"/orders/{order_id}/release-early", {"delivery_id": delivery_id}))
    assert downloaded_bytes(download(buyer_api, file_id))
    ok(seller_api.act(order_id, "request-cancellation", {"text": "Cannot finish", "refund": TOTAL}))
    ok(buyer_api.act(order_id, "accept-cancellation"))

    refused(download(buyer_api, file_id), 403, "originals_locked")
    assert balances(order_id, seller)["world"] == 0
    assert Event.objects.filter(order_id=order_id, type="file.original_refused").count() == 1
