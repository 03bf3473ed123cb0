"""An offer's terms are versioned: changed terms become a new version with its own hash, the
old versions stay as they were written, and an order keeps the version (and the price and
questions) it was placed under, whatever the seller changes later."""

import hashlib

import pytest

from handover.evidence.models import Event, EventType
from handover.lib.errors import NotFound
from handover.offers.models import Offer, OfferTerms
from handover.offers.services import OfferFields, offer_set_active, offer_update
from handover.orders.rules import State
from handover.orders.services import order_pay, order_place
from handover.testing.factories import make_offer, offer_body
from handover.testing.snapshots import offer_rows
from handover.testing.steps import ok, place, refused

TERMS_V1 = offer_body()["terms"]
TERMS_V2 = "Terms v2: the buyer gets a licence on payment."


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def versions(offer: Offer) -> list[tuple[int, str, str]]:
    return list(offer.terms_versions.order_by("version").values_list("version", "text", "sha256"))


def change(offer: Offer, seller, **changes) -> Offer:
    fields = OfferFields(**offer_body(**changes))
    return offer_update(offer_id=offer.pk, seller=seller, fields=fields)


# --- services --------------------------------------------------------------------------------


def test_a_new_offer_has_version_1_of_its_terms_and_records_their_hash(seller):
    offer = make_offer(seller)
    assert versions(offer) == [(1, TERMS_V1, sha256(TERMS_V1))]
    created = Event.objects.get(type=EventType.OFFER_CREATED)
    assert created.payload == {
        "offer_id": offer.pk,
        "terms_version": 1,
        "terms_sha256": sha256(TERMS_V1),
    }
    assert created.actor_id == seller.pk


def test_changed_terms_become_a_new_version_and_the_old_one_stays(offer, seller):
    change(offer, seller, terms=TERMS_V2)
    assert versions(offer) == [(1, TERMS_V1, sha256(TERMS_V1)), (2, TERMS_V2, sha256(TERMS_V2))]
    assert offer.current_terms.version == 2
    versioned = Event.objects.get(type=EventType.OFFER_TERMS_VERSIONED)
    assert versioned.payload == {
        "offer_id": offer.pk,
        "terms_version": 2,
        "terms_sha256": sha256(TERMS_V2),
    }


def test_an_edit_that_keeps_the_terms_makes_no_new_version(offer, seller):
    change(offer, seller, title="Logo, redrawn", price=12000)
    offer.refresh_from_db()
    assert (offer.title, offer.price) == ("Logo, redrawn", 12000)
    assert versions(offer) == [(1, TERMS_V1, sha256(TERMS_V1))]
    assert not Event.objects.filter(type=EventType.OFFER_TERMS_VERSIONED).exists()


def test_every_change_of_terms_counts_one_version_up_even_back_to_old_words(offer, seller):
    change(offer, seller, terms=TERMS_V2)
    change(offer, seller, terms=TERMS_V2)  # unchanged: no version
    change(offer, seller, terms=TERMS_V1)  # what a buyer agrees to changed again
    assert [(v, text) for v, text, _ in versions(offer)] == [
        (1, TERMS_V1),
        (2, TERMS_V2),
        (3, TERMS_V1),
    ]
    assert Event.objects.filter(type=EventType.OFFER_TERMS_VERSIONED).count() == 2


def test_a_terms_version_cannot_be_rewritten(offer):
    terms = offer.terms_versions.get()
    terms.text = "Rewritten after the fact."
    with pytest.raises(RuntimeError, match="append-only"):
        terms.save()
    assert OfferTerms.objects.get(pk=terms.pk).text == TERMS_V1


def test_an_order_keeps_the_terms_price_and_questions_it_was_placed_under(offer, seller, buyer):
    placed = order_place(buyer=buyer, offer_id=offer.pk, answers=["Acme", "Blue"])
    change(offer, seller, terms=TERMS_V2, price=20000, requirements=["Deadline?"])
    later = order_place(buyer=buyer, offer_id=offer.pk, answers=["Friday"])

    placed.refresh_from_db()
    assert (placed.terms.version, placed.terms.text, placed.terms_sha256) == (
        1,
        TERMS_V1,
        sha256(TERMS_V1),
    )
    assert placed.price == 10000
    assert placed.requirements == [
        {"question": "Company name?", "answer": "Acme"},
        {"question": "Colours?", "answer": "Blue"},
    ]
    later.refresh_from_db()
    assert (later.terms.version, later.terms_sha256, later.price) == (2, sha256(TERMS_V2), 20000)
    assert later.requirements == [{"question": "Deadline?", "answer": "Friday"}]


def test_only_the_offers_seller_may_change_it(offer, stranger):
    before = offer_rows()
    with pytest.raises(NotFound):
        change(offer, stranger, terms="Mine now.")
    assert offer_rows() == before


def test_a_closed_offer_takes_no_new_order_and_its_placed_orders_go_on(offer, seller, buyer):
    placed = order_place(buyer=buyer, offer_id=offer.pk, answers=["Acme", "Blue"])
    offer_set_active(offer_id=offer.pk, seller=seller, active=False)
    with pytest.raises(NotFound):
        order_place(buyer=buyer, offer_id=offer.pk, answers=["Acme", "Blue"])
    order_pay(order_id=placed.pk, user=buyer)
    placed.refresh_from_db()
    assert placed.state == State.IN_PROGRESS

    offer_set_active(offer_id=offer.pk, seller=seller, active=True)
    assert order_place(buyer=buyer, offer_id=offer.pk, answers=["Acme", "Blue"]).pk


# --- API -------------------------------------------------------------------------------------


def test_the_api_shows_the_current_terms_and_an_order_its_own(seller_api, buyer_api):
    created = ok(seller_api.post("/offers", offer_body()), 201)
    assert (created["terms"], created["terms_version"]) == (TERMS_V1, 1)
    assert created["terms_sha256"] == sha256(TERMS_V1)
    offer = Offer.objects.get(pk=created["id"])
    order_id = place(buyer_api, offer)["id"]

    changed = ok(seller_api.put(f"/offers/{offer.pk}", offer_body(terms=TERMS_V2)))
    assert (changed["terms"], changed["terms_version"]) == (TERMS_V2, 2)
    assert changed["terms_sha256"] == sha256(TERMS_V2)
    shown = ok(buyer_api.get(f"/offers/{offer.pk}"))
    assert (shown["terms"], shown["terms_version"]) == (TERMS_V2, 2)
    listed = ok(buyer_api.get("/offers"))["items"]
    assert [(o["id"], o["terms_version"]) for o in listed] == [(offer.pk, 2)]

    seen = ok(buyer_api.get(f"/orders/{order_id}"))
    assert (seen["terms_version"], seen["terms_sha256"]) == (1, sha256(TERMS_V1))


def test_the_api_keeps_the_version_when_the_terms_do_not_change(offer, seller_api):
    changed = ok(seller_api.put(f"/offers/{offer.pk}", offer_body(price=15000)))
    assert (changed["price"], changed["terms_version"]) == (15000, 1)
    assert offer.terms_versions.count() == 1


def test_another_seller_gets_404_and_the_offer_is_unchanged(offer, stranger_api):
    before = offer_rows()
    refused(
        stranger_api.put(f"/offers/{offer.pk}", offer_body(terms="Mine now.")), 404, "not_found"
    )
    refused(stranger_api.post(f"/offers/{offer.pk}/active", {"active": False}), 404, "not_found")
    assert offer_rows() == before
