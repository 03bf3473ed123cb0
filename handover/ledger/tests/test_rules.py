"""Fee and refund arithmetic, without a database."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handover.ledger.rules import Pricing, Shares, pricing, shares, shares_delta

BUYER_FEE = Decimal("5.5")
SELLER_FEE = Decimal("20")


def price_of(price: int) -> Pricing:
    return pricing(price=price, buyer_fee_percent=BUYER_FEE, seller_fee_percent=SELLER_FEE)


def split(p: Pricing, refund: int) -> Shares:
    return shares(total=p.total, price=p.price, seller_fee=p.seller_fee, refund=refund)


@pytest.mark.parametrize(
    ("price", "buyer_fee"),
    [(10000, 550), (1, 0), (9, 0), (10, 1), (100, 6), (1000, 55), (27, 1), (28, 2)],
    ids=lambda v: str(v),
)
def test_buyer_fee_is_5_5_percent_rounded_half_up(price, buyer_fee):
    # 10 -> 0.55 rounds to 1; 9 -> 0.495 rounds to 0; 100 -> 5.5 to 6; 27 -> 1.485; 28 -> 1.54
    assert price_of(price).buyer_fee == buyer_fee


def test_pricing_of_the_standard_offer():
    p = price_of(10000)
    assert (p.price, p.buyer_fee, p.seller_fee, p.total) == (10000, 550, 2000, 10550)


def test_zero_percent_fees_charge_nothing():
    p = pricing(price=12345, buyer_fee_percent=Decimal(0), seller_fee_percent=Decimal(0))
    assert (p.buyer_fee, p.seller_fee, p.total) == (0, 0, 12345)


def test_release_pays_the_seller_the_price_less_the_seller_fee():
    p = price_of(10000)
    assert split(p, 0) == Shares(refund=0, seller=8000, platform=2550)


def test_full_refund_leaves_nothing_to_anyone():
    p = price_of(10000)
    assert split(p, p.total) == Shares(refund=10550, seller=0, platform=0)


def test_half_refund_settles_half_an_order():
    p = price_of(10000)
    assert split(p, 5275) == Shares(refund=5275, seller=4000, platform=1275)


@pytest.mark.parametrize("refund", [-1, 10551])
def test_refund_outside_the_total_is_an_error(refund):
    with pytest.raises(ValueError, match=r"outside 0\.\.10550"):
        split(price_of(10000), refund)


prices = st.integers(min_value=1, max_value=10**9)


@st.composite
def priced_refunds(draw) -> tuple[Pricing, int]:
    p = price_of(draw(prices))
    return p, draw(st.integers(min_value=0, max_value=p.total))


@given(prices)
def test_fees_match_decimal_half_up_rounding(price):
    p = price_of(price)
    exact = Decimal(price) * BUYER_FEE / 100
    assert p.buyer_fee == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert p.total == p.price + p.buyer_fee
    assert 0 <= p.seller_fee <= p.price


@given(priced_refunds())
def test_shares_add_up_to_the_total_and_none_is_negative(case):
    p, refund = case
    s = split(p, refund)
    assert s.refund + s.seller + s.platform == p.total
    assert s.refund == refund
    assert min(s.seller, s.platform) >= 0


@given(prices)
def test_release_and_full_refund_at_any_price(price):
    p = price_of(price)
    assert split(p, 0) == Shares(0, p.price - p.seller_fee, p.buyer_fee + p.seller_fee)
    assert split(p, p.total) == Shares(p.total, 0, 0)


@given(priced_refunds(), st.integers(min_value=0))
def test_a_larger_refund_never_pays_anyone_more(case, more):
    p, refund = case
    larger = min(p.total, refund + more)
    before, after = split(p, refund), split(p, larger)
    assert after.seller <= before.seller
    assert after.platform <= before.platform


@given(priced_refunds(), st.integers(min_value=0))
def test_raising_a_refund_moves_exactly_the_difference(case, more):
    p, refund = case
    larger = min(p.total, refund + more)
    before, after = split(p, refund), split(p, larger)
    delta = shares_delta(before, after)
    assert delta.refund == larger - refund
    assert delta.seller + delta.platform == delta.refund  # taken back = given back
    assert min(delta.seller, delta.platform) >= 0  # nobody is paid more on a refund
    assert before.seller - delta.seller == after.seller
    assert before.platform - delta.platform == after.platform


@given(priced_refunds(), st.data())
def test_raising_a_refund_in_two_steps_moves_what_one_step_does(case, data):
    p, low = case
    high = data.draw(st.integers(min_value=low, max_value=p.total))
    mid = data.draw(st.integers(min_value=low, max_value=high))
    one = shares_delta(split(p, low), split(p, high))
    two_a = shares_delta(split(p, low), split(p, mid))
    two_b = shares_delta(split(p, mid), split(p, high))
    assert one == Shares(
        two_a.refund + two_b.refund, two_a.seller + two_b.seller, two_a.platform + two_b.platform
    )


def test_no_change_moves_nothing():
    s = split(price_of(10000), 1234)
    assert shares_delta(s, s) == Shares(0, 0, 0)


# Three-decimal currencies move in steps of 10 minor units (``lib.money.amount_step``).
STEP = 10


@st.composite
def stepped_refunds(draw):
    p = pricing(
        price=draw(st.integers(min_value=1, max_value=10**10)) * STEP,
        buyer_fee_percent=draw(st.decimals(0, 100, places=4)),
        seller_fee_percent=draw(st.decimals(0, 100, places=4)),
        step=STEP,
    )
    return p, draw(st.integers(min_value=0, max_value=p.total // STEP)) * STEP


@given(stepped_refunds())
def test_stepped_shares_add_up_and_each_is_a_multiple_of_the_step(case):
    p, refund = case
    assert p.buyer_fee % STEP == 0 and p.seller_fee % STEP == 0 and p.total % STEP == 0
    assert 0 <= p.seller_fee <= p.price
    s = shares(total=p.total, price=p.price, seller_fee=p.seller_fee, refund=refund, step=STEP)
    assert s.refund + s.seller + s.platform == p.total
    assert s.refund == refund
    assert s.seller % STEP == 0 and s.platform % STEP == 0
    assert min(s.seller, s.platform) >= 0


@given(stepped_refunds())
def test_stepped_release_and_full_refund_are_exact(case):
    p, _ = case
    release = shares(total=p.total, price=p.price, seller_fee=p.seller_fee, refund=0, step=STEP)
    assert release == Shares(0, p.price - p.seller_fee, p.buyer_fee + p.seller_fee)
    full = shares(total=p.total, price=p.price, seller_fee=p.seller_fee, refund=p.total, step=STEP)
    assert full == Shares(p.total, 0, 0)


def test_a_kwd_order_rounds_its_fees_to_whole_fils_tens():
    # 12.340 KWD at 5.5 %: 0.6787 rounds to 0.680, not 0.679; at 20 %: 2.468 to 2.470.
    p = pricing(price=12340, buyer_fee_percent=BUYER_FEE, seller_fee_percent=SELLER_FEE, step=STEP)
    assert (p.buyer_fee, p.seller_fee, p.total) == (680, 2470, 13020)
    s = shares(total=p.total, price=p.price, seller_fee=p.seller_fee, refund=5000, step=STEP)
    assert s == Shares(5000, 6080, 1940)
