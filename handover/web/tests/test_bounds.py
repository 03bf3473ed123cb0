"""An id in a page's URL is a number a key column can hold; any other number is a 404 before a
view runs (Django's ``int`` would hand 2**64 to the database driver)."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from handover.lib.bounds import MAX_ID, IdConverter

OUT_OF_RANGE = ["0", str(MAX_ID + 1), str(2**64), "9" * 30]


def web_routes() -> list[URLPattern]:
    """Every page's route (the admin has its own URLs, the API its own checks)."""
    found: list[URLPattern] = []
    pending: list = [p for p in get_resolver().url_patterns if not _is_other(p)]
    while pending:
        item = pending.pop()
        if isinstance(item, URLResolver):
            pending.extend(item.url_patterns)
        else:
            found.append(item)
    return found


def _is_other(pattern) -> bool:
    return str(pattern.pattern).startswith(("admin/", "api/"))


def routes_with_ids() -> list[str]:
    return sorted(str(p.pattern) for p in web_routes() if getattr(p.pattern, "converters", None))


def test_every_number_in_a_page_url_is_an_id():
    assert routes_with_ids(), "no page takes an id?"
    for pattern in web_routes():
        for name, converter in getattr(pattern.pattern, "converters", {}).items():
            assert isinstance(converter, IdConverter), (str(pattern.pattern), name)


@pytest.mark.parametrize("route", routes_with_ids())
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_number_no_id_can_be_is_a_404_on_every_page(client, seller, route, method):
    client.force_login(seller)
    client.raise_request_exception = False
    for number in OUT_OF_RANGE:
        url = "/" + re.sub(r"<\w+:\w+>", number, route)

        response = getattr(client, method)(url)

        assert response.status_code == 404, (url, response.status_code)
