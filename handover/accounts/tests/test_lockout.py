"""The API's token exchange counts towards the same sign-in lockout as the web's log-in."""

import json

from axes.models import AccessAttempt

from handover.accounts.models import ApiToken
from handover.conftest import PASSWORD


def token(client, username: str, password: str):
    body = json.dumps({"username": username, "password": password})
    return client.post("/api/v1/auth/token", body, content_type="application/json")


def test_repeated_api_failures_lock_the_name_out_with_a_json_answer(client, buyer):
    for _ in range(4):
        assert token(client, buyer.username, "wrong").status_code == 401
    assert token(client, buyer.username, "wrong").status_code == 429  # the fifth locks
    tokens = ApiToken.objects.count()

    locked = token(client, buyer.username, PASSWORD)

    assert locked.status_code == 429
    assert locked.json()["error"] == "locked_out"
    assert "15 minutes" in locked.json()["detail"]
    assert locked["Retry-After"] == "900"
    assert ApiToken.objects.count() == tokens  # the right password got no token
    assert AccessAttempt.objects.get(username=buyer.username).failures_since_start >= 5
    # The same count locks the web's log-in for that name from that address.
    page = client.post("/login/", {"username": buyer.username, "password": PASSWORD})
    assert page.status_code == 429 and "Too many failed log-ins" in page.content.decode()


def test_the_lockout_is_for_that_name_only(client, buyer, seller):
    for _ in range(5):
        token(client, buyer.username, "wrong")
    assert token(client, seller.username, PASSWORD).status_code == 200


def test_a_success_before_the_limit_clears_the_count(client, buyer):
    for _ in range(4):
        token(client, buyer.username, "wrong")
    assert token(client, buyer.username, PASSWORD).status_code == 200
    buyer.refresh_from_db()
    assert buyer.last_login is not None
    for _ in range(4):
        token(client, buyer.username, "wrong")
    assert token(client, buyer.username, PASSWORD).status_code == 200
