"""Errors answer as {"error": CODE, "detail": TEXT} with the right status, and a refused
request changes nothing, however hostile its input."""

import json
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handover.lib.money import CURRENCIES, MAX_AMOUNT
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import TOTAL, deliver, paid_order

HOSTILE = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

VALID_OFFER: dict[str, Any] = {
    "title": "Logo",
    "description": "Three concepts.",
    "price": 10000,
    "currency": "EUR",
    "delivery_days": 3,
    "revisions": 1,
    "terms": "Licence on completion.",
    "requirements": ["Company name?"],
    "requires_acceptance": False,
}


def assert_error(response, status: int | None = None, error: str | None = None) -> dict:
    """A 4xx (or exactly ``status``) in the API's error shape."""
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    if status is not None:
        assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response.content[:300]
    body = response.json()
    assert isinstance(body["error"], str) and body["error"], body
    assert isinstance(body["detail"], str) and body["detail"], body
    if error is not None:
        assert body["error"] == error, body
    return body


def post_raw(api, path: str, raw: str | bytes):
    """POST a body exactly as given, JSON or not."""
    return api.client.post(
        f"/api/v1{path}",
        raw,
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.token}"},
    )


# --- strategies ------------------------------------------------------------------------------

NUL_TEXT = st.text(max_size=20).map(lambda s: s + "\x00" + s)
BLANK = st.sampled_from(["", " ", "\t\n", "\u3000"])
any_text = st.text(max_size=40)
not_a_string = st.one_of(
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.just({"a": 1}),
)
not_an_int = st.one_of(
    st.floats(),  # 100.0 too: money is never a float
    st.booleans(),
    st.text(max_size=5),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.just({}),
)
huge_ints = st.sampled_from([2**31, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30])


def too_long(limit: int):
    return st.integers(limit + 1, limit + 50).map(lambda n: "é" * n)


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), any_text, NUL_TEXT)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)


# Fields every schema below requires: leaving one out must be refused.
REQUIRED = {"title", "price", "currency", "delivery_days", "terms", "text", "refund"}


def corrupt(base: dict[str, Any], bad: dict[str, st.SearchStrategy]) -> st.SearchStrategy:
    """``base`` with one field replaced by a value that must be refused, or a required one
    left out."""

    def build(field: str) -> st.SearchStrategy:
        return bad[field].map(lambda value: {**base, field: value})

    required = sorted(REQUIRED & base.keys())
    removed = st.sampled_from(required).map(lambda f: {k: v for k, v in base.items() if k != f})
    return st.sampled_from(sorted(bad)).flatmap(build) | removed


BAD_OFFER_FIELDS: dict[str, st.SearchStrategy] = {
    "title": st.one_of(BLANK, NUL_TEXT, too_long(200), not_a_string),
    "description": st.one_of(NUL_TEXT, not_a_string),
    "price": st.one_of(
        st.integers(max_value=0),
        st.integers(min_value=MAX_AMOUNT + 1),
        huge_ints.filter(lambda n: not 1 <= n <= MAX_AMOUNT),  # 2**31 is a fine price
        not_an_int,
    ),
    "currency": st.one_of(
        st.text(max_size=5).filter(lambda c: c not in CURRENCIES), st.just("eur"), not_a_string
    ),
    "delivery_days": st.one_of(st.integers(max_value=0), st.integers(min_value=366), not_an_int),
    "revisions": st.one_of(st.integers(max_value=-1), st.integers(min_value=101), not_an_int),
    "terms": st.one_of(BLANK, NUL_TEXT, not_a_string),
    "requirements": st.one_of(
        st.lists(st.one_of(BLANK, NUL_TEXT, too_long(1000), not_a_string), min_size=1, max_size=3),
        st.lists(st.just("Why?"), min_size=31, max_size=40),
        not_a_string.filter(lambda v: not isinstance(v, list)),
    ),
    "requires_acceptance": st.one_of(st.integers(), st.text(max_size=5), st.none(), st.floats()),
}
REQUIRED_OFFER = {k: v for k, v in VALID_OFFER.items() if k in REQUIRED}


# --- authentication --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization", [None, "", "Bearer", "Bearer hov_wrong", "Basic dXNlcjpwYXNz", "hov_x"]
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/me"),
        ("get", "/orders"),
        ("post", "/orders"),
        ("post", "/offers"),
        ("get", "/balance"),
    ],
)
def test_requests_without_a_valid_token_get_401_in_the_error_shape(db, method, path, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    client = Client()
    if method == "get":
        r = client.get(f"/api/v1{path}", headers=headers)
    else:
        r = client.post(f"/api/v1{path}", "{}", content_type="application/json", headers=headers)

    assert_error(r, 401, "not_authenticated")


def test_a_token_of_a_deactivated_user_stops_working(buyer, buyer_api):
    assert buyer_api.get("/me").status_code == 200
    buyer.is_active = False
    buyer.save(update_fields=["is_active"])

    assert_error(buyer_api.get("/me"), 401, "not_authenticated")


# --- malformed and invalid bodies ------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["{bad", "{'a': 1}", "[1, 2", b"\xff\xfe{}", '{"text": "x"} trailing', "[" * 5000]
)
def test_unparseable_json_is_refused_with_400(offer, buyer_api, raw):
    order_id = paid_order(buyer_api, offer)
    before = db_snapshot()

    assert_error(post_raw(buyer_api, f"/orders/{order_id}/messages", raw), 400)
    assert db_snapshot() == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        [],
        "text",
        None,
        {"offer": 1},
        {"offer_id": "1"},
        {"offer_id": None},
        {"offer_id": 1, "answers": "a"},
    ],
)
def test_a_body_not_matching_the_schema_is_refused_with_422(offer, buyer_api, body):
    r = post_raw(buyer_api, "/orders", json.dumps(body))

    payload = assert_error(r, 422, "validation_error")
    assert payload["errors"]


@pytest.mark.parametrize("price", [100.5, 100.0, "100", True, None])
def test_money_must_be_an_integer_of_minor_units(seller_api, price):
    before = db_snapshot()

    r = seller_api.post("/offers", {**VALID_OFFER, "price": price})

    assert_error(r, 422, "validation_error")
    assert db_snapshot() == before


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("request-cancellation", {"text": "x", "refund": 100.0}),
        ("request-cancellation", {"text": "x", "refund": 1.5}),
        ("request-cancellation", {"text": "x", "refund": "100"}),
    ],
)
def test_refunds_must_be_integers(offer, buyer_api, path, body):
    order_id = paid_order(buyer_api, offer)
    before = db_snapshot()

    assert_error(buyer_api.act(order_id, path, body), 422, "validation_error")
    assert db_snapshot() == before


@pytest.mark.parametrize("price", [0, -1, -10000, MAX_AMOUNT + 1, 2**63, 10**30])
def test_prices_out_of_range_are_refused_with_400(seller_api, price):
    before = db_snapshot()

    r = seller_api.post("/offers", {**VALID_OFFER, "price": price})

    assert_error(r, 400, "invalid")
    assert db_snapshot() == before


def test_the_largest_price_is_accepted(seller_api):
    r = seller_api.post("/offers", {**VALID_OFFER, "price": MAX_AMOUNT})

    assert r.status_code == 201, r.content
    assert r.json()["price"] == MAX_AMOUNT


# Numbers no id can be are 422 (test_bounds.py).
@pytest.mark.parametrize("offer_id", [999_999, 2**63 - 1])
def test_ordering_an_unknown_offer_is_404(db, buyer_api, offer_id):
    before = db_snapshot()

    r = buyer_api.post("/orders", {"offer_id": offer_id, "answers": []})

    assert_error(r, 404, "not_found")
    assert db_snapshot() == before


def test_an_unknown_offer_or_order_is_404(db, buyer_api):
    assert_error(buyer_api.get("/offers/999999"), 404, "not_found")
    assert_error(buyer_api.get("/orders/999999"), 404, "not_found")
    assert_error(buyer_api.act(999999, "accept"), 404, "not_found")


def test_ordering_your_own_offer_is_refused(offer, seller_api):
    r = seller_api.post("/orders", {"offer_id": offer.pk, "answers": ["a", "b"]})

    assert_error(r, 400, "own_offer")


def test_a_stranger_sees_no_order(offer, buyer_api, stranger_api):
    order_id = paid_order(buyer_api, offer)
    before = db_snapshot()

    assert_error(stranger_api.get(f"/orders/{order_id}"), 404, "not_found")
    assert_error(stranger_api.act(order_id, "accept"), 404, "not_found")
    assert_error(stranger_api.post(f"/orders/{order_id}/messages", {"text": "hi"}), 404)
    assert db_snapshot() == before


@pytest.mark.parametrize("refund", [-1, TOTAL + 1, 2**63, 10**30])
def test_a_cancellation_refund_outside_zero_to_total_is_refused(offer, buyer_api, refund):
    order_id = paid_order(buyer_api, offer)
    before = db_snapshot()

    r = buyer_api.act(order_id, "request-cancellation", {"text": "x", "refund": refund})

    assert_error(r, 400, "bad_refund")
    assert db_snapshot() == before


@pytest.mark.parametrize(
    "path", ["/orders", "/offers", "/orders/{id}/events", "/orders/{id}/messages"]
)
@pytest.mark.parametrize("param", ["offset", "limit"])
def test_pagination_beyond_64_bits_is_a_client_error_not_a_crash(offer, buyer_api, path, param):
    order_id = paid_order(buyer_api, offer)
    buyer_api.client.raise_request_exception = False

    r = buyer_api.get(path.replace("{id}", str(order_id)), **{param: 2**63})

    assert r.status_code < 500, r.content[:300]
    if r.status_code >= 400:
        assert_error(r)


@pytest.mark.parametrize("where", ["offer", "order", "cancellation", "message"])
def test_text_with_lone_surrogates_is_refused_not_a_crash(offer, buyer_api, seller_api, where):
    text = "ok \udfff ok"
    order_id = paid_order(buyer_api, offer)
    before = db_snapshot()
    buyer_api.client.raise_request_exception = False
    seller_api.client.raise_request_exception = False
    # json.dumps escapes a lone surrogate as \\ud800, which is valid JSON.
    if where == "offer":
        r = seller_api.post("/offers", {**VALID_OFFER, "title": text})
    elif where == "order":
        r = buyer_api.post("/orders", {"offer_id": offer.pk, "answers": [text, "blue"]})
    elif where == "cancellation":
        r = buyer_api.act(order_id, "request-cancellation", {"text": text, "refund": 0})
    else:
        r = buyer_api.post(f"/orders/{order_id}/messages", {"text": text})

    assert_error(r, 400)
    assert db_snapshot() == before


def test_a_body_over_the_upload_limit_answers_413_in_the_error_shape(offer, buyer_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    order_id = paid_order(buyer_api, offer)
    before = db_snapshot()

    r = buyer_api.post(f"/orders/{order_id}/messages", {"text": "x" * 20_000})

    assert_error(r, 413)
    assert db_snapshot() == before


# --- hostile input, generated ----------------------------------------------------------------


def test_hostile_offers_are_refused_and_change_nothing(seller_api):
    before = db_snapshot()

    @HOSTILE
    @given(body=corrupt(VALID_OFFER, BAD_OFFER_FIELDS) | corrupt(REQUIRED_OFFER, BAD_OFFER_FIELDS))
    def check(body):
        assert_error(seller_api.post("/offers", body))
        assert db_snapshot() == before

    check()


def test_random_json_bodies_are_refused_everywhere_and_change_nothing(offer, buyer_api, seller_api):
    order_id = paid_order(buyer_api, offer)
    deliver(seller_api, order_id)
    before = db_snapshot()
    paths = [
        "/offers",
        "/orders",
        f"/orders/{order_id}/request-cancellation",
        f"/orders/{order_id}/messages",
    ]

    @HOSTILE
    @given(path=st.sampled_from(paths), body=json_values)
    def check(path, body):
        assert_error(buyer_api.post(path, body))
        assert db_snapshot() == before

    check()


def test_hostile_orders_are_refused_and_change_nothing(offer, buyer_api):
    before = db_snapshot()
    good_answer = st.text(min_size=1, max_size=10).filter(lambda s: s.strip() and "\x00" not in s)
    bad_answer = st.one_of(BLANK, NUL_TEXT, too_long(5000), not_a_string)
    answers = st.one_of(
        st.lists(good_answer, max_size=5).filter(lambda a: len(a) != 2),
        st.tuples(bad_answer, good_answer).map(list),
        st.tuples(good_answer, bad_answer).map(list),
        not_a_string.filter(lambda v: not isinstance(v, list)),
    )
    bad_offer_id = st.one_of(
        st.integers(min_value=offer.pk + 1), st.integers(max_value=0), huge_ints, not_an_int
    )
    body = st.one_of(
        answers.map(lambda a: {"offer_id": offer.pk, "answers": a}),
        bad_offer_id.map(lambda o: {"offer_id": o, "answers": ["ACME", "blue"]}),
    )

    @HOSTILE
    @given(body=body)
    def check(body):
        assert_error(buyer_api.post("/orders", body))
        assert db_snapshot() == before

    check()


def test_hostile_cancellation_requests_are_refused_and_change_nothing(offer, buyer_api, seller_api):
    order_id = paid_order(buyer_api, offer)
    deliver(seller_api, order_id)
    before = db_snapshot()
    body = corrupt(
        {"text": "Not as agreed", "refund": 500},
        {
            "text": st.one_of(BLANK, NUL_TEXT, too_long(10_000), not_a_string),
            "refund": st.one_of(
                st.integers(max_value=-1), st.integers(min_value=TOTAL + 1), huge_ints, not_an_int
            ),
        },
    )

    @HOSTILE
    @given(body=body, actor=st.sampled_from(["buyer", "seller"]))
    def check(body, actor):
        api = buyer_api if actor == "buyer" else seller_api
        assert_error(api.act(order_id, "request-cancellation", body))
        assert db_snapshot() == before

    check()


def test_hostile_messages_are_refused_and_change_nothing(offer, buyer_api):
    order_id = paid_order(buyer_api, offer)
    before = db_snapshot()
    body = st.one_of(
        st.one_of(BLANK, NUL_TEXT, too_long(10_000), not_a_string).map(lambda b: {"text": b}),
        st.dictionaries(any_text.filter(lambda k: k != "text"), json_scalars, max_size=3),
    )

    @HOSTILE
    @given(body=body)
    def check(body):
        assert_error(buyer_api.post(f"/orders/{order_id}/messages", body))
        assert db_snapshot() == before

    check()
