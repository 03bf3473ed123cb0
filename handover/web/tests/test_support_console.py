"""The support console: who may reach it, its home's counts, the order search, the support view
of an order and each action support takes there (rationale on the record, a confirmation
before money moves or something ends, bad input beside its field and nothing changed)."""

import re
from datetime import timedelta

import pytest
from django.urls import URLPattern, get_resolver, reverse
from django.utils import timezone

from handover.accounts.models import Role
from handover.disputes.models import Dispute
from handover.evidence.models import Event, EventType
from handover.ledger.models import LedgerTransaction
from handover.notifications.models import Outbox
from handover.orders.models import Order
from handover.orders.rules import Actor, State
from handover.testing.actors import make_user
from handover.testing.factories import order_in_state
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import balances
from handover.trust.models import Report, ReportReason
from handover.trust.selectors import user_record
from handover.web.tests.helpers import field_errors, form_errors, page_messages

RATIONALE = "Bank statement of 3 May shows the transfer with its reference."


def page(response) -> str:
    return response.content.decode()


def last_move(order: Order) -> Event:
    event = Event.objects.filter(order=order, type=EventType.ORDER_TRANSITION).last()
    assert event is not None
    return event


@pytest.fixture
def cast(buyer, seller, support) -> dict:
    return {"buyer": buyer, "seller": seller, "support": support}


@pytest.fixture
def awaiting_transfer(settings, cast) -> Order:
    """An order paid by bank transfer: the buyer has the reference, support has not seen it.
    Other orders of the test are paid with the test provider."""
    from handover.orders.services import order_pay

    settings.HANDOVER_PAYMENT_PROVIDER = "manual"
    order = order_in_state(State.PENDING_PAYMENT, **cast)
    settings.HANDOVER_PAYMENT_PROVIDER = "test"
    order_pay(order_id=order.pk, user=cast["buyer"])
    order.refresh_from_db()
    assert order.payment_reference.startswith(f"HOV-{order.pk}-")
    return order


@pytest.fixture
def requested(cast) -> Order:
    """A delivered order whose buyer asks to cancel with half the total back."""
    return order_in_state(
        State.CANCELLATION_REQUESTED, **cast, from_state=State.DELIVERED, refund=5275
    )


@pytest.fixture
def desk(client, support):
    client.force_login(support)
    return client


# --- who may reach the desk --------------------------------------------------------------------


def support_routes() -> list[URLPattern]:
    """Every page and action under /support/, as support_urls declares them: a new one is in
    this list without anyone adding it here."""
    get_resolver().url_patterns  # noqa: B018  (web/urls.py registers <id:...> first)
    from handover.web import support_urls

    return [
        p
        for p in support_urls.urlpatterns
        if isinstance(p, URLPattern) and str(p.pattern).startswith("support/")
    ]


def _url(route: URLPattern, order: Order, dispute: Dispute) -> str:
    ids = {"order_id": order.pk, "dispute_id": dispute.pk}
    names = re.findall(r"<id:(\w+)>", str(route.pattern))
    return reverse(f"web:{route.name}", kwargs={n: ids.get(n, 1) for n in names})


def test_the_route_list_holds_every_support_page(cast):
    names = {route.name for route in support_routes()}
    assert {
        "support_home",
        "support_orders",
        "support_order",
        "support_confirm_payment",
        "support_chargeback",
        "support_chargeback_won",
        "support_chargeback_lost",
        "support_settle_cancellation",
        "support_open_dispute",
        "dispute_queue",
        "dispute",
        "dispute_note",
        "dispute_decide",
        "dispute_assign",
    } <= names


@pytest.mark.parametrize("who", ["buyer", "seller", "stranger"])
def test_a_member_gets_403_on_every_support_page_and_action_and_nothing_changes(
    client, cast, requested, who, request
):
    dispute_order = order_in_state(State.DISPUTED, **cast)
    dispute = Dispute.objects.get(order=dispute_order)
    client.force_login(request.getfixturevalue(who))
    before = db_snapshot()
    data = {"text": RATIONALE, "outcome": "accept", "party": "buyer", "confirm": "yes"}
    for route in support_routes():
        url = _url(route, requested, dispute)
        assert client.get(url).status_code == 403, url
        assert client.post(url, data).status_code == 403, url
    assert db_snapshot() == before


def test_support_pages_need_a_login(client, cast, requested):
    dispute = Dispute.objects.create(
        order=requested, opened_by_role="buyer", reason="x", opened_at=timezone.now()
    )
    for route in support_routes():
        response = client.get(_url(route, requested, dispute))
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_top_bar_links_the_desk_for_support_and_operators_only(client, buyer, support):
    client.force_login(buyer)
    assert "Support desk" not in page(client.get("/"))
    for agent in (support, make_user("operator", Role.OPERATOR)):
        client.force_login(agent)
        html = page(client.get("/"))
        assert f'<a href="{reverse("web:support_home")}">Support desk</a>' in html


# --- the home ----------------------------------------------------------------------------------


def test_the_home_counts_what_waits(desk, cast, support, awaiting_transfer, clock):
    overdue = order_in_state(State.DISPUTED, **cast)
    late = order_in_state(State.CANCELLATION_REQUESTED, **cast)
    assert late.timer_at is not None
    clock.move_to(late.timer_at + timedelta(minutes=1), tick=False)
    order_in_state(State.DISPUTED, **cast)  # open, within its target
    order_in_state(State.CANCELLATION_REQUESTED, **cast)  # asked just now
    Report.objects.create(
        reporter=cast["buyer"],
        subject=cast["seller"],
        reason=ReportReason.SPAM,
        created_at=timezone.now(),
    )
    Dispute.objects.filter(order=overdue).update(assigned_to=support)

    html = page(desk.get("/support/"))

    counts = dict(
        (label.split()[0] if label.split()[0] != "report" else "report", int(n))
        for n, label in re.findall(
            r'count__number">(\d+)</span>\s*<span class="count__label">([^<]+)', html
        )
    )
    assert counts == {
        "overdue": 1,
        "open": 2,
        "report": 1,
        "bank": 1,
        "cancellation": 1,
        "failed": 0,  # refunds (billing/tests/test_refunds.py counts one)
    }
    assert re.search(
        r">2</span>\s*<span class=\"count__label\">open disputes, 1 assigned to you", html
    )
    assert f'href="{reverse("web:support_orders")}?waiting=payment"' in html


# --- the search --------------------------------------------------------------------------------


@pytest.fixture
def orders(cast) -> list[Order]:
    """Three orders of two buyers: one in progress, one completed, one unpaid."""
    other = make_user("zoe")
    return [
        order_in_state(State.IN_PROGRESS, **cast),
        order_in_state(State.COMPLETED, **{**cast, "buyer": other}),
        order_in_state(State.PENDING_PAYMENT, **cast),
    ]


def found(response) -> list[int]:
    assert response.status_code == 200, page(response)
    return [
        int(n)
        for n in re.findall(r'class="row__title" href="/support/orders/(\d+)/"', page(response))
    ]


def test_the_search_finds_orders_by_number_name_email_state_and_date(desk, orders, cast):
    first, second, third = orders
    assert found(desk.get("/support/orders/")) == [third.pk, second.pk, first.pk]
    assert found(desk.get("/support/orders/", {"q": str(second.pk)})) == [second.pk]
    assert found(desk.get("/support/orders/", {"q": f"#{first.pk}"})) == [first.pk]
    assert found(desk.get("/support/orders/", {"q": "zoe"})) == [second.pk]
    assert found(desk.get("/support/orders/", {"q": "ZOE@EXAMPLE"})) == [second.pk]
    by_seller = found(desk.get("/support/orders/", {"q": cast["seller"].username}))
    assert by_seller == [third.pk, second.pk, first.pk]
    assert found(desk.get("/support/orders/", {"state": "completed"})) == [second.pk]
    today = timezone.localdate().isoformat()
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert len(found(desk.get("/support/orders/", {"placed_from": today, "placed_to": today}))) == 3
    assert found(desk.get("/support/orders/", {"placed_from": tomorrow})) == []


def test_the_search_finds_a_transfer_by_its_reference(desk, awaiting_transfer):
    reference = awaiting_transfer.payment_reference
    assert found(desk.get("/support/orders/", {"q": reference.lower()})) == [awaiting_transfer.pk]
    assert found(desk.get("/support/orders/", {"waiting": "payment"})) == [awaiting_transfer.pk]


@pytest.mark.parametrize(
    "text",
    [
        "%",
        "_",
        "' OR 1=1 --",
        "%' UNION SELECT password FROM accounts_user --",
        "\\",
        "99999999999999999999999",
        "#0",
        "<script>alert(1)</script>",
    ],
)
def test_hostile_search_text_finds_nothing_and_breaks_nothing(desk, orders, text):
    response = desk.get("/support/orders/", {"q": text})
    assert found(response) == []
    assert "<script>alert(1)</script>" not in page(response)


@pytest.mark.parametrize(
    ("params", "field", "error"),
    [
        ({"q": "ana\x00"}, "q", "Null characters are not allowed."),
        ({"q": "x" * 101}, "q", "Ensure this value has at most 100 characters (it has 101)."),
        (
            {"state": "bogus"},
            "state",
            "Select a valid choice. bogus is not one of the available choices.",
        ),
        ({"placed_from": "2026-13-45"}, "placed_from", "Enter a valid date."),
        (
            {"placed_from": "2026-05-04", "placed_to": "2026-05-01"},
            "placed_to",
            "The end date comes before the start date.",
        ),
    ],
)
def test_a_bad_search_field_shows_its_error_and_lists_nothing(desk, orders, params, field, error):
    response = desk.get("/support/orders/", params)
    assert response.status_code == 422
    assert field_errors(response, field) == [error]
    assert "row__title" not in page(response)


def test_the_pages_of_a_search_keep_the_search(desk, cast, settings):
    for _ in range(26):
        order_in_state(State.PENDING_PAYMENT, **cast)
    html = page(desk.get("/support/orders/", {"state": "pending_payment"}))
    assert 'href="?state=pending_payment&amp;page=2"' in html


# --- the support view of an order ------------------------------------------------------------


def test_the_order_view_shows_the_record_and_only_the_actions_its_state_allows(
    desk, cast, awaiting_transfer, requested
):
    def actions(order: Order) -> set[str]:
        html = page(desk.get(f"/support/orders/{order.pk}/"))
        return set(re.findall(rf'href="/support/orders/{order.pk}/([a-z-]+)/"', html))

    assert actions(awaiting_transfer) == {"confirm-payment"}
    # A paid order's card payment may be charged back at any time until it closes.
    assert actions(requested) == {"settle-cancellation", "open-dispute", "chargeback"}
    assert actions(order_in_state(State.COMPLETED, **cast)) == {"chargeback", "open-dispute"}
    assert actions(order_in_state(State.IN_PROGRESS, **cast)) == {"chargeback", "open-dispute"}
    on_hold = order_in_state(State.CHARGEBACK_HOLD, **cast)
    assert actions(on_hold) == {"chargeback-won", "chargeback-lost"}
    assert actions(order_in_state(State.CANCELLED, **cast)) == set()
    html = page(desk.get(f"/support/orders/{requested.pk}/"))
    assert "We cannot agree on the brief." in html  # the request, and on the record
    assert "Timeline" not in html or "Record" in html
    assert 'class="timeline"' in html and 'class="chat"' in html
    assert "Delivery 1" in html


def test_an_unpaid_order_of_the_test_provider_offers_no_transfer_to_confirm(desk, cast):
    order = order_in_state(State.PENDING_PAYMENT, **cast)
    response = desk.get(f"/support/orders/{order.pk}/confirm-payment/")
    assert response.status_code == 302
    assert (
        desk.post(f"/support/orders/{order.pk}/confirm-payment/", {"text": "x"}).status_code == 409
    )


def test_an_agent_who_is_a_party_gets_no_action(client, seller, support):
    agent = make_user("agent", Role.SUPPORT)
    order = order_in_state(State.IN_PROGRESS, buyer=agent, seller=seller, support=support)
    client.force_login(agent)
    html = page(client.get(f"/support/orders/{order.pk}/"))
    assert "You are the buyer of this order" in html
    assert "/open-dispute/" not in html


@pytest.mark.parametrize(
    "path", ["", "confirm-payment/", "chargeback/", "settle-cancellation/", "open-dispute/"]
)
def test_an_unknown_order_is_404(desk, path):
    assert desk.get(f"/support/orders/999999/{path}").status_code == 404
    assert desk.post(f"/support/orders/999999/{path}", {"text": RATIONALE}).status_code in (
        404,
        405,
    )
    assert desk.get(f"/support/orders/99999999999999999999/{path}").status_code == 404


# --- the actions -----------------------------------------------------------------------------


def test_support_confirms_a_transfer_after_a_confirmation_and_the_record_says_why(
    desk, awaiting_transfer, support, seller
):
    url = f"/support/orders/{awaiting_transfer.pk}/confirm-payment/"
    assert desk.get(url).status_code == 200
    before = db_snapshot()
    asked = desk.post(url, {"text": RATIONALE})
    assert asked.status_code == 200
    assert "Confirm that 105.50 EUR arrived?" in page(asked)
    assert db_snapshot() == before  # asking moves nothing

    done = desk.post(url, {"text": RATIONALE, "reference": "", "confirm": "yes"}, follow=True)

    assert page_messages(done) == ["Transfer confirmed: the money is held in escrow."]
    awaiting_transfer.refresh_from_db()
    assert awaiting_transfer.state == State.IN_PROGRESS
    event = last_move(awaiting_transfer)
    assert (event.actor, event.actor_role) == (support, Actor.PROVIDER)
    assert event.payload["action"] == "pay"
    assert event.payload["text"] == RATIONALE
    assert event.payload["reference"] == awaiting_transfer.payment_reference
    assert balances(awaiting_transfer.pk, seller)["escrow"] == awaiting_transfer.total


def test_support_records_a_chargeback_with_its_rationale(desk, cast, support):
    order = order_in_state(State.COMPLETED, **cast)
    url = f"/support/orders/{order.pk}/chargeback/"
    asked = desk.post(url, {"text": "The bank reported chargeback CB-123."})
    assert "Record a chargeback of 105.50 EUR?" in page(asked)
    data = {"text": "The bank reported chargeback CB-123.", "reference": "CB-123"}
    desk.post(url, {**data, "confirm": "yes"})
    order.refresh_from_db()
    assert order.state == State.CHARGEBACK_HOLD
    event = last_move(order)
    assert event.actor == support
    assert event.payload["text"] == "The bank reported chargeback CB-123."
    assert event.payload["reference"] == "CB-123"

    url = f"/support/orders/{order.pk}/chargeback-lost/"
    asked = desk.post(url, {"text": "The provider reported dispute dp_123 lost."})
    assert "Record the chargeback on order" in page(asked)
    desk.post(url, {"text": "The provider reported dispute dp_123 lost.", "confirm": "yes"})
    order.refresh_from_db()
    assert order.state == State.CHARGED_BACK
    event = last_move(order)
    assert event.actor == support
    assert event.payload["text"] == "The provider reported dispute dp_123 lost."


def test_support_accepts_a_cancellation_request_for_the_parties(desk, requested, support, seller):
    url = f"/support/orders/{requested.pk}/settle-cancellation/"
    data = {"outcome": "accept", "text": "The seller agreed by e-mail; the button failed them."}
    asked = desk.post(url, data)
    html = page(asked)
    assert f"Cancel order #{requested.pk}?" in html and "52.75 EUR" in html
    assert Order.objects.get(pk=requested.pk).state == State.CANCELLATION_REQUESTED

    done = desk.post(url, {**data, "confirm": "yes"}, follow=True)

    assert page_messages(done) == [
        "Cancellation accepted: the order is cancelled and the buyer gets 52.75 EUR back."
    ]
    requested.refresh_from_db()
    assert (requested.state, requested.refunded) == (State.CANCELLED, 5275)
    event = last_move(requested)
    assert (event.actor, event.actor_role) == (support, Actor.SUPPORT)
    assert event.payload["action"] == "settle_cancellation"
    assert event.payload["outcome"] == "accepted"
    assert event.payload["text"] == data["text"]
    assert balances(requested.pk, seller)["escrow"] == 0
    # Both parties are told, with support's rationale.
    mails = Outbox.objects.filter(event=event, channel="email")
    assert {m.recipient for m in mails} == {requested.buyer, seller}
    assert all("Support accepted the request" in m.body and data["text"] in m.body for m in mails)
    assert all(
        m.subject == f"Support settled the cancellation request on order #{requested.pk}"
        for m in mails
    )
    # Support settled it: on the buyer's record as their cancellation, not as one agreed.
    record = user_record(requested.buyer).as_buyer.cancellations
    assert (record.by_buyer, record.agreed) == (1, 0)


def test_support_declines_a_cancellation_request_and_the_order_goes_back(desk, requested, support):
    url = f"/support/orders/{requested.pk}/settle-cancellation/"
    data = {"outcome": "decline", "text": "The work matches the brief; go on."}
    assert "Decline the cancellation request?" in page(desk.post(url, data))
    desk.post(url, {**data, "confirm": "yes"})
    requested.refresh_from_db()
    assert requested.state == State.DELIVERED
    assert requested.cancellation_requested_by == ""
    event = last_move(requested)
    assert (event.payload["outcome"], event.payload["text"]) == ("declined", data["text"])
    assert requested.timer_at is not None  # auto-complete runs again


def test_support_opens_a_dispute_for_the_seller_and_the_record_says_so(desk, cast, support, seller):
    order = order_in_state(State.DELIVERED, **cast)
    url = f"/support/orders/{order.pk}/open-dispute/"
    data = {
        "party": "seller",
        "reason": "The buyer stopped answering after the delivery.",
        "text": "The seller wrote to support; their browser cannot open the form.",
    }
    done = desk.post(url, data, follow=True)  # no money moves, nothing ends: no second step
    assert page_messages(done) == ["Dispute opened for the seller. It waits in the queue."]
    dispute = Dispute.objects.get(order=order)
    assert (dispute.opened_by, dispute.opened_by_role, dispute.opened_for) == (
        support,
        "support",
        "seller",
    )
    assert dispute.reason == data["reason"]
    event = last_move(order)
    assert (event.actor, event.actor_role) == (support, Actor.SUPPORT)
    assert event.payload["on_behalf_of"] == "seller"
    assert event.payload["text"] == data["text"]
    assert user_record(seller).as_seller.disputes_opened == 1


def test_after_completion_support_may_open_a_dispute_only_for_the_buyer(desk, cast):
    order = order_in_state(State.COMPLETED, **cast)
    html = page(desk.get(f"/support/orders/{order.pk}/open-dispute/"))
    assert 'value="buyer"' in html and 'value="seller"' not in html
    before = db_snapshot()
    data = {"party": "seller", "reason": "x", "text": "y"}
    response = desk.post(f"/support/orders/{order.pk}/open-dispute/", data)
    assert response.status_code == 422
    errors = re.search(r'<ul class="errorlist" id="id_party_error">(.*?)</ul>', page(response))
    assert errors is not None and "seller is not one of the available choices" in errors[1]
    assert db_snapshot() == before


ACTION_DATA = {
    "confirm-payment": {"reference": ""},
    "chargeback": {},
    "chargeback-won": {},
    "chargeback-lost": {},
    "settle-cancellation": {"outcome": "accept"},
    "open-dispute": {"party": "buyer", "reason": "The seller went silent."},
}


@pytest.fixture
def ready(cast, awaiting_transfer, requested) -> dict[str, Order]:
    """An order on which each action is allowed."""
    return {
        "confirm-payment": awaiting_transfer,
        "chargeback": order_in_state(State.COMPLETED, **cast),
        "chargeback-won": order_in_state(State.CHARGEBACK_HOLD, **cast),
        "chargeback-lost": order_in_state(State.CHARGEBACK_HOLD, **cast),
        "settle-cancellation": requested,
        "open-dispute": order_in_state(State.IN_PROGRESS, **cast),
    }


UNFIT = {
    "": "This field is required.",
    "   ": "This field is required.",
    "\u202eevil": "The rationale may not contain U+202E RIGHT-TO-LEFT OVERRIDE",
    "x" * 10_001: "Ensure this value has at most 10000 characters (it has 10001).",
}


def test_an_action_without_a_fit_rationale_shows_the_error_beside_it_and_changes_nothing(
    desk, ready
):
    before = db_snapshot()
    for slug, order in ready.items():
        for text, error in UNFIT.items():
            for confirm in ({}, {"confirm": "yes"}):
                data = {**ACTION_DATA[slug], "text": text, **confirm}
                response = desk.post(f"/support/orders/{order.pk}/{slug}/", data)
                assert response.status_code == 422, slug
                assert field_errors(response, "text")[0].startswith(error), (slug, text)
    assert db_snapshot() == before


@pytest.mark.parametrize("slug", list(ACTION_DATA))
def test_an_action_in_a_state_that_does_not_allow_it_is_refused_on_the_form(desk, cast, slug):
    order = order_in_state(State.CANCELLED, **cast)
    before = db_snapshot()
    data = {**ACTION_DATA[slug], "text": RATIONALE, "confirm": "yes"}
    response = desk.post(f"/support/orders/{order.pk}/{slug}/", data)
    assert response.status_code == 409
    assert (
        form_errors(response)
        and "not possible while the order is cancelled" in form_errors(response)[0]
    )
    assert db_snapshot() == before
    assert desk.get(f"/support/orders/{order.pk}/{slug}/").status_code == 302


def test_an_order_that_moved_on_between_the_form_and_the_confirmation_changes_nothing(
    desk, requested, buyer
):
    from handover.orders.cancellation import order_withdraw_cancellation

    url = f"/support/orders/{requested.pk}/settle-cancellation/"
    data = {"outcome": "accept", "text": RATIONALE}
    assert desk.post(url, data).status_code == 200  # the confirmation page
    order_withdraw_cancellation(order_id=requested.pk, user=buyer)
    before = db_snapshot()
    transactions = LedgerTransaction.objects.count()
    response = desk.post(url, {**data, "confirm": "yes"})
    assert response.status_code == 409
    assert db_snapshot() == before
    assert LedgerTransaction.objects.count() == transactions


def test_the_parties_order_page_offers_support_none_of_the_desks_moves(client, requested, support):
    client.force_login(support)
    html = page(client.get(f"/orders/{requested.pk}/"))
    assert "accept-cancellation" not in html and "open-dispute" not in html


# --- the dispute queue -----------------------------------------------------------------------


def queued(response) -> list[int]:
    assert response.status_code == 200, page(response)
    return [
        int(n) for n in re.findall(r'href="/support/disputes/(\d+)/">Dispute #', page(response))
    ]


def test_the_queue_filters_by_state_flag_and_agent(desk, cast, support, clock, buyer):
    from handover.orders.services import message_post

    first = order_in_state(State.DISPUTED, **cast)
    message_post(order_id=first.pk, user=buyer, text="Write to me at ana@example.com")
    clock.shift(timedelta(hours=25))
    second = order_in_state(State.DISPUTED, **cast)
    old, new = (Dispute.objects.get(order=o).pk for o in (first, second))
    Dispute.objects.filter(pk=new).update(assigned_to=support)
    other = make_user("desk", Role.SUPPORT)

    assert queued(desk.get("/support/disputes/")) == [old, new]
    assert queued(desk.get("/support/disputes/", {"state": "overdue"})) == [old]
    assert queued(desk.get("/support/disputes/", {"flag": "contact_shared"})) == [old]
    assert queued(desk.get("/support/disputes/", {"agent": "me"})) == [new]
    assert queued(desk.get("/support/disputes/", {"agent": "none"})) == [old]
    assert queued(desk.get("/support/disputes/", {"agent": str(other.pk)})) == []
    assert queued(desk.get("/support/disputes/", {"state": "decided"})) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [({"agent": "999999"}, "agent"), ({"flag": "' OR 1=1"}, "flag"), ({"state": "all"}, "state")],
)
def test_a_bad_queue_filter_shows_its_error_and_lists_nothing(desk, cast, params, field):
    order_in_state(State.DISPUTED, **cast)
    response = desk.get("/support/disputes/", params)
    assert response.status_code == 422
    assert field_errors(response, field)
    assert "Dispute #" not in page(response)


def test_assign_to_me_from_the_queue_puts_the_agent_on_the_record(desk, cast, support):
    order = order_in_state(State.DISPUTED, **cast)
    dispute = Dispute.objects.get(order=order)
    assert f'action="/support/disputes/{dispute.pk}/assign/"' in page(
        desk.get("/support/disputes/")
    )

    done = desk.post(f"/support/disputes/{dispute.pk}/assign/", {"next": "queue"}, follow=True)

    assert page_messages(done) == [f"Dispute #{dispute.pk} is assigned to you."]
    assert done.redirect_chain[-1][0] == "/support/disputes/"
    assert Dispute.objects.get(pk=dispute.pk).assigned_to == support
    event = Event.objects.filter(order=order).last()
    assert event is not None
    assert (event.type, event.actor, event.payload["agent_id"]) == (
        EventType.DISPUTE_ASSIGNED,
        support,
        support.pk,
    )
    assert "Agent</dt><dd>you" in page(desk.get(f"/support/disputes/{dispute.pk}/"))
