"""Numbers and JSON a client sends are bounded before they reach the database or a parser:
an id no key column can hold is a 404 in a path and a 422 in a query or a body (never a 500
from the driver), and a JSON body nested past the limit is a 400, however deep it goes."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handover.api.tests.test_api_errors import assert_error, post_raw
from handover.lib.bounds import MAX_ID, MAX_JSON_DEPTH
from handover.testing.snapshots import db_snapshot
from handover.testing.steps import delivered_order, paid_order

BEYOND = [2**63, 2**64, 10**30]  # past a signed 64-bit column: overflowed the driver
BELOW = [0, -1, -(2**63) - 1]

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def refused_as_invalid(response, field: str) -> None:
    body = assert_error(response, 422, "validation_error")
    assert field in body["detail"], body


# --- ids in the query string -----------------------------------------------------------------


@pytest.mark.parametrize("seller_id", BEYOND + BELOW)
def test_an_offer_filter_by_a_seller_id_out_of_range_is_422(db, buyer_api, seller_id):
    buyer_api.client.raise_request_exception = False

    refused_as_invalid(buyer_api.get("/offers", seller_id=seller_id), "seller_id")


def test_the_largest_seller_id_finds_nothing(offer, buyer_api):
    r = buyer_api.get("/offers", seller_id=MAX_ID)

    assert r.status_code == 200, r.content
    assert r.json()["items"] == []


# --- ids in the path -------------------------------------------------------------------------


@pytest.mark.parametrize("value", BEYOND + BELOW)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/orders/{}"),
        ("get", "/offers/{}"),
        ("get", "/files/{}/preview"),
        ("get", "/disputes/{}"),
        ("get", "/users/{}/record"),
        ("post", "/orders/{}/accept"),
        ("post", "/reports/{}/handled"),
        ("post", "/orders/{}/messages"),
    ],
)
def test_a_path_id_out_of_range_names_nothing_404_and_changes_nothing(
    offer, buyer_api, support_api, method, path, value
):
    paid_order(buyer_api, offer)
    before = db_snapshot()
    support_api.client.raise_request_exception = False

    r = getattr(support_api, method)(path.format(value))

    assert_error(r, 404, "not_found")
    assert db_snapshot() == before


def test_the_largest_path_id_is_an_ordinary_404(db, buyer_api):
    assert_error(buyer_api.get(f"/orders/{MAX_ID}"), 404, "not_found")
    assert_error(buyer_api.get(f"/files/{MAX_ID}"), 404, "not_found")


def test_a_preview_part_out_of_range_is_422(offer, buyer_api, seller_api):
    _, file_id = delivered_order(buyer_api, seller_api, offer)

    refused_as_invalid(buyer_api.get(f"/files/{file_id}/preview", part=2**63), "part")


# --- ids in a JSON body ----------------------------------------------------------------------


@pytest.mark.parametrize("value", BEYOND + BELOW)
def test_ids_out_of_range_in_bodies_are_422_and_change_nothing(offer, buyer_api, seller_api, value):
    order_id, _ = delivered_order(buyer_api, seller_api, offer)
    before = db_snapshot()

    refused_as_invalid(buyer_api.post("/orders", {"offer_id": value}), "offer_id")
    r = seller_api.act(order_id, "release-early", {"delivery_id": value})
    refused_as_invalid(r, "delivery_id")
    r = seller_api.post(f"/users/{offer.seller_id}/reports", {"reason": "spam", "order_id": value})
    refused_as_invalid(r, "order_id")
    assert db_snapshot() == before


# --- the same, generated ---------------------------------------------------------------------


def test_any_integer_as_an_id_is_answered_without_a_server_error(offer, buyer_api, seller_api):
    order_id, file_id = delivered_order(buyer_api, seller_api, offer)
    buyer_api.client.raise_request_exception = False
    before = db_snapshot()
    mine = {order_id, file_id, offer.pk, offer.seller_id}
    in_path = {
        "order": lambda n: buyer_api.get(f"/orders/{n}"),
        "events": lambda n: buyer_api.get(f"/orders/{n}/events"),
        "file": lambda n: buyer_api.get(f"/files/{n}"),
        "original": lambda n: buyer_api.get(f"/files/{n}/original"),
        "record": lambda n: buyer_api.get(f"/users/{n}/record"),
        "message": lambda n: buyer_api.post(f"/orders/{n}/messages", {"text": "hi"}),
    }
    in_query_or_body = {
        "seller filter": lambda n: buyer_api.get("/offers", seller_id=n),
        "new order": lambda n: buyer_api.post("/orders", {"offer_id": n, "answers": []}),
        "release": lambda n: buyer_api.act(order_id, "release-early", {"delivery_id": n}),
    }
    routes = {**in_path, **in_query_or_body}
    integers = st.one_of(
        st.integers(),
        st.integers(min_value=MAX_ID - 2, max_value=MAX_ID + 2),
        st.integers(min_value=2**63, max_value=10**40),
        st.integers(max_value=0),
    ).filter(lambda n: n not in mine)

    @FUZZ
    @given(route=st.sampled_from(sorted(routes)), number=integers)
    def check(route, number):
        r = routes[route](number)
        if not 1 <= number <= MAX_ID:
            assert_error(r, *(404, "not_found") if route in in_path else (422, "validation_error"))
        elif route == "seller filter":
            assert r.status_code == 200 and r.json()["items"] == [], r.content
        else:
            assert_error(r)  # nobody's: 404; the buyer may not release: 403
        assert db_snapshot() == before

    check()


# --- JSON nesting ----------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 900, 100_000])
def test_a_json_body_nested_past_the_limit_is_400_and_changes_nothing(offer, buyer_api, depth):
    order_id = paid_order(buyer_api, offer)
    before = db_snapshot()

    r = post_raw(buyer_api, f"/orders/{order_id}/messages", "[" * depth + "]" * depth)

    body = assert_error(r, 400, "too_deep")
    assert str(MAX_JSON_DEPTH) in body["detail"]
    assert db_snapshot() == before


def test_unclosed_brackets_past_any_recursion_limit_are_400(offer, buyer_api):
    order_id = paid_order(buyer_api, offer)

    assert_error(post_raw(buyer_api, f"/orders/{order_id}/messages", "[" * 100_000), 400)


def nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"deeper": value}
    return value


def test_deep_json_inside_a_field_is_refused_before_validation(seller_api):
    before = db_snapshot()
    offer = {
        "title": "Logo",
        "price": 10000,
        "currency": "EUR",
        "delivery_days": 3,
        "terms": "Licence on completion.",
        "risk_threshold": nested(MAX_JSON_DEPTH),  # the body's own object adds one
    }

    assert_error(seller_api.post("/offers", offer), 400, "too_deep")
    assert db_snapshot() == before


def test_json_at_the_limit_still_reaches_validation(offer, buyer_api):
    order_id = paid_order(buyer_api, offer)
    body = json.dumps({"text": nested(MAX_JSON_DEPTH - 1)})

    assert_error(post_raw(buyer_api, f"/orders/{order_id}/messages", body), 422)
