"""Card payments: an order's API lifecycle with the ``stripe`` provider against localstripe,
against the same lifecycle with the ``test`` provider, in the same run; and the webhook
endpoint's time for a ``payment_intent.succeeded``.

    .venv/bin/python bench/stripe.py              60 lifecycles of each (about 1 minute)
    .venv/bin/python bench/stripe.py --quick      10 of each: shows that every part works

One process, ``django.test.Client`` through the whole WSGI handler (as ``bench/run.py``'s
inproc mode), SQLite on a fresh data directory, localstripe on 127.0.0.1 behind the test
boundary (``handover.testing.stripe``). A lifecycle is the calls Handover answers: place, pay,
(stripe only) the signed ``payment_intent.succeeded`` webhook, deliver (1 KiB), accept. The
buyer's card confirmation goes from the browser to Stripe, not through Handover, and the
second localstripe waits before sending its webhook are not Handover's either: both are left
out of the lifecycle's time (the confirmation is shown on its own). The two kinds of
lifecycle alternate in batches, so the machine's load falls on both alike.

Prints one markdown table and exits 0.
"""

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# In place of this script's folder, where this file would hide the ``stripe`` SDK.
sys.path[0] = str(ROOT)

BATCH = 10  # stripe lifecycles whose webhooks are awaited together


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def start_stripe(data_dir: Path):
    """localstripe on a free port, its webhooks caught, behind the boundary server."""
    from handover.testing.stripe import WebhookCatcher, free_port
    from handover.testing.stripe_boundary import StripeBoundary
    from handover.testing.stripe_js import ROUTES

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "handover.testing.localstripe_server", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=data_dir,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/js.stripe.com/v3/", timeout=2).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("localstripe did not start") from None
            time.sleep(0.1)
    catcher = WebhookCatcher()
    secret = "whsec_bench" + uuid.uuid4().hex
    register = urllib.request.Request(
        f"{url}/_config/webhooks/bench",
        data=urllib.parse.urlencode({"url": catcher.url, "secret": secret}).encode(),
        method="POST",
    )
    urllib.request.urlopen(register, timeout=5).close()
    return process, StripeBoundary(url, list(ROUTES)), catcher, secret


def setup(data_dir: Path) -> None:
    os.environ["HANDOVER_DATA_DIR"] = str(data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "handover.settings"
    os.environ.setdefault("HANDOVER_ALLOWED_HOSTS", "127.0.0.1,testserver")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    logging.getLogger("handover").setLevel(logging.WARNING)  # one INFO line per webhook


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--count", type=int, default=60)
    args = parser.parse_args()
    count = 10 if args.quick else args.count
    data_dir = Path(tempfile.mkdtemp(prefix="bench-stripe-"))
    setup(data_dir)
    process, boundary, catcher, secret = start_stripe(data_dir)
    try:
        results = measure(count, boundary.url, catcher, secret)
    finally:
        process.terminate()
        process.wait(timeout=10)
    report(results, count)


def measure(count: int, api_base: str, catcher, secret: str) -> dict:
    from django.conf import settings
    from django.test import Client

    from handover.accounts.services import token_create, user_create
    from handover.offers.services import OfferFields, offer_create
    from handover.payments.stripe_client import stripe_client

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HANDOVER_STRIPE_SECRET_KEY = "sk_test_bench"
    settings.HANDOVER_STRIPE_PUBLISHABLE_KEY = "pk_test_bench"
    settings.HANDOVER_STRIPE_WEBHOOK_SECRET = secret
    settings.HANDOVER_STRIPE_API_BASE = api_base
    seller = user_create(
        username="bench-seller", password="bench-password-1", email="s@example.com", verified=True
    )
    buyer = user_create(
        username="bench-buyer", password="bench-password-1", email="b@example.com", verified=True
    )
    fields = OfferFields(
        title="Bench offer",
        description="",
        price=10000,
        currency="EUR",
        delivery_days=3,
        revisions=1,
        terms="Bench terms.",
        requirements=["Brief?"],
    )
    offer_id = offer_create(seller=seller, fields=fields).pk
    auth = {"buyer": f"Bearer {token_create(user=buyer)}"}
    auth["seller"] = f"Bearer {token_create(user=seller)}"
    client = Client(SERVER_NAME="127.0.0.1")

    def post(who: str, path: str, expect: int, body=None, form=None) -> tuple[dict, float]:
        headers = {"Authorization": auth[who], "Idempotency-Key": uuid.uuid4().hex}
        start = time.perf_counter()
        if form is not None:
            response = client.post(f"/api/v1{path}", form, headers=headers)
        else:
            response = client.post(
                f"/api/v1{path}",
                json.dumps(body or {}),
                content_type="application/json",
                headers=headers,
            )
        took = time.perf_counter() - start
        assert response.status_code == expect, (path, response.status_code, response.content)
        return response.json(), took

    steps: dict[str, dict[str, list[float]]] = {"test": {}, "stripe": {}}

    def step(provider: str, name: str, took: float) -> float:
        steps[provider].setdefault(name, []).append(took * 1000)
        return took

    def start(provider: str) -> tuple[int, dict, float]:
        settings.HANDOVER_PAYMENT_PROVIDER = provider
        order, placed = post("buyer", "/orders", 201, {"offer_id": offer_id, "answers": ["A."]})
        paid, pay_s = post("buyer", f"/orders/{order['id']}/pay", 200)
        return order["id"], paid, step(provider, "place", placed) + step(provider, "pay", pay_s)

    def finish(provider: str, order_id: int) -> float:
        from django.core.files.uploadedfile import SimpleUploadedFile

        work = SimpleUploadedFile("work.txt", os.urandom(512).hex().encode())
        _, deliver_s = post("seller", f"/orders/{order_id}/deliveries", 201, form={"files": work})
        _, accept_s = post("buyer", f"/orders/{order_id}/accept", 200)
        return step(provider, "deliver", deliver_s) + step(provider, "accept", accept_s)

    intents = stripe_client().v1.payment_intents
    card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}
    test_s: list[float] = []
    stripe_s: list[float] = []
    webhook_ms: list[float] = []
    confirm_ms: list[float] = []
    while len(stripe_s) < count:
        batch = min(BATCH, count - len(stripe_s))
        for _ in range(batch):  # the test provider: captured at once
            order_id, _, took = start("test")
            test_s.append(took + finish("test", order_id))
        started = []
        for _ in range(batch):
            order_id, paid, took = start("stripe")
            begin = time.perf_counter()
            method = stripe_client().v1.payment_methods.create(
                params={"type": "card", "card": card}
            )
            intents.update(paid["payment_reference"], params={"payment_method": method.id})
            intents.confirm(paid["payment_reference"])
            confirm_ms.append((time.perf_counter() - begin) * 1000)
            started.append((order_id, paid["payment_reference"], took))
        for order_id, intent_id, took in started:
            delivery = catcher.wait_for("payment_intent.succeeded", intent_id)
            begin = time.perf_counter()
            response = client.post(
                "/api/v1/payments/stripe/webhook",
                delivery.body,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=delivery.signature,
            )
            hook = time.perf_counter() - begin
            assert response.json()["result"] == "applied", response.content
            webhook_ms.append(hook * 1000)
            stripe_s.append(took + hook + finish("stripe", order_id))
    return {
        "test": test_s,
        "stripe": stripe_s,
        "webhook": webhook_ms,
        "confirm": confirm_ms,
        "steps": steps,
    }


def report(r: dict, count: int) -> None:
    test_ms = statistics.median(r["test"]) * 1000
    stripe_ms = statistics.median(r["stripe"]) * 1000
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"# bench/stripe.py, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {' '.join(load)}")
    print(f"{count} lifecycles of each, SQLite, one process\n")
    print("| measure | figure |")
    print("|---|---:|")
    print(f"| lifecycle (place, pay, deliver, accept), `test`, median | {test_ms:.1f} ms |")
    steps = "place, pay, webhook, deliver, accept"
    print(f"| lifecycle ({steps}), `stripe`, median | {stripe_ms:.1f} ms |")
    print(f"| ratio stripe / test | {stripe_ms / test_ms:.2f}x |")
    print(
        f"| lifecycle p99, test / stripe | {percentile(r['test'], 99) * 1000:.1f} ms / "
        f"{percentile(r['stripe'], 99) * 1000:.1f} ms |"
    )
    print(
        f"| webhook payment_intent.succeeded p50 / p99 | {percentile(r['webhook'], 50):.1f} ms / "
        f"{percentile(r['webhook'], 99):.1f} ms |"
    )
    for name in ("place", "pay", "deliver", "accept"):
        test_p50 = statistics.median(r["steps"]["test"][name])
        stripe_p50 = statistics.median(r["steps"]["stripe"][name])
        print(f"| {name} p50, test / stripe | {test_p50:.1f} ms / {stripe_p50:.1f} ms |")
    print(
        f"| the buyer's card confirmation at localstripe (not Handover's), median | "
        f"{statistics.median(r['confirm']):.1f} ms |"
    )


if __name__ == "__main__":
    main()
