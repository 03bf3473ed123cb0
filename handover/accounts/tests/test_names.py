"""Usernames that cannot pass for someone else's: stored NFKC, refused when they mix scripts
or look like an existing name (the API's 422, the web's form error, the admin's too), and a
refusal leaves no account behind."""

import importlib
import json

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client, RequestFactory

from handover.accounts.models import User
from handover.accounts.rules import username_refusal, username_skeleton
from handover.accounts.services import user_create
from handover.web.tests.helpers import field_errors

STRONG = "Zx9-long-passphrase"
# Spelled with escapes: the point is that they look the same.
CYRILLIC_E = "\u0435"
CYRILLIC_A, CYRILLIC_P = "\u0430", "\u0440"
GREEK_O = "\u03bf"
FULLWIDTH_ALICE = "\uff41\uff4c\uff49\uff43\uff45"
FULLWIDTH_BOB_UPPER = "\uff22\uff2f\uff22"


def sign_up(username: str, client: Client | None = None):
    body = json.dumps({"username": username, "password": STRONG})
    return (client or Client()).post("/api/v1/users", body, content_type="application/json")


def refused(response, status: int, error: str) -> str:
    assert response.status_code == status, response.content
    assert response.json()["error"] == error
    return response.json()["detail"]


def token(username: str, password: str = STRONG):
    body = json.dumps({"username": username, "password": password})
    return Client().post("/api/v1/auth/token", body, content_type="application/json")


# --- the rules, without a database --------------------------------------------------------


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("demo-support", f"d{CYRILLIC_E}mo-support"),  # a Cyrillic letter among Latin ones
        ("ape", f"{CYRILLIC_A}{CYRILLIC_P}{CYRILLIC_E}"),  # all Cyrillic, all lookalikes
        ("demo-support", f"demo-supp{GREEK_O}rt"),
        ("demo-support", "dem0-support"),
        ("paypal", "paypaI"),  # a capital i for the l
        ("paypal", "paypa1"),
        ("modern", "rnodern"),
        ("alice", FULLWIDTH_ALICE),
    ],
)
def test_lookalike_names_share_a_skeleton(one, other):
    assert one != other
    assert username_skeleton(one) == username_skeleton(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [("alice", "alina"), ("jose", "jos\u00e9"), ("x_y", "x-y"), ("demo-buyer", "demo-seller")],
)
def test_different_looking_names_keep_different_skeletons(one, other):
    assert username_skeleton(one) != username_skeleton(other)


@pytest.mark.parametrize(
    "name",
    [
        f"d{CYRILLIC_E}mo-support",
        f"demo-supp{GREEK_O}rt",
        "user\u05d0",  # Latin and Hebrew
        "\u0438\u0432\u0430\u043dx",  # Cyrillic and Latin
    ],
)
def test_names_that_mix_scripts_are_refused(name):
    assert "mixes scripts" in (username_refusal(name) or "")


@pytest.mark.parametrize(
    "name",
    [
        "demo-support",
        "jos\u00e9_1983",
        "\u0438\u0432\u0430\u043d",  # Cyrillic alone
        "\u05e9\u05dc\u05d5\u05dd",  # Hebrew alone
        "\u5c71\u7530\u305f\u308d\u3046",  # Japanese: Han and Hiragana together
        "taro\u5c71\u7530",  # and with Latin
        "\uae40\ucca0\uc218",  # Korean
    ],
)
def test_names_of_one_writing_system_pass(name):
    assert username_refusal(name) is None


# --- sign-up through the API --------------------------------------------------------------


def test_the_cyrillic_lookalike_of_an_existing_name_is_refused_and_makes_no_account(db):
    # All Cyrillic, so no script is mixed: only the skeleton catches it.
    assert sign_up("ape").status_code == 201
    before = list(User.objects.values_list("pk", "username"))

    detail = refused(sign_up(f"{CYRILLIC_A}{CYRILLIC_P}{CYRILLIC_E}"), 422, "username_too_close")

    assert "too close to an existing name" in detail
    assert list(User.objects.values_list("pk", "username")) == before


def test_a_name_mixing_scripts_is_refused_and_makes_no_account(db):
    detail = refused(sign_up(f"d{CYRILLIC_E}mo-support"), 422, "username_mixed_scripts")

    assert "Cyrillic and Latin" in detail
    assert not User.objects.exists()


def test_a_name_is_stored_nfkc_and_its_case_variants_in_any_width_are_taken(db):
    created = sign_up(FULLWIDTH_ALICE)
    assert created.status_code == 201, created.content
    assert created.json()["username"] == "alice"
    assert User.objects.get().name_skeleton == "alice"
    assert sign_up("bob").status_code == 201

    refused(sign_up(FULLWIDTH_BOB_UPPER), 409, "username_taken")  # "BOB" once normalised

    assert sorted(User.objects.values_list("username", flat=True)) == ["alice", "bob"]


def test_signing_in_by_name_works_as_before(db):
    assert sign_up(FULLWIDTH_ALICE).status_code == 201
    assert token("alice").status_code == 200
    assert token("alice", "wrong-password").status_code == 401


def test_the_skeleton_follows_a_rename_and_frees_the_old_one(db):
    user = user_create(username="paypal", password=STRONG)
    user.username = "billing"
    user.save(update_fields=["username"])

    assert User.objects.get().name_skeleton == "billing"
    assert sign_up("paypaI").status_code == 201


# --- the web's sign-up and the admin ------------------------------------------------------


def test_the_web_sign_up_says_beside_the_name_that_it_is_too_close(client, db):
    user_create(username="demo-support", password=STRONG)
    data = {"email": "x@example.com", "password1": STRONG, "password2": STRONG}

    response = client.post("/signup/", {**data, "username": "dem0-support"})

    assert response.status_code == 422
    assert field_errors(response, "username") == [
        "The username is too close to an existing name: it would pass for it."
    ]
    mixed = client.post("/signup/", {**data, "username": f"d{CYRILLIC_E}mo-shop"})
    assert mixed.status_code == 422
    assert "mixes scripts" in field_errors(mixed, "username")[0]
    assert list(User.objects.values_list("username", flat=True)) == ["demo-support"]


def test_a_lookalike_the_form_missed_is_still_refused_beside_the_name(client, db, monkeypatch):
    # As when another sign-up takes "demo-support" between the form's check and the service's.
    user_create(username="demo-support", password=STRONG)
    monkeypatch.setattr("handover.accounts.forms.username_check", lambda *a, **k: None)
    data = {"email": "x@example.com", "password1": STRONG, "password2": STRONG}

    response = client.post("/signup/", {**data, "username": "dem0-support"})

    assert response.status_code == 422
    assert "too close" in field_errors(response, "username")[0]
    assert User.objects.count() == 1


def admin_form(user: User | None, **data):
    request = RequestFactory().get("/admin/")
    request.user = User(is_superuser=True, is_staff=True)
    form_class = admin.site.get_model_admin(User).get_form(request, user, change=bool(user))
    return form_class(instance=user, data=data)


def test_the_admin_refuses_a_lookalike_name_but_still_edits_an_older_account(db):
    user_create(username="demo-support", password=STRONG)
    add = admin_form(None, username="dem0-support", usable_password="false")
    assert not add.is_valid() and "too close" in add.errors["username"][0]

    # An account whose name predates the rules can still be deactivated.
    [impostor] = User.objects.bulk_create([User(username=f"d{CYRILLIC_E}mo-shop")])
    fields = {
        "username": impostor.username,
        "role": "member",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }  # is_active left out: unticked
    change = admin_form(impostor, **fields)
    assert change.is_valid(), change.errors
    change.save()
    assert not User.objects.get(pk=impostor.pk).is_active
    renamed = admin_form(impostor, **{**fields, "username": "dem0-support"})
    assert not renamed.is_valid()


# --- the migration that fills the column --------------------------------------------------


def test_the_migration_gives_the_oldest_of_two_lookalikes_the_skeleton(db):
    fill = importlib.import_module("handover.accounts.migrations.0002_name_skeleton")
    # Two accounts from before the rules, one imitating the other; save() is bypassed.
    older, newer = User.objects.bulk_create(
        [User(username="ape"), User(username=f"{CYRILLIC_A}{CYRILLIC_P}{CYRILLIC_E}")]
    )

    fill.fill_skeletons(apps, None)

    older.refresh_from_db()
    newer.refresh_from_db()
    assert (older.name_skeleton, newer.name_skeleton) == ("ape", None)
    newer.set_password("another-long-one")
    newer.save()  # the account without a skeleton stays usable
    assert User.objects.get(pk=newer.pk).name_skeleton is None
