import pytest


def test_unknown_api_route_is_json_404(client):
    r = client.get("/api/v1/nope")
    assert r.status_code == 404 and r.json()["error"] == "not_found"


def test_a_method_the_route_lacks_is_a_json_405_naming_the_allowed_ones(client):
    r = client.delete("/api/v1/health")
    assert r.status_code == 405
    assert r.json() == {
        "error": "method_not_allowed",
        "detail": "DELETE is not allowed here; use GET.",
    }
    assert r["Allow"] == "GET"


@pytest.mark.django_db
def test_a_405_replayed_for_its_idempotency_key_keeps_the_json_shape(client):
    headers = {"Idempotency-Key": "k-405"}
    first = client.post("/api/v1/health", headers=headers)
    again = client.post("/api/v1/health", headers=headers)
    assert again["Idempotent-Replayed"] == "true"
    assert first.json()["error"] == again.json()["error"] == "method_not_allowed"


def test_openapi_schema_lists_every_order_action(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for action in (
        "pay",
        "accept-order",
        "decline-order",
        "accept",
        "request-revision",
        "request-cancellation",
        "accept-cancellation",
        "decline-cancellation",
        "withdraw-cancellation",
        "cancel-late",
        "open-dispute",
        "release-early",
    ):
        assert f"/api/v1/orders/{{order_id}}/{action}" in paths, action
    for route in (
        "/api/v1/users",
        "/api/v1/auth/token",
        "/api/v1/me",
        "/api/v1/offers",
        "/api/v1/orders",
        "/api/v1/orders/{order_id}/deliveries",
        "/api/v1/files/{file_id}/original",
        "/api/v1/orders/{order_id}/messages",
        "/api/v1/orders/{order_id}/events",
        "/api/v1/disputes",
        "/api/v1/disputes/{dispute_id}/decision",
        "/api/v1/balance",
        "/api/v1/payouts",
    ):
        assert route in paths, route


def test_docs_page_loads_its_assets_from_this_server(client):
    page = client.get("/api/v1/docs").content.decode()
    assert "cdn" not in page.lower()
    assert "/static/ninja/swagger-ui-bundle.js" in page
