"""Payouts with Stripe Connect: linking an Express account, its state, and one Transfer per
cleared order.

localstripe lacks Connect (accounts, account links, transfers), so Connect is tested at the
HTTP boundary: the app's Stripe client talks to ``testing.stripe_boundary``, whose routes in
``testing.stripe_connect`` answer with the request and response shapes of Stripe's API
reference; the tests assert on what the app sent (``boundary.requests``) and on the
transfers the boundary holds. Nothing above that boundary is faked.
"""

from datetime import datetime, timedelta

import pytest
import stripe
from django.utils import timezone

from handover.billing import payouts
from handover.billing.models import (
    ConnectedAccount,
    PayoutInterval,
    PayoutSchedule,
    WebhookEvent,
)
from handover.billing.payouts import (
    PayoutPart,
    connected_account_link,
    payout_parts,
    payout_request,
    payout_schedule_set,
    payouts_scheduled,
)
from handover.evidence.models import Event
from handover.ledger.models import LedgerTransaction, TransactionKind
from handover.lib.errors import Conflict
from handover.notifications.models import Outbox
from handover.payments.stripe_client import stripe_client
from handover.testing.payout_steps import boundary_fresh, cleared_order, linked_account, onboard
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import balance, ok, refused
from handover.testing.stripe import free_port, paid_intent
from handover.testing.stripe_connect import transfers

SHARE = 8000  # the seller's share of a 100.00 EUR order


@pytest.fixture(autouse=True)
def fresh(request):
    if "stripe_account" in request.fixturenames:
        boundary_fresh(request.getfixturevalue("stripe_account"))


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    return time_machine


@pytest.fixture
def two_cleared(stripe_account, clock, buyer, seller, support):
    """Two orders of the seller, cleared one after the other (oldest first)."""
    return [cleared_order(clock, buyer=buyer, seller=seller, support=support) for _ in range(2)]


def sent(boundary, method: str, path: str) -> list[dict[str, list[str]]]:
    return [form for m, p, form in boundary.requests if (m, p) == (method, path)]


def payouts_posted():
    return list(LedgerTransaction.objects.filter(kind=TransactionKind.PAYOUT).order_by("id"))


# The plan: pure


def test_an_amount_is_split_over_the_orders_oldest_first():
    assert payout_parts([(1, 800), (2, 500)], 0, 1000) == [PayoutPart(1, 800), PayoutPart(2, 200)]
    assert payout_parts([(1, 800), (2, 500)], 0, 800) == [PayoutPart(1, 800)]


def test_payouts_of_no_order_count_against_the_oldest_orders():
    assert payout_parts([(1, 800), (2, 500)], -900, 400) == [PayoutPart(2, 400)]


def test_an_order_charged_back_after_its_payout_is_skipped():
    assert payout_parts([(1, -800), (2, 500)], 0, 300) == [PayoutPart(2, 300)]


# Linking


def test_a_seller_links_an_account_through_onboarding_and_comes_back_ready(
    stripe_account, client, seller, settings
):
    boundary = stripe_account.boundary
    client.force_login(seller)
    before = len(sent(boundary, "POST", "/v1/accounts"))

    response = client.post("/balance/payout/link/")

    assert response.status_code == 302
    link = response["Location"]
    assert link.startswith(stripe_account.url + "/connect/onboarding/acct_")
    [created] = sent(boundary, "POST", "/v1/accounts")[before:]
    assert created["type"] == ["express"] and created["email"] == [seller.email]
    assert created["capabilities[transfers][requested]"] == ["true"]
    linked = sent(boundary, "POST", "/v1/account_links")[-1]
    base = settings.HANDOVER_BASE_URL
    assert linked["return_url"] == [base + "/balance/payout/return/"]
    assert linked["refresh_url"] == [base + "/balance/payout/refresh/"]
    assert linked["type"] == ["account_onboarding"]
    account = ConnectedAccount.objects.get(user=seller)
    assert linked["account"] == [account.stripe_account_id]
    assert not account.ready and "business_type" in account.requirements
    assert "Details needed" in client.get("/balance/payout/").content.decode()

    back = onboard(link)
    assert back == base + "/balance/payout/return/"
    page = client.get(back.removeprefix(base), follow=True)

    account.refresh_from_db()
    assert account.ready and account.charges_enabled and account.requirements == []
    html = page.content.decode()
    assert "linked and ready for payouts" in html and "Ready" in html
    assert account.stripe_account_id in html


def test_linking_again_uses_the_same_account(stripe_account, seller):
    before = len(sent(stripe_account.boundary, "POST", "/v1/accounts"))
    connected_account_link(user=seller)
    connected_account_link(user=seller)
    assert len(sent(stripe_account.boundary, "POST", "/v1/accounts")) == before + 1
    assert ConnectedAccount.objects.filter(user=seller).count() == 1


def test_the_refresh_page_gives_a_new_link(stripe_account, client, seller):
    client.force_login(seller)
    first = client.post("/balance/payout/link/")["Location"]
    links = len(sent(stripe_account.boundary, "POST", "/v1/account_links"))

    again = client.get("/balance/payout/refresh/")

    assert again.status_code == 302 and again["Location"].startswith(
        stripe_account.url + "/connect/onboarding/"
    )
    assert len(sent(stripe_account.boundary, "POST", "/v1/account_links")) == links + 1
    assert first.split("?")[0] == again["Location"].split("?")[0]  # the same account


def test_account_updated_keeps_the_state_stripe_sends(stripe_account, client, seller):
    connected_account_link(user=seller)
    account = ConnectedAccount.objects.get(user=seller)
    described = dict(stripe_account.boundary.objects[account.stripe_account_id])
    described |= {"details_submitted": True, "charges_enabled": True, "payouts_enabled": True}
    described["requirements"] = {**described["requirements"], "currently_due": []}

    delivery = stripe_account.signed(stripe_account.event("account.updated", described))
    response = stripe_account.deliver(client, delivery)

    assert response.json() == {"received": True, "result": "applied"}
    account.refresh_from_db()
    assert account.ready and account.requirements == []
    assert stripe_account.deliver(client, delivery).json()["result"] == "replayed"


def test_account_updated_for_an_unknown_account_changes_nothing(db, stripe_account, client):
    event = stripe_account.event("account.updated", {"id": "acct_unknown", "object": "account"})
    response = stripe_account.deliver(client, stripe_account.signed(event))
    assert response.json()["result"] == "applied"
    assert not ConnectedAccount.objects.exists()


def _account_event(stripe_account, account: ConnectedAccount, *, ready: bool, at: datetime):
    """A signed ``account.updated`` that Stripe made at ``at``, describing the account as
    onboarded and able to receive payouts (``ready``) or as still asking for details."""
    described = dict(stripe_account.boundary.objects[account.stripe_account_id])
    described |= {"details_submitted": ready, "charges_enabled": ready, "payouts_enabled": ready}
    due = [] if ready else ["external_account"]
    described["requirements"] = {**described["requirements"], "currently_due": due}
    event = stripe_account.event("account.updated", described) | {"created": int(at.timestamp())}
    return stripe_account.signed(event)


def test_a_late_account_updated_does_not_overwrite_a_newer_state(
    stripe_account, client, clock, seller, caplog
):
    connected_account_link(user=seller)
    account = ConnectedAccount.objects.get(user=seller)
    now = timezone.now()
    newer = _account_event(stripe_account, account, ready=True, at=now + timedelta(minutes=2))
    older = _account_event(stripe_account, account, ready=False, at=now + timedelta(minutes=1))
    assert stripe_account.deliver(client, newer).json()["result"] == "applied"

    with caplog.at_level("INFO", logger="handover.billing.payouts"):
        late = stripe_account.deliver(client, older)

    assert late.json() == {"received": True, "result": "applied"}
    assert "stale account.updated" in caplog.text
    account.refresh_from_db()
    assert account.ready and account.requirements == []
    assert account.stripe_state_at == (now + timedelta(minutes=2)).replace(microsecond=0)
    assert WebhookEvent.objects.filter(type="account.updated").count() == 2
    assert stripe_account.deliver(client, older).json()["result"] == "replayed"


def test_an_account_updated_newer_than_the_one_before_applies(
    stripe_account, client, clock, seller
):
    connected_account_link(user=seller)
    account = ConnectedAccount.objects.get(user=seller)
    now = timezone.now()
    older = _account_event(stripe_account, account, ready=False, at=now + timedelta(minutes=1))
    newer = _account_event(stripe_account, account, ready=True, at=now + timedelta(minutes=2))

    stripe_account.deliver(client, older)
    account.refresh_from_db()
    assert not account.ready and account.requirements == ["external_account"]
    stripe_account.deliver(client, newer)

    account.refresh_from_db()
    assert account.ready and account.requirements == []


def test_an_account_updated_older_than_a_refresh_leaves_the_refreshed_state(
    stripe_account, client, clock, seller
):
    link = connected_account_link(user=seller)
    linked_at = timezone.now()
    clock.shift(timedelta(minutes=5))
    onboard(link)
    refreshed = payouts.connected_account_refresh(user=seller)
    assert refreshed is not None and refreshed.ready
    assert refreshed.stripe_state_at == timezone.now().replace(microsecond=0)

    # Made after the account was created, before the refresh asked Stripe: it arrives late.
    before = _account_event(
        stripe_account, refreshed, ready=False, at=linked_at + timedelta(minutes=1)
    )
    assert stripe_account.deliver(client, before).json()["result"] == "applied"

    account = ConnectedAccount.objects.get(user=seller)
    assert account.ready and account.requirements == []
    assert account.stripe_state_at == refreshed.stripe_state_at


# Paying out


def test_a_payout_sends_one_transfer_per_cleared_order_and_posts_it(
    two_cleared, stripe_account, seller, seller_api
):
    account = linked_account(seller)
    world = balance("world")

    body = ok(seller_api.post("/payouts", {"amount": 2 * SHARE}), 201)

    made = [
        t
        for t in transfers(stripe_account.boundary)
        if t["destination"] == account.stripe_account_id
    ]
    assert [(t["amount"], t["currency"], t["transfer_group"]) for t in made] == [
        (SHARE, "eur", f"order-{order.pk}") for order in two_cleared
    ]
    assert [t["metadata"]["handover_order"] for t in made] == [str(o.pk) for o in two_cleared]
    posted = payouts_posted()
    assert [(p.order_id, p.reference) for p in posted] == [
        (order.pk, t["id"]) for order, t in zip(two_cleared, made, strict=True)
    ]
    assert body["references"] == [t["id"] for t in made] and body["id"] == posted[0].pk
    assert balance(f"seller:{seller.pk}:available") == 0
    assert balance("world") == world + 2 * SHARE
    events = Event.objects.filter(type="ledger.payout").order_by("id")
    assert [e.payload["reference"] for e in events] == [t["id"] for t in made]


def test_a_partial_payout_takes_the_oldest_order_first(two_cleared, stripe_account, seller):
    linked_account(seller)

    [first, second] = payout_request(user=seller, currency="EUR", amount=SHARE + 500)

    assert (first.order_id, second.order_id) == (two_cleared[0].pk, two_cleared[1].pk)
    amounts = {t["id"]: t["amount"] for t in transfers(stripe_account.boundary)}
    assert (amounts[first.reference], amounts[second.reference]) == (SHARE, 500)
    [rest] = payout_request(user=seller, currency="EUR")
    assert (rest.order_id, amounts.get(rest.reference)) == (two_cleared[1].pk, None)
    assert stripe_client().v1.transfers.retrieve(rest.reference).amount == SHARE - 500


def test_a_payout_retried_after_a_failure_sends_nothing_twice(
    two_cleared, stripe_account, seller, monkeypatch
):
    linked_account(seller)
    boundary = stripe_account.boundary
    real = payouts.ledger_payout
    calls = []

    def fail_second(**kwargs):
        calls.append(kwargs)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return real(**kwargs)

    monkeypatch.setattr(payouts, "ledger_payout", fail_second)
    with pytest.raises(RuntimeError):
        payout_request(user=seller, currency="EUR")
    assert not payouts_posted()  # rolled back whole
    sent_first = [t["id"] for t in transfers(boundary)]
    assert len(sent_first) == 2  # both were made at Stripe before the failure

    monkeypatch.setattr(payouts, "ledger_payout", real)
    posted = payout_request(user=seller, currency="EUR")

    assert [t["id"] for t in transfers(boundary)] == sent_first  # nothing sent again
    assert [p.reference for p in posted] == sent_first
    assert balance(f"seller:{seller.pk}:available") == 0


def test_the_same_payout_asked_twice_is_the_same_transfer_at_stripe(
    two_cleared, stripe_account, seller, monkeypatch
):
    """Without the lookup by transfer group, the idempotency key alone keeps it one."""
    linked_account(seller)
    monkeypatch.setattr(payouts, "_unrecorded_transfer", lambda *args: "")
    monkeypatch.setattr(payouts, "ledger_payout", _raising)
    with pytest.raises(RuntimeError):
        payout_request(user=seller, currency="EUR", amount=SHARE)
    with pytest.raises(RuntimeError):
        payout_request(user=seller, currency="EUR", amount=SHARE)

    forms = sent(stripe_account.boundary, "POST", "/v1/transfers")
    assert len(forms) == 2 and len(transfers(stripe_account.boundary)) == 1


def _raising(**kwargs):
    raise RuntimeError("the database went away")


def test_a_payout_never_sends_more_than_the_balance(
    two_cleared, stripe_account, seller_api, seller
):
    linked_account(seller)
    before = db_snapshot()

    refused(seller_api.post("/payouts", {"amount": 2 * SHARE + 1}), 409, "insufficient_funds")

    assert db_snapshot() == before
    assert not transfers(stripe_account.boundary)


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"amount": 0}, 400, "invalid"),
        ({"amount": -100}, 400, "invalid"),
        ({"amount": 10**13}, 400, "invalid"),
        ({"amount": 100, "currency": "XXX"}, 400, "invalid"),
        ({"amount": 100, "currency": "usd"}, 400, "invalid"),
        ({"amount": 100, "currency": "USD"}, 409, "insufficient_funds"),
        ({"amount": "100"}, 422, "validation_error"),
    ],
)
def test_hostile_payout_requests_change_nothing(
    two_cleared, stripe_account, seller, seller_api, body, status, error
):
    linked_account(seller)
    before = db_snapshot()
    transfers_before = len(sent(stripe_account.boundary, "POST", "/v1/transfers"))

    refused(seller_api.post("/payouts", body), status, error)

    assert db_snapshot() == before
    assert len(sent(stripe_account.boundary, "POST", "/v1/transfers")) == transfers_before


def test_a_seller_without_a_linked_account_keeps_the_balance_and_is_told_why(
    two_cleared, stripe_account, seller, seller_api, client
):
    before = db_snapshot()

    r = refused(seller_api.post("/payouts", {"amount": SHARE}), 409, "no_payout_account")

    assert "link a Stripe account" in r["detail"]
    assert db_snapshot() == before
    client.force_login(seller)
    html = client.get("/balance/payout/").content.decode()
    assert "Not linked" in html and "Your balance waits here until you link" in html
    assert "Link a Stripe account" in html
    connected_account_link(user=seller)  # linked but not onboarded: still refused
    refused(seller_api.post("/payouts", {"amount": SHARE}), 409, "no_payout_account")
    assert not transfers(stripe_account.boundary)


# The schedule


def test_a_daily_schedule_pays_out_cleared_funds_once_a_day(
    settings, stripe_account, clock, buyer, seller, support, stranger
):
    first = cleared_order(clock, buyer=buyer, seller=seller, support=support)
    cleared_order(clock, buyer=buyer, seller=stranger, support=support)  # on request: waits
    linked_account(seller)
    payout_schedule_set(user=seller, interval=PayoutInterval.DAILY)

    assert payouts_scheduled() == 1
    [posted] = payouts_posted()
    assert posted.order_id == first.pk
    [mail] = Outbox.objects.filter(recipient=seller, subject__startswith="Payout")
    assert mail.subject == "Payout of 80.00 EUR sent"
    assert posted.reference in mail.body and f"order #{first.pk}" in mail.body
    assert settings.HANDOVER_BASE_URL + "/balance/payout/" in mail.body
    second = cleared_order(clock, buyer=buyer, seller=seller, support=support)
    ran = timezone.now() - timedelta(hours=23)
    PayoutSchedule.objects.filter(user=seller).update(last_run_at=ran)
    assert payouts_scheduled() == 0  # not a day yet
    clock.shift(timedelta(hours=1, seconds=1))
    assert payouts_scheduled() == 1
    assert [p.order_id for p in payouts_posted()] == [first.pk, second.pk]
    assert balance(f"seller:{stranger.pk}:available") == SHARE


def test_a_scheduled_seller_without_an_account_keeps_the_balance(
    stripe_account, clock, buyer, seller, support
):
    cleared_order(clock, buyer=buyer, seller=seller, support=support)
    payout_schedule_set(user=seller, interval=PayoutInterval.WEEKLY)

    assert payouts_scheduled() == 0
    assert balance(f"seller:{seller.pk}:available") == SHARE
    assert not payouts_posted()


def test_an_unknown_schedule_is_refused(db, seller):
    with pytest.raises(Exception, match="Choose when"):
        payout_schedule_set(user=seller, interval="hourly")


# The boundary refuses what Stripe refuses


def test_stripe_refuses_transfers_it_cannot_make(stripe_account, seller):
    client = stripe_client()
    account = client.v1.accounts.create(params={"type": "express"})
    cases = [
        ({"amount": 100, "currency": "eur"}, "destination", "parameter_missing"),
        ({"amount": 0, "currency": "eur", "destination": account.id}, "amount", None),
        ({"amount": 100, "currency": "eur", "destination": "acct_nobody"}, "destination", None),
        ({"amount": 100, "currency": "eur", "destination": account.id}, "destination", None),
    ]
    for params, param, code in cases:
        with pytest.raises(stripe.InvalidRequestError) as refused_:
            client.v1.transfers.create(params=params)  # type: ignore[arg-type]
        assert refused_.value.param == param
        assert code is None or refused_.value.code == code
    assert not transfers(stripe_account.boundary)


def test_a_refused_transfer_rolls_the_payout_back(two_cleared, stripe_account, seller):
    account = linked_account(seller)
    stripe_account.boundary.objects[account.stripe_account_id]["capabilities"] = {}
    before = db_snapshot()

    with pytest.raises(Conflict) as refusal:
        payout_request(user=seller, currency="EUR")

    assert refusal.value.code == "payout_refused"
    assert db_snapshot() == before


def test_a_payout_stripe_does_not_answer_is_refused_and_changes_nothing(
    two_cleared, stripe_account, seller, seller_api, settings
):
    linked_account(seller)
    before = db_snapshot()
    settings.HANDOVER_STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"  # nobody listens

    refused(seller_api.post("/payouts", {"amount": SHARE}), 409, "payout_refused")

    settings.HANDOVER_STRIPE_API_BASE = stripe_account.url
    assert transfers(stripe_account.boundary) == []
    assert db_snapshot() == before


def test_a_transfer_comes_from_the_charge_the_buyer_paid(two_cleared, stripe_account, seller):
    """The order's PaymentIntent (localstripe's, paid by card) names its charge."""
    intent = paid_intent(10600, "EUR")
    first = two_cleared[0]
    type(first).objects.filter(pk=first.pk).update(payment_reference=intent)
    linked_account(seller)

    payout_request(user=seller, currency="EUR", amount=SHARE)

    [transfer] = transfers(stripe_account.boundary)
    assert transfer["source_transaction"].startswith("ch_")
    assert transfer["transfer_group"] == f"order-{first.pk}"
