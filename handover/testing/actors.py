"""The named actors (a seller, a buyer, a support agent, a stranger) and an API client per actor."""

import itertools
import json
import uuid
from typing import Any

import pytest
from django.test import Client

from handover.accounts.models import Role, User
from handover.accounts.services import token_create, user_create

PASSWORD = "correct-horse-battery"
_names = itertools.count(1)


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
        verified=True,  # the tests of the unverified path make their own
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
