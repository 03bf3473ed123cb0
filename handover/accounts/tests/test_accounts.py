"""Accounts through the API (sign-up, token exchange, /me) and the `handover user add` and
`handover token` commands."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from handover.accounts.models import ApiToken, Role, User, token_digest
from handover.testing.actors import PASSWORD
from handover.testing.snapshots import db_snapshot

STRONG = "Zx9-long-passphrase"


@pytest.fixture
def anon(db) -> Client:
    return Client()


def post(client: Client, path: str, body: dict, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(
        f"/api/v1{path}", json.dumps(body), content_type="application/json", headers=headers
    )


def sign_up(client: Client, username: str = "alice", password: str = STRONG, email: str = ""):
    return post(client, "/users", {"username": username, "email": email, "password": password})


def error_of(response, status: int) -> str:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["detail"]
    return body["error"]


def me(client: Client, token: str):
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


# --- API -------------------------------------------------------------------------------------


def test_sign_up_creates_a_member_and_answers_201_with_id_and_username(anon):
    r = sign_up(anon, "alice", email="alice@example.com")

    assert r.status_code == 201, r.content
    user = User.objects.get(username="alice")
    assert r.json() == {
        "id": user.pk,
        "username": "alice",
        "email": "alice@example.com",
        "role": "member",
    }
    assert user.check_password(STRONG)
    assert (user.role, user.is_staff, user.is_superuser) == (Role.MEMBER, False, False)


@pytest.mark.parametrize("taken", ["alice", "ALICE", "Alice"])
def test_sign_up_with_a_taken_username_is_409_whatever_its_case(anon, taken):
    sign_up(anon, "alice")
    before = list(User.objects.values_list("pk", "username"))

    assert error_of(sign_up(anon, taken), 409) == "username_taken"
    assert list(User.objects.values_list("pk", "username")) == before


@pytest.mark.parametrize("password", ["short1!", "", "password", "qwertyuiop", "12345678901"])
def test_sign_up_with_a_weak_password_is_400_and_creates_nothing(anon, password):
    r = sign_up(anon, "alice", password)

    assert error_of(r, 400) == "invalid"
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("username", "email"),
    [("", ""), ("bad name", ""), ("a/b", ""), ("x" * 151, ""), ("bob", "not-an-address")],
)
def test_sign_up_with_a_bad_username_or_email_is_400(anon, username, email):
    assert error_of(sign_up(anon, username, email=email), 400) == "invalid"
    assert not User.objects.exists()


def test_sign_up_without_a_password_is_422(anon):
    r = post(anon, "/users", {"username": "alice"})

    assert error_of(r, 422) == "validation_error"


def test_token_exchange_gives_a_working_token_stored_only_as_its_digest(anon):
    user_id = sign_up(anon, "alice").json()["id"]

    r = post(anon, "/auth/token", {"username": "alice", "password": STRONG})

    assert r.status_code == 200, r.content
    token = r.json()["token"]
    assert token.startswith("hov_")
    stored = ApiToken.objects.get(user_id=user_id)
    assert stored.digest == token_digest(token) and token not in stored.digest
    assert stored.prefix == token[:12]
    assert me(anon, token).json() == {
        "id": user_id,
        "username": "alice",
        "email": "",
        "role": "member",
    }


@pytest.mark.parametrize(
    ("username", "password"), [("alice", "wrong-password"), ("nobody", STRONG), ("alice", "")]
)
def test_token_exchange_with_wrong_credentials_is_401(anon, username, password):
    sign_up(anon, "alice")

    r = post(anon, "/auth/token", {"username": username, "password": password})

    assert error_of(r, 401) == "bad_credentials"
    assert not ApiToken.objects.exists()


def test_a_deactivated_account_cannot_get_a_token(anon):
    sign_up(anon, "alice")
    User.objects.filter(username="alice").update(is_active=False)

    r = post(anon, "/auth/token", {"username": "alice", "password": STRONG})

    assert error_of(r, 401) == "bad_credentials"


def test_me_describes_the_caller(support, support_api):
    r = support_api.get("/me")

    assert r.status_code == 200
    assert r.json() == {
        "id": support.pk,
        "username": support.username,
        "email": support.email,
        "role": "support",
    }


def test_me_without_a_token_is_401(anon):
    r = anon.get("/api/v1/me")

    assert error_of(r, 401) == "not_authenticated"


def test_the_password_exchange_works_for_the_shared_actors(buyer, anon):
    r = post(anon, "/auth/token", {"username": buyer.username, "password": PASSWORD})

    assert me(anon, r.json()["token"]).json()["id"] == buyer.pk


# --- commands --------------------------------------------------------------------------------


def test_user_add_creates_a_member(db):
    out = run("user", "add", "carol", "--password", STRONG, "--email", "carol@example.com")

    user = User.objects.get(username="carol")
    assert out == f"created carol (id {user.pk}, Member)"
    assert user.check_password(STRONG) and user.email == "carol@example.com"
    assert (user.role, user.is_staff, user.is_superuser) == (Role.MEMBER, False, False)


def test_user_add_verified_and_user_verify_take_the_address_as_confirmed(db):
    run("user", "add", "carol", "--password", STRONG, "--email", "c@example.com", "--verified")
    run("user", "add", "dan", "--password", STRONG, "--email", "d@example.com")
    assert User.objects.get(username="dan").email_verified_at is None

    assert run("user", "verify", "dan") == "dan: d@example.com is confirmed"
    confirmed = User.objects.filter(email_verified_at__isnull=False)
    assert sorted(confirmed.values_list("username", flat=True)) == ["carol", "dan"]


def test_user_verify_refuses_an_unknown_name_or_an_account_without_address(db):
    run("user", "add", "erin", "--password", STRONG)
    for name, says in (("nobody", "No account"), ("erin", "no e-mail address")):
        with pytest.raises(CommandError, match=says):
            run("user", "verify", name)
    assert not User.objects.filter(email_verified_at__isnull=False).exists()


def test_user_add_support_creates_a_staff_support_agent_in_the_support_group(db):
    run("user", "add", "sam", "--password", STRONG, "--support")

    user = User.objects.get(username="sam")
    assert (user.role, user.is_staff, user.is_superuser, user.is_support) == (
        Role.SUPPORT,
        True,
        False,
        True,
    )
    assert list(user.groups.values_list("name", flat=True)) == ["support"]
    assert user.has_perm("orders.view_order") and not user.has_perm("orders.change_order")


def test_user_add_operator_creates_a_superuser(db):
    run("user", "add", "olga", "--password", STRONG, "--operator")

    user = User.objects.get(username="olga")
    assert (user.role, user.is_staff, user.is_superuser) == (Role.OPERATOR, True, True)


def test_user_add_refuses_support_and_operator_together(db):
    with pytest.raises(CommandError):
        run("user", "add", "x", "--password", STRONG, "--support", "--operator")
    assert not User.objects.exists()


@pytest.mark.parametrize("password", ["short", "password1"])
def test_user_add_with_a_weak_password_fails_and_creates_nothing(db, password):
    with pytest.raises(CommandError, match="password"):
        run("user", "add", "dave", "--password", password)

    assert not User.objects.filter(username="dave").exists()


def test_user_add_with_a_taken_name_fails(db):
    run("user", "add", "erin", "--password", STRONG)

    with pytest.raises(CommandError, match="taken"):
        run("user", "add", "Erin", "--password", STRONG)
    assert User.objects.filter(username__iexact="erin").count() == 1


def test_token_command_prints_a_new_working_token(anon):
    run("user", "add", "frank", "--password", STRONG)

    first = run("token", "frank")
    second = run("token", "frank", "--label", "laptop")

    assert first != second
    assert me(anon, first).json()["username"] == "frank"
    assert me(anon, second).json()["username"] == "frank"
    labels = ApiToken.objects.filter(user__username="frank").values_list("label", flat=True)
    assert sorted(labels) == ["cli", "laptop"]


def test_token_command_refuses_unknown_and_deactivated_accounts(db):
    run("user", "add", "gina", "--password", STRONG)
    User.objects.filter(username="gina").update(is_active=False)
    before = db_snapshot()

    for name in ("nobody", "gina"):
        with pytest.raises(CommandError, match="No active account"):
            run("token", name)
    assert not ApiToken.objects.exists()
    assert db_snapshot() == before
