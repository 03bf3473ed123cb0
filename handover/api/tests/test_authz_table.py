"""The authorization table (``authz_table.py``) against the running code: every route of the
URLconf is in the table, and every role gets the table's answer in every order state.

The orders are built once for the module (``authz_world.py``); each request is rolled back,
so all of them see the orders as built."""

import re
from collections.abc import Iterator

import pytest
from django.db import transaction
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver

from handover.api.api import api
from handover.api.tests import authz_world as w
from handover.api.tests.authz_table import ADMIN, API, ROLES, WEB, Expected
from handover.orders.rules import State

SECTIONS = {"api": API, "web": WEB, "admin": ADMIN}
# Routes that do not declare their methods (pages, the admin) are asked with both.
PAGE_METHODS = ("GET", "POST")
ORDER_IDS = re.compile(r"\{(order_id|file_id|delivery_id|dispute_id)\}")


def _walk(patterns: list, prefix: str) -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def _template(route: str) -> str:
    """A URL pattern as the table writes it: "orders/<int:order_id>/" -> "/orders/{order_id}/",
    and the admin's "^(?P<app_label>auth|...)/$" -> "{app_label}/"."""
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)
    route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
    return "/" + route.replace("^", "").replace("$", "")


def url_routes() -> set[str]:
    """Every route the URLconf answers, as "METHOD /path/{param}": the API's operations with
    the methods they declare, every other pattern with GET and POST."""
    operations = api.get_openapi_schema()["paths"]
    routes: set[str] = set()
    for template in {_template(r) for r in _walk(get_resolver().url_patterns, "")}:
        methods = [m.upper() for m in operations.get(template, {})] or PAGE_METHODS
        routes.update(f"{method} {template}" for method in methods)
    return routes


def test_every_route_is_in_the_table_and_every_entry_is_a_route():
    routes, entries = url_routes(), {k for rows in SECTIONS.values() for k in rows}

    assert sorted(routes - entries) == [], "routes missing from the authorization table"
    assert sorted(entries - routes) == [], "table entries naming no route"


def test_the_table_names_no_state_a_route_is_never_asked_in(world):
    unasked = []
    for rows in SECTIONS.values():
        for key, expected in rows.items():
            asked = {state for state, _path in _places(world, key, expected)}
            unasked += [f"{key}: {state}" for state in expected.states if state not in asked]
    assert unasked == []


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[w.World]:
    """The people and one order per state, for every test of the module; undone after."""
    files, scratch = tmp_path_factory.mktemp("files"), tmp_path_factory.mktemp("tmp")
    with (
        django_db_blocker.unblock(),
        override_settings(
            # The function-scoped fixtures of conftest.py do the same for single tests.
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
            HANDOVER_TMP_DIR=scratch,
            FILE_UPLOAD_TEMP_DIR=str(scratch),
        ),
        transaction.atomic(),
    ):
        with override_settings(STORAGES=_local_storage(files)):
            built = w.world_build()
        built.storage = files
        yield built
        transaction.set_rollback(True)


def _local_storage(root) -> dict:
    from django.conf import settings

    local = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    return {**settings.STORAGES, "default": {**local, "OPTIONS": {"location": str(root)}}}


@pytest.fixture
def world_files(world, settings) -> w.World:
    """The world, with storage where its files are (conftest.py gives each test a fresh one)."""
    settings.STORAGES = _local_storage(world.storage)
    return world


@pytest.mark.parametrize("section", SECTIONS)
def test_each_role_gets_the_tables_answer_in_each_state(db, world_files, section):
    wrong = []
    for key, expected in SECTIONS[section].items():
        wrong += _mismatches(world_files, key, expected)

    assert wrong == [], f"{len(wrong)} answers differ from authz_table.py:\n" + "\n".join(wrong)


def _places(world: w.World, key: str, expected: Expected) -> list[tuple[State | None, str]]:
    """Where a row is asked: each state whose order has what the route names, or once."""
    template = key.split(" ", 1)[1]
    states: tuple[State | None, ...] = tuple(State) if ORDER_IDS.search(template) else (None,)
    places = []
    for state in states:
        path = w.path_for(template, expected.body, world.ids_for(template, state))
        if path is not None:
            places.append((state, path))
    return places


def _mismatches(world: w.World, key: str, expected: Expected) -> list[str]:
    method, template = key.split(" ", 1)
    wrong = []
    for state, path in _places(world, key, expected):
        ids = world.ids_for(template, state)
        for role in ROLES:
            for who, outcome in _ask(world, role, method, path, expected, ids):
                if outcome != expected.at(role, state):
                    where = f" in {state}" if state else ""
                    wrong.append(
                        f"{key} as {who}{where}: {outcome!r}, table: {expected.at(role, state)!r}"
                    )
    return wrong


def _ask(world, role, method, path, expected, ids) -> list[tuple[str, w.Outcome]]:
    def asked() -> list[tuple[str, w.Outcome]]:
        return [
            (who, w.request(world, method=method, path=path, person=p, expected=expected, ids=ids))
            for who, p in w.callers(role, world)
        ]

    if role != "suspended":
        return asked()
    with w.suspended(world):
        return asked()
