"""Shared actors and helpers: a seller, a buyer, a support agent, and an API client per actor."""

import itertools
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from handover.accounts.models import Role, User
from handover.accounts.services import token_create, user_create
from handover.offers.models import Offer
from handover.offers.services import OfferFields, offer_create
from handover.orders.models import Order
from handover.orders.rules import State

PASSWORD = "correct-horse-battery"
_names = itertools.count(1)


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    skip = pytest.mark.skip(reason="needs PostgreSQL")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _flush_lifts_append_only_triggers() -> Iterator[None]:
    """Transactional tests empty the tables after each test: with DELETE on SQLite, which the
    append-only triggers refuse (PostgreSQL's TRUNCATE is not a row operation). Only tests
    flush, so only here: the triggers are lifted for the flush, in its transaction, and put back."""
    from handover.evidence.triggers import APPEND_ONLY, sqlite_create, sqlite_drop

    if connection.vendor != "sqlite":
        yield
        return
    operations = type(connection.ops)
    plain = operations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        statements = plain(
            self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
        guarded = [table for table in APPEND_ONLY if table in tables]
        if not statements or not guarded:
            return statements
        drops = [sql for table in guarded for sql in sqlite_drop(table)]
        creates = [sql for table in guarded for sql in sqlite_create(table)]
        return drops + statements + creates

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(operations, "sql_flush", sql_flush)
        yield


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    """The production hasher costs about a second per account here; tests make many."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """The sign-in throttle counts failures in the cache; one test's must not lock out the next."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path) -> None:
    """Stored files go to a fresh folder (or, with HANDOVER_STORAGE=s3, a fresh prefix of
    the test bucket) per test, and scratch files to a fresh folder."""
    settings.HANDOVER_TMP_DIR = tmp_path / "tmp"
    settings.HANDOVER_TMP_DIR.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(settings.HANDOVER_TMP_DIR)
    default = settings.STORAGES["default"]
    if settings.HANDOVER_STORAGE == "s3":
        options = {**default["OPTIONS"], "location": f"test-{uuid.uuid4().hex}"}
        default = {"BACKEND": default["BACKEND"], "OPTIONS": options}
    else:
        default = {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "files")},
        }
    settings.STORAGES = {**settings.STORAGES, "default": default}


class Api:
    """A JSON client for one actor; every POST carries a fresh Idempotency-Key by default."""

    def __init__(self, user: User | None):
        self.user = user
        self.client = Client()
        self.token = token_create(user=user) if user else None

    def _headers(self, key: str | None) -> dict[str, str]:
        headers = {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    def get(self, path: str, *, headers: dict[str, str] | None = None, **params: Any):
        return self.client.get(
            f"/api/v1{path}", params, headers={**self._headers(None), **(headers or {})}
        )

    def post(self, path: str, body: Any = None, *, key: str | None = "", **kwargs: Any):
        key = uuid.uuid4().hex if key == "" else key
        if "files" in kwargs or "data" in kwargs:
            return self.client.post(
                f"/api/v1{path}", kwargs.get("data", {}), headers=self._headers(key)
            )
        return self.client.post(
            f"/api/v1{path}",
            json.dumps(body or {}),
            content_type="application/json",
            headers=self._headers(key),
        )

    def put(self, path: str, body: Any):
        return self.client.put(
            f"/api/v1{path}",
            json.dumps(body),
            content_type="application/json",
            headers=self._headers(None),
        )

    def act(self, order_id: int, action: str, body: Any = None, **kwargs: Any):
        return self.post(f"/orders/{order_id}/{action}", body, **kwargs)


def make_user(prefix: str, role: Role = Role.MEMBER) -> User:
    return user_create(
        username=f"{prefix}{next(_names)}",
        password=PASSWORD,
        email=f"{prefix}@example.com",
        role=role,
    )


@pytest.fixture
def seller(db) -> User:
    return make_user("seller")


@pytest.fixture
def buyer(db) -> User:
    return make_user("buyer")


@pytest.fixture
def support(db) -> User:
    return make_user("support", Role.SUPPORT)


@pytest.fixture
def stranger(db) -> User:
    return make_user("stranger")


@pytest.fixture
def seller_api(seller) -> Api:
    return Api(seller)


@pytest.fixture
def buyer_api(buyer) -> Api:
    return Api(buyer)


@pytest.fixture
def support_api(support) -> Api:
    return Api(support)


@pytest.fixture
def stranger_api(stranger) -> Api:
    return Api(stranger)


def make_offer(seller: User, **overrides: Any) -> Offer:
    fields: dict[str, Any] = {
        "title": "Logo design",
        "description": "A logo in three concepts.",
        "price": 10000,
        "currency": "EUR",
        "delivery_days": 3,
        "revisions": 1,
        "terms": "Terms v1: the buyer gets a licence on completion.",
        "requirements": ["Company name?", "Colours?"],
        "requires_acceptance": False,
    }
    fields.update(overrides)
    return offer_create(seller=seller, fields=OfferFields(**fields))


@pytest.fixture
def offer(seller) -> Offer:
    return make_offer(seller)


def db_snapshot() -> dict[str, Any]:
    """Every row that matters for 'nothing changed', table by table."""
    from handover.delivery.models import Delivery, DeliveryFile, PreviewPart
    from handover.disputes.models import Dispute, SupportNote
    from handover.evidence.models import Event
    from handover.ledger.models import Account, Entry, LedgerTransaction
    from handover.orders.models import Message
    from handover.trust.models import Report, Review

    return {
        model.__name__: sorted(model.objects.values_list(), key=str)
        for model in (
            Order,
            Event,
            Account,
            Entry,
            LedgerTransaction,
            Message,
            Delivery,
            DeliveryFile,
            PreviewPart,
            Dispute,
            SupportNote,
            Review,
            Report,
        )
    }


@pytest.fixture
def query_count() -> Iterator[Any]:
    from django.test.utils import CaptureQueriesContext

    yield lambda: CaptureQueriesContext(connection)


__all__ = ["Api", "State", "db_snapshot", "make_offer", "make_user"]
