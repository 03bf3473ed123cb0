"""The order page offers an action only where the transition rules (``orders.rules``: the
table, its guards and ``SETTINGS``) allow it: every state, for each party and support."""

import re

import pytest
from django.test import Client

from handover.orders.rules import Actor, State
from handover.orders.selectors import available_actions
from handover.testing.factories import make_offer, order_in_state
from handover.testing.snapshots import db_snapshot
from handover.web.tests.helpers import page_messages

S = State
# What the page offers, by state and viewer, for an order as ``order_in_state`` makes it:
# one revision included (used on the way to revision_requested), not late, a cancellation
# asked for by the buyer. Written out, not derived, so that the rules cannot drift unseen.
OFFERED: dict[State, dict[str, set[str]]] = {
    S.PENDING_PAYMENT: {"buyer": {"pay", "abandon"}, "seller": set()},
    S.AWAITING_ACCEPTANCE: {
        "buyer": {"auto-complete"},
        "seller": {"accept-order", "decline-order"},
    },
    S.IN_PROGRESS: {
        "buyer": {"auto-complete", "request-cancellation", "open-dispute"},
        "seller": {"deliver", "request-cancellation", "open-dispute"},
    },
    S.DELIVERED: {
        "buyer": {
            "accept",
            "request-revision",
            "request-cancellation",
            "open-dispute",
            "auto-complete",
        },
        # A forgotten file: a delivery added while the buyer has not accepted yet.
        "seller": {"deliver", "request-cancellation", "open-dispute"},
    },
    S.REVISION_REQUESTED: {
        "buyer": {"auto-complete", "request-cancellation", "open-dispute"},
        "seller": {"deliver", "grant-revision", "request-cancellation", "open-dispute"},
    },
    S.CANCELLATION_REQUESTED: {
        "buyer": {"auto-complete", "withdraw-cancellation", "open-dispute"},
        "seller": {"accept-cancellation", "decline-cancellation", "open-dispute"},
    },
    S.DISPUTED: {"buyer": set(), "seller": set()},
    S.COMPLETED: {"buyer": {"open-dispute"}, "seller": set()},
    S.CANCELLED: {"buyer": set(), "seller": set()},
    S.CHARGEBACK_HOLD: {"buyer": set(), "seller": set()},
    S.CHARGED_BACK: {"buyer": set(), "seller": set()},
}
# Links of the order page that are not moves of the order ("answers": the buyer changes them
# or adds reference files until payment, web/tests/test_references.py).
NOT_MOVES = {"evidence", "report", "review", "messages", "answers"}


def offered(client: Client, order_id: int) -> set[str]:
    html = client.get(f"/orders/{order_id}/").content.decode()
    return set(re.findall(rf'(?:href|action)="/orders/{order_id}/([a-z-]+)/"', html)) - NOT_MOVES


@pytest.fixture
def parties(buyer, seller, support):
    return {"buyer": buyer, "seller": seller, "support": support}


@pytest.mark.django_db
@pytest.mark.parametrize("state", list(State))
def test_each_viewer_is_offered_only_what_the_rules_allow(state, parties):
    order = order_in_state(state, **parties)
    for role in ("buyer", "seller", "support"):
        client = Client()
        client.force_login(parties[role])
        shown = offered(client, order.pk)
        expected = OFFERED[state].get(role, set())
        assert shown == expected, (state, role)
        # Each is one the rules allow (the page only hides some: a revision while some are left).
        assert shown <= set(available_actions(order, Actor(role))), (state, role)


@pytest.mark.django_db
@pytest.mark.parametrize("state", [S.PENDING_PAYMENT, S.AWAITING_ACCEPTANCE, S.DISPUTED])
def test_a_revision_cannot_be_granted_before_the_work_starts_or_once_disputed(
    state, parties, seller_api
):
    order = order_in_state(state, **parties)
    before = db_snapshot()
    response = seller_api.act(order.pk, "grant-revision")
    assert response.status_code == 409
    assert db_snapshot() == before


@pytest.mark.django_db
def test_grant_revision_is_not_offered_on_an_order_awaiting_acceptance(parties, seller):
    # An offer that includes no revision: the page offers one once the included are used.
    offer = make_offer(seller, revisions=0, requires_acceptance=True)
    order = order_in_state(S.AWAITING_ACCEPTANCE, **parties, offer=offer)
    client = Client()
    client.force_login(seller)
    assert "grant-revision" not in offered(client, order.pk)
    before = db_snapshot()
    response = client.post(f"/orders/{order.pk}/grant-revision/", follow=True)
    assert page_messages(response) == [
        "Granting a revision is not possible while the order is awaiting_acceptance."
    ]
    assert db_snapshot() == before


@pytest.mark.django_db
def test_auto_complete_cannot_be_switched_on_a_disputed_order(parties, buyer):
    order = order_in_state(S.DISPUTED, **parties)
    client = Client()
    client.force_login(buyer)
    before = db_snapshot()
    response = client.post(f"/orders/{order.pk}/auto-complete/", {"enabled": "off"}, follow=True)
    assert page_messages(response) == [
        "Setting auto-completion is not possible while the order is disputed."
    ]
    assert db_snapshot() == before
