"""Stripe for the tests: localstripe (PyPI) started by the test run on 127.0.0.1, the signed
webhooks it sends caught by a small receiver, and the boundary server that answers the parts
of Stripe's API localstripe lacks.

    def test_pay(stripe_account, client):  # settings point the app at the servers below
        ...
        delivery = stripe_account.webhooks.wait_for("payment_intent.succeeded", pi_id)
        stripe_account.deliver(client, delivery)

``HANDOVER_TEST_STRIPE_URL`` names a running localstripe to use instead of starting one.

localstripe does not implement Connect (accounts, account links, transfers), disputes or
file uploads. ``StripeBoundary`` answers those paths itself, with the request and response
shapes of Stripe's API reference (https://docs.stripe.com/api), and passes every other
request on to localstripe unchanged: a hand-written fake at the HTTP boundary only, for what
localstripe lacks. The routes are in ``testing.stripe_connect``, ``testing.stripe_disputes`` and
``testing.stripe_reconcile`` (the lists of transfers and disputes reconciliation reads).
"""

import hashlib
import hmac
import http.server
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from handover.payments.stripe_client import stripe_client
from handover.testing import (
    stripe_connect,
    stripe_disputes,
    stripe_js,
    stripe_reconcile,
    stripe_refunds,
)
from handover.testing.stripe_boundary import Route, StripeBoundary

WEBHOOK_PATH = "/api/v1/payments/stripe/webhook"
# localstripe declines 4000000000000002 only when it is attached to a customer; the card it
# declines at the charge is 4000000000000341 (Stripe: "attaching succeeds, charging fails").
GOOD_CARD, DECLINED_CARD = "4242424242424242", "4000000000000341"


def card_method(number: str = GOOD_CARD) -> str:
    """A PaymentMethod of a test card, as Stripe.js makes it from the card element."""
    card = stripe_client().v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2040, "cvc": "123"},
        }
    )
    return card.id


def buyer_confirms(intent_id: str, number: str = GOOD_CARD) -> str:
    """What Stripe.js does in the buyer's browser: the card onto the PaymentIntent, confirmed.
    The PaymentIntent's status after it (a declined card raises ``stripe.CardError``)."""
    intents = stripe_client().v1.payment_intents
    intents.update(intent_id, params={"payment_method": card_method(number)})
    return intents.confirm(intent_id).status or ""


def paid_intent(
    amount: int, currency: str, order_id: int | None = None, *, confirm: bool = True
) -> str:
    """A PaymentIntent at localstripe (of Handover's order ``order_id``, if given) with the
    good card on it, paid unless ``confirm`` is False."""
    metadata = {"handover_order": str(order_id)} if order_id is not None else {}
    intents = stripe_client().v1.payment_intents
    intent = intents.create(
        params={"amount": amount, "currency": currency.lower(), "metadata": metadata}
    )
    if confirm:
        assert buyer_confirms(intent.id) == "succeeded"
    else:
        intents.update(intent.id, params={"payment_method": card_method()})
    return intent.id


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Delivery:
    """One webhook request as Stripe (or localstripe) sent it."""

    body: bytes
    signature: str

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header for ``body``, as Stripe computes it."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), b"%d." % t + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


class WebhookCatcher:
    """A receiver on 127.0.0.1 for the webhooks localstripe sends; tests hand them on to the
    app's endpoint themselves (so a test decides when, how often and in which order)."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self._arrived = threading.Condition()
        catcher = self

        class Receive(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with catcher._arrived:
                    catcher.deliveries.append(Delivery(body, self.headers["Stripe-Signature"]))
                    catcher._arrived.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receive)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/"

    def wait_for(self, event_type: str, object_id: str, timeout: float = 15) -> Delivery:
        """The first delivery of ``event_type`` about ``object_id`` (localstripe sends a
        second after the change that makes it)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for delivery in self.deliveries:
                    event = delivery.event
                    if event["type"] == event_type and event["data"]["object"]["id"] == object_id:
                        return delivery
                left = deadline - time.monotonic()
                assert left > 0, f"no {event_type} webhook for {object_id} arrived"
                self._arrived.wait(left)


def _get(url: str) -> None:
    urllib.request.urlopen(url, timeout=2).close()


def _wait_ready(url: str, process: subprocess.Popen | None) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            _get(url + "/js.stripe.com/v3/")
            return
        except (OSError, urllib.error.URLError) as error:
            if process is not None and process.poll() is not None:
                raise RuntimeError("localstripe exited at start") from error
            if time.monotonic() > deadline:
                raise RuntimeError(f"localstripe did not answer at {url}") from error
            time.sleep(0.1)


@dataclass
class LocalStripe:
    url: str  # the API base the app is pointed at
    localstripe_url: str
    webhook_secret: str
    webhooks: WebhookCatcher
    boundary: "StripeBoundary"

    def deliver(self, client: Any, delivery: Delivery) -> Any:
        """Post a caught (or hand-made) delivery to the app's webhook endpoint."""
        return client.post(
            WEBHOOK_PATH,
            data=delivery.body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=delivery.signature,
        )

    def signed(self, event: dict[str, Any]) -> Delivery:
        """A delivery of a hand-made event (for what localstripe cannot send), signed with
        the endpoint's secret as Stripe signs it."""
        body = json.dumps(event).encode()
        return Delivery(body, sign(self.webhook_secret, body))

    def event(self, event_type: str, data_object: dict[str, Any]) -> dict[str, Any]:
        """An event in Stripe's shape (https://docs.stripe.com/api/events/object)."""
        return {
            "id": "evt_" + secrets.token_hex(12),
            "object": "event",
            "api_version": "2025-01-27.acacia",
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
            "data": {"object": data_object},
        }


def _routes() -> list[Route]:
    # stripe_reconcile last: it lists what the others create, and yields to their routes.
    return [
        *stripe_connect.ROUTES,
        *stripe_disputes.ROUTES,
        *stripe_js.ROUTES,
        *stripe_refunds.ROUTES,
        *stripe_reconcile.ROUTES,
    ]


@pytest.fixture(scope="session")
def localstripe() -> Iterator[LocalStripe]:
    """localstripe, its webhooks caught, behind the boundary server; one per test run."""
    url = os.environ.get("HANDOVER_TEST_STRIPE_URL", "").rstrip("/")
    process = None
    if not url:
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "handover.testing.localstripe_server", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process)
        catcher = WebhookCatcher()
        secret = "whsec_" + secrets.token_hex(16)
        register = urllib.request.Request(
            f"{url}/_config/webhooks/handover-tests",
            data=urllib.parse.urlencode({"url": catcher.url, "secret": secret}).encode(),
            method="POST",
        )
        urllib.request.urlopen(register, timeout=5).close()
        boundary = StripeBoundary(url, _routes())
        yield LocalStripe(boundary.url, url, secret, catcher, boundary)
        boundary.server.shutdown()
        catcher.server.shutdown()
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture
def stripe_account(settings, localstripe: LocalStripe) -> LocalStripe:
    """The app set to take payments through Stripe, at the test servers."""
    settings.HANDOVER_PAYMENT_PROVIDER = "stripe"
    settings.HANDOVER_STRIPE_SECRET_KEY = "sk_test_handover"
    settings.HANDOVER_STRIPE_PUBLISHABLE_KEY = "pk_test_handover"
    settings.HANDOVER_STRIPE_WEBHOOK_SECRET = localstripe.webhook_secret
    settings.HANDOVER_STRIPE_API_BASE = localstripe.url
    return localstripe
