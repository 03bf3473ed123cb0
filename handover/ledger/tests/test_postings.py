"""One posting: its rows, its balances, and the database refusing it whole."""

import pytest
from django.db import transaction

from handover.ledger.models import Account, AccountKind, Entry, LedgerTransaction, TransactionKind
from handover.ledger.services import _post, accounts_for
from handover.lib.errors import Conflict
from handover.orders.rules import State

pytestmark = pytest.mark.django_db

WORLD = (AccountKind.WORLD, None, None)
FEES = (AccountKind.PLATFORM_FEES, None, None)


def test_accounts_are_created_on_first_use_and_found_after(seller):
    pending = (AccountKind.SELLER_PENDING, seller.pk, None)
    first = accounts_for("EUR", WORLD, pending)
    again = accounts_for("EUR", pending, WORLD)

    assert [a.pk for a in again] == [first[1].pk, first[0].pk]
    assert [(a.name, a.kind, a.owner_id, a.balance) for a in first] == [
        ("world", AccountKind.WORLD, None, 0),
        (f"seller:{seller.pk}:pending", AccountKind.SELLER_PENDING, seller.pk, 0),
    ]
    assert Account.objects.count() == 2
    assert accounts_for("USD", WORLD)[0].pk != first[0].pk  # one set of accounts per currency


def test_a_posting_stores_its_entries_and_moves_each_balance_by_its_legs():
    world, fees = accounts_for("EUR", WORLD, FEES)
    with transaction.atomic():
        txn = _post(
            kind=TransactionKind.PAYOUT,
            currency="EUR",
            legs=[(world, -7), (fees, 3), (fees, 4), (world, 0)],
            memo="two legs on one account",
        )

    assert txn is not None
    stored = LedgerTransaction.objects.get()
    assert (txn.pk, txn.kind, txn.order_id, txn.memo) == (stored.pk, "payout", None, stored.memo)
    assert txn.created_at == stored.created_at
    legs = list(Entry.objects.filter(transaction=stored).values_list("account_id", "amount"))
    assert legs == [(world.pk, -7), (fees.pk, 3), (fees.pk, 4)]  # zero legs are left out
    assert dict(Account.objects.values_list("name", "balance")) == {
        "world": -7,
        "platform:fees": 7,
    }


def test_a_posting_that_would_overdraw_a_guarded_account_is_refused_whole():
    world, fees = accounts_for("EUR", WORLD, FEES)
    with transaction.atomic():
        _post(kind=TransactionKind.PAYOUT, currency="EUR", legs=[(world, -5), (fees, 5)])

    with pytest.raises(Conflict) as refused, transaction.atomic():
        _post(kind=TransactionKind.PAYOUT, currency="EUR", legs=[(world, 6), (fees, -6)])

    assert refused.value.code == "ledger_refused"
    assert LedgerTransaction.objects.count() == 1 and Entry.objects.count() == 2
    assert dict(Account.objects.values_list("name", "balance")) == {
        "world": -5,
        "platform:fees": 5,
    }


def test_an_unbalanced_posting_is_a_bug_and_writes_nothing():
    world, fees = accounts_for("EUR", WORLD, FEES)
    with pytest.raises(AssertionError), transaction.atomic():
        _post(kind=TransactionKind.PAYOUT, currency="EUR", legs=[(world, -5), (fees, 4)])
    assert not LedgerTransaction.objects.exists()


def test_a_refund_waits_in_refunding_until_confirmed_and_never_leaves_more_than_it_holds(
    buyer, seller, support
):
    from handover.ledger.services import ledger_refund_sent, ledger_settle
    from handover.testing.factories import order_in_state

    order = order_in_state(State.IN_PROGRESS, buyer=buyer, seller=seller, support=support)
    with transaction.atomic():
        ledger_settle(order=order, refund=3000)
    refunding = f"refunding:order:{order.pk}"
    assert balance_of(refunding) == 3000  # out of escrow, not yet out through the provider

    with pytest.raises(Conflict), transaction.atomic():
        ledger_refund_sent(order=order, amount=3001, reference="re_too_much")
    with transaction.atomic():
        txn = ledger_refund_sent(order=order, amount=3000, reference="re_1")

    assert (txn.kind, txn.reference) == (TransactionKind.REFUND, "re_1")
    assert sorted(txn.entries.values_list("account__name", "amount")) == [
        (refunding, -3000),
        ("world", 3000),
    ]
    assert balance_of(refunding) == 0


def balance_of(name: str) -> int:
    return Account.objects.get(name=name, currency="EUR").balance
