"""Bounds on what a client sends, checked before it reaches the database or a recursive
parser: ids a key column can hold, and JSON no deeper than any of our inputs needs."""

import json
from typing import Annotated, Any

from pydantic import Field, StrictInt

from handover.lib.errors import InvalidInput

# Every key is a BigAutoField: a signed 64-bit column on SQLite and PostgreSQL alike. A larger
# number is nobody's id, and handed to the database driver it overflows (a 500).
MAX_ID = 2**63 - 1

# An id in a path or a query string, where "12" is how any number arrives.
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# An id in a JSON body: a JSON number, never "12", 12.0 or true.
StrictId = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]

# Our deepest input is an object of lists of objects; twenty levels leave room to grow, and
# keep whatever walks a value later (pydantic, canonical JSON, the evidence log) far from
# Python's recursion limit.
MAX_JSON_DEPTH = 20


def id_in_range(number: int) -> bool:
    return 1 <= number <= MAX_ID


class IdConverter:
    """The web's ``<id:...>`` URL part. Django's ``int`` takes any number of digits and hands
    2**64 to the database; a number no key can hold does not match here, so it is a 404."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not id_in_range(number):
            raise ValueError(f"{value} is no id")  # Django: the URL does not match
        return number

    def to_url(self, value: int) -> str:
        return str(value)


def json_parse(raw: str | bytes, *, max_size: int | None = None) -> Any:
    """``raw`` parsed as JSON, refused (400) when longer than ``max_size`` or nested deeper
    than ``MAX_JSON_DEPTH``. Malformed JSON raises ``ValueError``, as ``json.loads`` does."""
    if max_size is not None and len(raw) > max_size:
        raise InvalidInput(f"At most {max_size} characters of JSON.", code="too_long")
    try:
        value = json.loads(raw)
    except RecursionError:
        # The decoder counts its depth against the interpreter's limit: far past ours.
        raise _too_deep() from None
    json_depth_check(value)
    return value


def json_depth_check(value: Any) -> None:
    """Refuse a parsed value with lists or objects nested deeper than ``MAX_JSON_DEPTH``.
    Iterative, so that the check itself cannot run out of stack."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        if depth > MAX_JSON_DEPTH:
            raise _too_deep()
        pending.extend((child, depth + 1) for child in item)


def _too_deep() -> InvalidInput:
    return InvalidInput(
        f"JSON may be nested at most {MAX_JSON_DEPTH} levels deep.", code="too_deep"
    )
