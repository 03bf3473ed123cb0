"""The crash test's other process: it makes changes in the shared database file the way the
API does, through the services, in transactions of their own.

    python -m handover.notifications.tests.crash_actor setup URL   # prints ids and the secret
    python -m handover.notifications.tests.crash_actor restart     # a new worker, later on
"""

import json
import os
import sys


def setup(url: str) -> dict:
    """Migrate, make a seller with a webhook and a buyer, and pay an order: the payment's
    mail and webhook call are committed with it. Then a send is enqueued for the worker."""
    from django.core.management import call_command

    from handover.accounts.services import user_create
    from handover.notifications.services import webhook_create
    from handover.notifications.tasks import outbox_send_enqueue_if_due
    from handover.offers.services import OfferFields, offer_create
    from handover.orders import services as orders

    call_command("migrate", verbosity=0)
    seller = user_create(
        username="crash-seller", password="x" * 12, email="s@example.com", verified=True
    )
    buyer = user_create(
        username="crash-buyer", password="x" * 12, email="b@example.com", verified=True
    )
    webhook = webhook_create(owner=seller, url=url, events=["order.transition"])
    fields = OfferFields(
        title="Logo",
        description="",
        price=1000,
        currency="EUR",
        delivery_days=1,
        revisions=0,
        terms="Terms.",
        requirements=[],
        requires_acceptance=False,
    )
    offer = offer_create(seller=seller, fields=fields)
    order = orders.order_place(buyer=buyer, offer_id=offer.pk, answers=[])
    orders.order_pay(order_id=order.pk, user=buyer)
    return {
        "order_id": order.pk,
        "secret": webhook.secret,
        "enqueued": outbox_send_enqueue_if_due(),
    }


def restart() -> dict:
    """Later on: the pending rows' claim lease has run out (the clock is moved instead of
    waiting five minutes), the scheduler's tick enqueues a send, and a new worker runs what
    is queued (``handover worker --batch``)."""
    from django.core.management import call_command
    from django.utils import timezone

    from handover.notifications.models import Outbox, OutboxState
    from handover.notifications.tasks import outbox_send_enqueue_if_due

    moved = Outbox.objects.filter(state=OutboxState.PENDING).update(next_attempt_at=timezone.now())
    enqueued = outbox_send_enqueue_if_due()
    call_command("worker", batch=True, verbosity=0)
    return {"moved": moved, "enqueued": enqueued}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "handover.notifications.tests.crash_settings")
    import django

    django.setup()
    command, *args = sys.argv[1:]
    result = setup(*args) if command == "setup" else restart()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
