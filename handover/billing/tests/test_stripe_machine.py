"""The ledger driven through the ``stripe`` provider's events, in any order.

Hypothesis picks the buyers' cards (one that pays, one the bank declines), the moves that
refund (a seller's decline, a cancellation at a proposed refund), completions, disputes the
bank opens and closes (won or lost), and when and how often each of Stripe's webhooks arrives:
late, out of order, twice. After every step the ledger's invariants hold; at the end, every
webhook delivered, ``reconcile`` finds no difference between the ledger and Stripe.

Payments and refunds are localstripe's; each event carries the object as localstripe holds it
when the event is made. Disputes are answered at the HTTP boundary (``testing.stripe_disputes``)
because localstripe lacks them, and so is a refund that fails after it succeeded (the buyer's
card account closed; support then sends it again): localstripe cannot fail a refund, so the
boundary holds it as failed from then on (``testing.stripe_refunds.refund_fails``). Events are
signed with the endpoint's secret and posted to the webhook endpoint, as Stripe posts them.

HANDOVER_SLOW=1 runs 200 sequences instead of 20.
"""

import contextlib
import os
import urllib.request
from typing import Any

import pytest
import stripe
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from handover.accounts.models import Role
from handover.billing.models import ProviderDispute
from handover.billing.reconcile import reconcile
from handover.billing.refunds import refund_retry
from handover.delivery.previewing import preview_make
from handover.delivery.services import order_deliver
from handover.ledger.tests.invariants import assert_ledger_invariants
from handover.lib.errors import HandoverError
from handover.orders import cancellation, services
from handover.orders.models import Order
from handover.orders.rules import State
from handover.payments.models import ProviderRefund, RefundState
from handover.payments.stripe_client import stripe_client
from handover.testing.actors import make_user
from handover.testing.factories import make_offer
from handover.testing.payout_steps import boundary_fresh
from handover.testing.stripe import (
    DECLINED_CARD,
    GOOD_CARD,
    Delivery,
    LocalStripe,
    card_method,
)
from handover.testing.stripe_disputes import dispute_close, dispute_create
from handover.testing.stripe_refunds import refund_fails

pytestmark = pytest.mark.django_db

SLOW = os.environ.get("HANDOVER_SLOW") == "1"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


class StripeMoneyMachine(RuleBasedStateMachine):
    account: LocalStripe  # set by the test
    client: Client

    def __init__(self) -> None:
        super().__init__()
        # One transaction per sequence, rolled back in teardown; localstripe and the boundary
        # are emptied first, so reconcile sees this sequence's objects only.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        empty = urllib.request.Request(
            f"{self.account.localstripe_url}/_config/data", method="DELETE"
        )
        urllib.request.urlopen(empty, timeout=10).close()
        boundary_fresh(self.account)
        self.started = timezone.now().replace(microsecond=0)
        self.orders: list[int] = []
        self.waiting: list[Delivery] = []  # made, not yet delivered
        self.delivered: list[Delivery] = []
        self.disputes: dict[int, str] = {}  # order id -> dispute id
        self.tried: set[int] = set()  # orders whose PaymentIntent was confirmed once
        self.returned: set[str] = set()  # refunds Stripe failed after they succeeded

    def teardown(self) -> None:
        try:
            for delivery in self.waiting:
                self._post(delivery)
            self.waiting = []
            assert_ledger_invariants()
            result = reconcile(since=self.started)
            assert [d.line() for d in result.differences] == []
        finally:
            transaction.set_rollback(True)
            self._atomic.__exit__(None, None, None)

    # --- helpers ------------------------------------------------------------------------------

    def _post(self, delivery: Delivery) -> str:
        response = self.account.deliver(self.client, delivery)
        assert response.status_code == 200, response.content
        return response.json()["result"]

    def _event(self, event_type: str, data_object: Any) -> None:
        obj = data_object if isinstance(data_object, dict) else data_object.to_dict()
        self.waiting.append(self.account.signed(self.account.event(event_type, obj)))

    def _order(self, index: int) -> Order:
        return Order.objects.get(pk=self.orders[index % len(self.orders)])

    def _try(self, call) -> bool:
        """A move Hypothesis picked, in whatever state the order is: refused is fine."""
        try:
            with transaction.atomic():
                call()
        except HandoverError:
            return False
        return True

    def _refund_events(self, order: Order) -> None:
        """Stripe tells of each refund the move made (already confirmed by its answer)."""
        for reference in ProviderRefund.objects.filter(order_id=order.pk).values_list(
            "reference", flat=True
        ):
            if reference.startswith("re_"):
                self._event("refund.updated", stripe_client().v1.refunds.retrieve(reference))

    # --- the world ----------------------------------------------------------------------------

    @initialize(
        specs=st.lists(
            st.tuples(
                st.booleans(),
                st.sampled_from([990, 10_000, 123_457]),
                st.sampled_from([True, True, False]),
            ),
            min_size=2,
            max_size=3,
        )
    )
    def place(self, specs: list[tuple[bool, int, bool]]) -> None:
        """Orders placed and their payments started; most paid at once (Stripe's word
        delivered), so that refunds and disputes have paid orders to act on."""
        self.seller, self.buyer = make_user("studio"), make_user("ana")
        self.support = make_user("agent", Role.SUPPORT)
        for requires_acceptance, price, paid in specs:
            offer = make_offer(self.seller, price=price, requires_acceptance=requires_acceptance)
            order = services.order_place(buyer=self.buyer, offer_id=offer.pk, answers=["A", "b"])
            services.order_pay(order_id=order.pk, user=self.buyer)
            self.orders.append(order.pk)
            if paid:
                self.buyer_pays(len(self.orders) - 1, good=True, at_once=True)

    @rule(index=st.integers(0, 2), good=st.booleans(), at_once=st.booleans())
    def buyer_pays(self, index: int, good: bool, at_once: bool) -> None:
        """The buyer's card, and Stripe's word on it: at once, or left to arrive later."""
        order = self._order(index)
        intents = stripe_client().v1.payment_intents
        intent = intents.retrieve(order.payment_reference)
        if order.pk in self.tried or intent.status != "requires_payment_method":
            return  # paid, or declined: localstripe cannot charge a PaymentIntent again
        self.tried.add(order.pk)
        intents.update(
            intent.id, params={"payment_method": card_method(GOOD_CARD if good else DECLINED_CARD)}
        )
        with contextlib.suppress(stripe.CardError):  # the bank declines that card
            intents.confirm(intent.id)
        intent = intents.retrieve(intent.id)
        kind = "succeeded" if intent.status == "succeeded" else "payment_failed"
        self._event(f"payment_intent.{kind}", intent)
        if at_once:
            delivery = self.waiting.pop()
            assert self._post(delivery) == "applied"
            self.delivered.append(delivery)

    @precondition(lambda self: self.waiting)
    @rule(data=st.data())
    def stripe_sends(self, data) -> None:
        """The next webhook to arrive: any of those made, not necessarily the oldest."""
        delivery = self.waiting.pop(data.draw(st.integers(0, len(self.waiting) - 1)))
        assert self._post(delivery) in ("applied", "ignored")
        self.delivered.append(delivery)

    @precondition(lambda self: self.delivered)
    @rule(data=st.data())
    def stripe_sends_again(self, data) -> None:
        delivery = data.draw(st.sampled_from(self.delivered))
        assert self._post(delivery) == "replayed"

    def _disputed(self, order: Order) -> bool:
        # Stripe refuses to refund a disputed charge (``charge_disputed``), which localstripe
        # does not know: no refund is asked of it once the bank has opened a dispute.
        return order.pk in self.disputes

    @rule(index=st.integers(0, 2))
    def seller_declines(self, index: int) -> None:
        order = self._order(index)
        if self._disputed(order):
            return
        if self._try(lambda: services.order_decline_order(order_id=order.pk, user=self.seller)):
            self._refund_events(order)

    @rule(index=st.integers(0, 2))
    def seller_takes_it_on(self, index: int) -> None:
        order = self._order(index)
        self._try(lambda: services.order_accept_order(order_id=order.pk, user=self.seller))

    @rule(index=st.integers(0, 2), share=st.sampled_from([0, 1, 2, 4]))
    def cancelled_by_both(self, index: int, share: int) -> None:
        order = self._order(index)
        if self._disputed(order):
            return
        refund = order.total * share // 4

        def both() -> None:
            cancellation.order_request_cancellation(
                order_id=order.pk, user=self.buyer, text="Not needed now.", refund=refund
            )
            cancellation.order_accept_cancellation(order_id=order.pk, user=self.seller)

        if self._try(both):
            self._refund_events(order)

    @rule(index=st.integers(0, 2))
    def delivered_and_accepted(self, index: int) -> None:
        order = self._order(index)

        def both() -> None:
            work = SimpleUploadedFile("work.png", PNG)
            delivery = order_deliver(order_id=order.pk, user=self.seller, text="Done", files=[work])
            for file_id in delivery.files.values_list("pk", flat=True):
                preview_make(file_id=file_id)
            services.order_accept(order_id=order.pk, user=self.buyer)

        self._try(both)

    @rule(index=st.integers(0, 2), decided=st.sampled_from([None, "won", "lost"]))
    def bank_opens_a_dispute(self, index: int, decided: str | None) -> None:
        """A dispute, and perhaps the bank's decision right after it (both events left to
        arrive in any order)."""
        order = self._order(index)
        # Stripe sends a dispute only on a charge it made; here on one the order recorded,
        # not refunded, and not disputed before.
        if order.paid_at is None or order.refunded or order.pk in self.disputes:
            return
        if order.state == State.CANCELLED:
            return
        dispute = dispute_create(self.account, order.payment_reference)
        self.disputes[order.pk] = dispute["id"]
        self._event("charge.dispute.created", dispute)
        if decided:
            self.bank_decides(index, decided)

    @rule(index=st.integers(0, 2), outcome=st.sampled_from(["won", "lost"]))
    def bank_decides(self, index: int, outcome: str) -> None:
        order = self._order(index)
        dispute_id = self.disputes.get(order.pk)
        if dispute_id is None or dispute_id == "closed":
            return
        self.disputes[order.pk] = "closed"
        self._event("charge.dispute.closed", dispute_close(self.account, dispute_id, outcome))

    @rule(index=st.integers(0, 2), at_once=st.booleans())
    def bank_returns_a_refund(self, index: int, at_once: bool) -> None:
        """Stripe fails a refund it had sent: the money is back in the platform's balance.
        Its word arrives at once, or is left to arrive later."""
        refund = ProviderRefund.objects.filter(
            order_id=self._order(index).pk, state=RefundState.SUCCEEDED, reference__startswith="re_"
        ).first()
        if refund is None or refund.reference in self.returned:
            return
        self.returned.add(refund.reference)
        sent = stripe_client().v1.refunds.retrieve(refund.reference).to_dict()
        self._event("refund.failed", refund_fails(self.account.boundary, sent))
        if at_once:
            delivery = self.waiting.pop()
            assert self._post(delivery) == "applied"
            self.delivered.append(delivery)

    @rule()
    def support_sends_a_refund_again(self) -> None:
        """Support retries the oldest failed refund (Stripe sends it at once)."""
        refund = ProviderRefund.objects.filter(
            order_id__in=self.orders, state=RefundState.FAILED
        ).first()
        if refund is not None and self._try(
            lambda: refund_retry(refund_id=refund.pk, user=self.support, text="A new card.")
        ):
            self._refund_events(refund.order)

    @invariant()
    def the_ledger_holds(self) -> None:
        assert_ledger_invariants()

    @invariant()
    def one_dispute_record_per_dispute(self) -> None:
        ids = list(ProviderDispute.objects.values_list("dispute_id", flat=True))
        assert len(ids) == len(set(ids))


def test_the_ledger_holds_through_stripe_events_in_any_order_and_reconciles(stripe_account):
    StripeMoneyMachine.account = stripe_account
    StripeMoneyMachine.client = Client()
    run_state_machine_as_test(
        StripeMoneyMachine,
        settings=settings(
            max_examples=200 if SLOW else 20,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
