"""The OpenAPI document a client is generated from: valid, and every refusal in it."""

import ast
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from handover.api.errors import CODES
from handover.api.tests.authz_table import API
from handover.lib.errors import HandoverError

PREFIX = "/api/v1"


@pytest.fixture
def document(client) -> dict:
    response = client.get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200
    return response.json()


def _operations(document: dict):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield f"{method.upper()} {path}", operation


def test_the_served_document_is_valid_openapi(document):
    validate(document)


def test_each_operation_has_an_id_of_its_own(document):
    ids = [operation["operationId"] for _key, operation in _operations(document)]
    assert len(ids) == len(set(ids))


def test_every_operation_documents_each_refusal_the_authorization_table_shows(document):
    documented = {key: set(op["responses"]) for key, op in _operations(document)}
    missing = []
    for key, expected in API.items():
        method, path = key.split(" ", 1)
        if not path.startswith(PREFIX) or f"{method} {path}" not in documented:
            continue  # the documents themselves, and the root (no operation)
        outcomes = set(expected.roles.values())
        outcomes |= {o for by_role in expected.states.values() for o in by_role.values()}
        refused = {str(o) for o in outcomes if isinstance(o, int) and 400 <= o < 500}
        missing += [f"{key}: {status}" for status in sorted(refused - documented[key])]
    assert missing == []


def test_every_route_answers_only_refusals_of_the_error_schema_with_their_codes(document):
    for key, operation in _operations(document):
        refusals = {s: r for s, r in operation["responses"].items() if s.startswith(("4", "5"))}
        for status, response in refusals.items():
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorOut"}, key
            assert all(f"`{code}`" in response["description"] for code in CODES[int(status)])
    assert set(document["components"]["schemas"]["ErrorOut"]["required"]) == {"error", "detail"}


def test_the_routes_that_ask_the_payment_provider_document_its_silence(document):
    # Paying starts a PaymentIntent at Stripe, abandoning cancels it: each may answer 503.
    for action in ("pay", "abandon"):
        operation = document["paths"][f"{PREFIX}/orders/{{order_id}}/{action}"]["post"]
        unavailable = operation["responses"]["503"]
        assert "`provider_unavailable`" in unavailable["description"], action
        schema = unavailable["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorOut"}


def test_a_route_that_needs_a_token_documents_401_and_a_path_with_an_id_404(document):
    for key, operation in _operations(document):
        path = key.split(" ", 1)[1]
        if operation.get("security"):
            assert "401" in operation["responses"], key
        if "{" in path:
            assert "404" in operation["responses"], key


def _raised_codes() -> set[tuple[int, str]]:
    """(status, code) of every domain error the code raises with a written code, and of
    every error class's own code."""
    classes = {c.__name__: c for c in _subclasses(HandoverError)}
    found = {(c.status, c.code) for c in classes.values() if c is not HandoverError}
    root = Path(__file__).resolve().parents[2]
    for path in root.rglob("*.py"):
        if {"tests", "migrations"} & set(path.parts):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            code = next((k.value for k in node.keywords if k.arg == "code"), None)
            if name in classes and isinstance(code, ast.Constant):
                found.add((classes[name].status, str(code.value)))
    return found


def _subclasses(cls: type[HandoverError]) -> list[type[HandoverError]]:
    return [cls, *(s for sub in cls.__subclasses__() for s in _subclasses(sub))]


def test_the_documented_codes_name_every_code_the_code_raises():
    import handover.api.api  # noqa: F401  (every app's errors imported)

    missing = sorted((s, c) for s, c in _raised_codes() if c not in CODES.get(s, ()))
    assert missing == []
