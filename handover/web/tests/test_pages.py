"""Every page: Django's CSP header, and nothing inline that the policy would have to allow."""

import re

import pytest
from django.conf import settings
from django.utils.csp import CSP

from handover.orders.rules import State
from handover.testing.factories import order_in_state

INLINE = [
    (r"<script(?![^>]*\ssrc=)[^>]*>", "an inline <script>"),
    (r"<style[\s>]", "a <style> element"),
    (r"\sstyle=", "a style attribute"),
    (r"\son[a-z]+=", "an event handler attribute"),
    (r"(?:src|href)=\"(?:https?:)?//", "a file from another host"),
]


@pytest.fixture
def pages(buyer, seller, support, offer):
    order = order_in_state(State.DELIVERED, buyer=buyer, seller=seller, support=support)
    working = order_in_state(State.IN_PROGRESS, buyer=buyer, seller=seller, support=support)
    waiting = order_in_state(State.AWAITING_ACCEPTANCE, buyer=buyer, seller=seller, support=support)
    requested = order_in_state(
        State.CANCELLATION_REQUESTED, buyer=buyer, seller=seller, support=support
    )
    delivery = order.deliveries.get()
    return {
        seller: [
            "/sales/",
            "/offers/mine/",
            "/offers/new/",
            f"/offers/{offer.pk}/",
            f"/offers/{offer.pk}/edit/",
            f"/orders/{waiting.pk}/",
            f"/orders/{waiting.pk}/decline-order/",
            f"/orders/{working.pk}/deliver/",
            f"/orders/{order.pk}/",
            f"/orders/{order.pk}/deliveries/{delivery.pk}/release/",
            f"/orders/{requested.pk}/accept-cancellation/",
            f"/orders/{requested.pk}/decline-cancellation/",
        ],
        None: ["/", f"/offers/{offer.pk}/", "/login/", "/signup/", "/no-such-page/"],
        buyer: [
            f"/offers/{offer.pk}/order/",
            "/orders/",
            f"/orders/{order.pk}/",
            f"/orders/{order.pk}/accept/",
            f"/orders/{order.pk}/request-revision/",
            f"/orders/{order.pk}/request-cancellation/",
            f"/orders/{order.pk}/open-dispute/",
            f"/orders/{requested.pk}/",
            "/account/password/",
        ],
    }


def test_every_page_has_the_policy_and_nothing_inline(client, pages):
    policy = CSP.HEADER_ENFORCE.value
    for user, paths in pages.items():
        if user is not None:
            client.force_login(user)
        else:
            client.logout()
        for path in paths:
            response = client.get(path)
            assert response.status_code in (200, 404), path
            assert response[policy].startswith("default-src 'self'; script-src 'self'"), path
            html = response.content.decode()
            for pattern, what in INLINE:
                assert not re.search(pattern, html), f"{path} has {what}"


def test_the_policy_allows_only_our_own_files():
    assert settings.SECURE_CSP["default-src"] == [CSP.SELF]
    for directive in ("script-src", "style-src", "img-src"):
        assert settings.SECURE_CSP[directive] == [CSP.SELF]
    assert settings.SECURE_CSP["frame-ancestors"] == [CSP.NONE]


def test_a_delivered_files_own_policy_is_kept(client, buyer, seller, support):
    """The file responses set a stricter policy of their own; the middleware leaves it."""
    from handover.accounts.services import token_create

    order = order_in_state(State.COMPLETED, buyer=buyer, seller=seller, support=support)
    file = order.deliveries.get().files.get()
    token = token_create(user=buyer)
    response = client.get(
        f"/api/v1/files/{file.pk}/original", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert response[CSP.HEADER_ENFORCE.value] == "default-src 'none'; sandbox"
