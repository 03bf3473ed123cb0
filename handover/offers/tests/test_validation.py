"""What an offer may say: a price of 1 minor unit up to the maximum, a known currency, delivery
in 1 to 365 days, 0 to 100 revisions, at most 30 requirement questions, and texts within their
lengths with no bidi control. A refusal names what is wrong with its code and writes nothing:
no offer, no terms version, no event."""

from typing import Any

import pytest

from handover.lib.errors import InvalidInput
from handover.lib.money import MAX_AMOUNT
from handover.offers.models import Offer
from handover.offers.services import OfferFields, offer_create, offer_update
from handover.testing.actors import Api
from handover.testing.factories import offer_body
from handover.testing.snapshots import offer_rows
from handover.testing.steps import ok, refused

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: "Logo \u202egpj.exe" shows as "Logo exe.jpg"

# Each refused change of a valid offer, and the error code it is refused with.
REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "a price of 0": ({"price": 0}, "invalid"),
    "a negative price": ({"price": -1}, "invalid"),
    "a price above the maximum": ({"price": MAX_AMOUNT + 1}, "invalid"),
    "an unknown currency": ({"currency": "XYZ"}, "invalid"),
    "a currency in lower case": ({"currency": "eur"}, "invalid"),
    "no delivery days": ({"delivery_days": 0}, "invalid"),
    "delivery in over a year": ({"delivery_days": 366}, "invalid"),
    "negative revisions": ({"revisions": -1}, "invalid"),
    "over 100 revisions": ({"revisions": 101}, "invalid"),
    "a blank title": ({"title": "   "}, "invalid"),
    "a title over 200 characters": ({"title": "x" * 201}, "invalid"),
    "a NUL in the title": ({"title": "Logo\x00"}, "invalid"),
    "a description over 20,000 characters": ({"description": "x" * 20_001}, "invalid"),
    "empty terms": ({"terms": ""}, "invalid"),
    "terms over 100,000 characters": ({"terms": "x" * 100_001}, "invalid"),
    "31 requirement questions": ({"requirements": [f"Q{n}?" for n in range(31)]}, "invalid"),
    "a blank question": ({"requirements": ["Name?", " "]}, "invalid"),
    "a question over 1,000 characters": ({"requirements": ["x" * 1001]}, "invalid"),
    "a bidi control in the title": ({"title": f"Logo {RLO}gpj.exe"}, "bidi_control"),
    "a bidi control in the description": ({"description": f"A{RLO}B"}, "bidi_control"),
    "a bidi control in the terms": ({"terms": f"Licence {RLO}on refund"}, "bidi_control"),
    "a bidi control in a question": ({"requirements": ["Name?", f"{RLO}?"]}, "bidi_control"),
}

# The edges that still go through, each checked as stored.
ACCEPTED: dict[str, dict[str, Any]] = {
    "a price of 1": {"price": 1},
    "the maximum price": {"price": MAX_AMOUNT},
    "a currency without minor units": {"currency": "JPY"},
    "delivery in a day": {"delivery_days": 1},
    "delivery in a year": {"delivery_days": 365},
    "no revision": {"revisions": 0},
    "100 revisions": {"revisions": 100},
    "a title of 200 characters": {"title": "x" * 200},
    "no description": {"description": ""},
    "a description of 20,000 characters": {"description": "x" * 20_000},
    "terms of 100,000 characters": {"terms": "x" * 100_000},
    "30 requirement questions": {"requirements": [f"Q{n}?" for n in range(30)]},
    "no requirement question": {"requirements": []},
    "a question of 1,000 characters": {"requirements": ["x" * 1000]},
    "right-to-left letters": {"title": "Logo שלום مرحبا", "terms": "תנאים: رخصة"},
}


def stored(offer: Offer, name: str) -> Any:
    return offer.current_terms.text if name == "terms" else getattr(offer, name)


# --- services --------------------------------------------------------------------------------


@pytest.mark.parametrize("case", REFUSED)
def test_a_bad_offer_is_refused_with_its_code_and_nothing_written(case, seller):
    changes, code = REFUSED[case]
    before = offer_rows()
    with pytest.raises(InvalidInput) as refusal:
        offer_create(seller=seller, fields=OfferFields(**offer_body(**changes)))
    assert refusal.value.code == code
    assert offer_rows() == before


@pytest.mark.parametrize("case", REFUSED)
def test_a_bad_change_is_refused_with_its_code_and_the_offer_kept(case, offer, seller):
    changes, code = REFUSED[case]
    # New terms too, so that a refusal must also keep from writing a terms version.
    fields = OfferFields(**offer_body(**{"terms": "Terms v2.", **changes}))
    before = offer_rows()
    with pytest.raises(InvalidInput) as refusal:
        offer_update(offer_id=offer.pk, seller=seller, fields=fields)
    assert refusal.value.code == code
    assert offer_rows() == before


@pytest.mark.parametrize("case", ACCEPTED)
def test_an_offer_at_the_edge_of_the_rules_is_taken_as_written(case, seller):
    changes = ACCEPTED[case]
    offer = offer_create(seller=seller, fields=OfferFields(**offer_body(**changes)))
    offer.refresh_from_db()
    assert {name: stored(offer, name) for name in changes} == changes


# --- API -------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", REFUSED)
def test_the_api_refuses_a_bad_offer_with_400_and_its_code(case, seller_api, offer):
    changes, code = REFUSED[case]
    before = offer_rows()
    refused(seller_api.post("/offers", offer_body(**changes)), 400, code)
    body = offer_body(**{"terms": "Terms v2.", **changes})
    refused(seller_api.put(f"/offers/{offer.pk}", body), 400, code)
    assert offer_rows() == before


# Values of the wrong type never reach the rules: the schema refuses them (422).
WRONG_TYPE: dict[str, dict[str, Any]] = {
    "a price as a string": {"price": "10000"},
    "a price with a fraction": {"price": 100.5},
    "a price as a boolean": {"price": True},
    "delivery days as a string": {"delivery_days": "3"},
    "revisions as a float": {"revisions": 1.0},
    "acceptance as a string": {"requires_acceptance": "yes"},
    "requirements as one string": {"requirements": "Company name?"},
    "a question as a number": {"requirements": [42]},
    "no title": {"title": None},
}


@pytest.mark.parametrize("case", WRONG_TYPE)
def test_the_api_refuses_a_value_of_the_wrong_type_with_422(case, seller_api):
    before = offer_rows()
    refused(seller_api.post("/offers", offer_body(**WRONG_TYPE[case])), 422, "validation_error")
    assert offer_rows() == before


def test_the_api_refuses_an_offer_without_terms_or_currency(seller_api):
    before = offer_rows()
    for missing in ("terms", "currency", "price", "delivery_days"):
        body = {k: v for k, v in offer_body().items() if k != missing}
        refused(seller_api.post("/offers", body), 422, "validation_error")
    assert offer_rows() == before


def test_an_anonymous_client_cannot_publish_an_offer(db):
    before = offer_rows()
    refused(Api(None).post("/offers", offer_body()), 401, "not_authenticated")
    assert offer_rows() == before


def test_the_api_takes_an_offer_at_the_edges_as_written(seller_api):
    body = offer_body(
        price=MAX_AMOUNT,
        currency="JPY",
        delivery_days=365,
        revisions=100,
        requirements=[f"Q{n}?" for n in range(30)],
        terms="x" * 100_000,
    )
    created = ok(seller_api.post("/offers", body), 201)
    assert {k: created[k] for k in body} == body
