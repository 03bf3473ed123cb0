"""The API's token exchange counts towards the same sign-in lockout as the web's log-in, and
an address that fails too many sign-ins over all names is refused before any hashing."""

import json
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.hashers import MD5PasswordHasher
from django.utils.module_loading import import_string

from handover.accounts.models import ApiToken
from handover.testing.actors import PASSWORD


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


# --- the per-address throttle over all names --------------------------------------------------


@pytest.fixture
def hashes(monkeypatch) -> list[str]:
    """Every password hash computed, known name or not (the tests' hasher is MD5)."""
    made: list[str] = []
    encode = MD5PasswordHasher.encode

    def counted(self, password, salt):
        made.append(password)
        return encode(self, password, salt)

    monkeypatch.setattr(MD5PasswordHasher, "encode", counted)
    return made


def from_address(client, address: str, username: str, password: str = "wrong"):
    body = json.dumps({"username": username, "password": password})
    return client.post(
        "/api/v1/auth/token", body, content_type="application/json", REMOTE_ADDR=address
    )


def test_many_unknown_names_from_one_address_are_refused_before_any_hashing(
    client, buyer, settings, hashes
):
    settings.HANDOVER_LOGIN_ADDRESS_LIMIT = 4
    for n in range(4):
        assert from_address(client, "203.0.113.7", f"nobody-{n}").status_code == 401
    assert len(hashes) == 4  # Django hashes once for an unknown name, as for a known one
    tokens = ApiToken.objects.count()

    for n in range(4, 10):
        refused = from_address(client, "203.0.113.7", f"nobody-{n}")
        assert refused.status_code == 429
        assert refused.json()["error"] == "address_locked_out"
    right = from_address(client, "203.0.113.7", buyer.username, PASSWORD)

    assert right.status_code == 429  # every name from that address waits
    assert 0 < int(right["Retry-After"]) <= 15 * 60
    assert "Too many failed sign-ins from here" in right.json()["detail"]
    assert len(hashes) == 4
    assert ApiToken.objects.count() == tokens


def test_another_address_is_not_affected(client, buyer, settings, hashes):
    settings.HANDOVER_LOGIN_ADDRESS_LIMIT = 3
    for n in range(5):
        from_address(client, "203.0.113.7", f"nobody-{n}")
    assert from_address(client, "203.0.113.7", buyer.username, PASSWORD).status_code == 429

    assert from_address(client, "198.51.100.2", buyer.username, PASSWORD).status_code == 200
    assert from_address(client, "198.51.100.2", "nobody-else").status_code == 401


def test_the_web_log_in_is_throttled_by_address_before_hashing(client, buyer, settings, hashes):
    settings.HANDOVER_LOGIN_ADDRESS_LIMIT = 3
    for n in range(3):
        client.post("/login/", {"username": f"nobody-{n}", "password": "x"}, REMOTE_ADDR="::1")
    hashed = len(hashes)

    page = client.post(
        "/login/", {"username": buyer.username, "password": PASSWORD}, REMOTE_ADDR="::1"
    )

    assert page.status_code == 429 and int(page["Retry-After"]) > 0
    assert "whatever the name" in page.content.decode()
    assert len(hashes) == hashed


def test_the_name_lockout_comes_first_and_the_address_limit_still_counts_its_failures(
    client, buyer, seller, settings
):
    settings.HANDOVER_LOGIN_ADDRESS_LIMIT = 8
    answers = [from_address(client, "203.0.113.7", buyer.username) for _ in range(5)]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]
    assert answers[-1].json()["error"] == "locked_out"  # this name, from this address
    assert from_address(client, "203.0.113.7", seller.username, PASSWORD).status_code == 200

    for n in range(3):
        from_address(client, "203.0.113.7", f"nobody-{n}")
    refused = from_address(client, "203.0.113.7", seller.username, PASSWORD)

    assert refused.status_code == 429 and refused.json()["error"] == "address_locked_out"


def test_the_password_hasher_and_its_cost_are_the_ones_the_readme_states():
    # The project's own settings: the tests swap in a fast hasher.
    from handover import settings as project

    first = project.PASSWORD_HASHERS[0]
    assert first == "django.contrib.auth.hashers.PBKDF2PasswordHasher"
    assert import_string(first).iterations == 1_500_000
    readme = (Path(project.BASE_DIR) / "README.md").read_text()
    assert "PBKDF2-SHA256 with 1,500,000 iterations" in readme
