"""The preview crash test's other process: it changes the shared database file the way the
API and the scheduler do, through the services, in transactions of their own.

    python -m handover.delivery.tests.preview_crash_actor setup   # a delivered order
    python -m handover.delivery.tests.preview_crash_actor later   # the sweeps, then a worker
"""

import json
import os
import sys
from datetime import timedelta


def setup() -> dict:
    """Migrate, then a paid order delivered with one text file: its preview task is queued
    with the delivery, for the worker the test starts."""
    from django.core.files.storage import default_storage
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command

    from handover.accounts.services import user_create
    from handover.delivery.services import order_deliver
    from handover.offers.services import OfferFields, offer_create
    from handover.orders import services as orders

    call_command("migrate", verbosity=0)
    seller = user_create(
        username="crash-seller", password="x" * 12, email="s@example.com", verified=True
    )
    buyer = user_create(
        username="crash-buyer", password="x" * 12, email="b@example.com", verified=True
    )
    fields = OfferFields(
        title="Copywriting",
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
    text = "".join(f"Line {n} of the article.\n" for n in range(200)).encode()
    delivery = order_deliver(
        order_id=order.pk,
        user=seller,
        text="Here it is",
        files=[SimpleUploadedFile("article.txt", text)],
    )
    file = delivery.files.get()
    return {
        "order_id": order.pk,
        "file_id": file.pk,
        "path": default_storage.path(file.storage_key),
    }


def later() -> dict:
    """Past the auto-complete window and past the killed attempt's lease (the clock's moves
    are written into the rows instead of waited for): the timer sweep, the stalled-preview
    sweep, then a new worker runs what is queued (``handover worker --batch``)."""
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from handover.delivery.models import DeliveryFile
    from handover.delivery.previewing import previews_resume_stalled
    from handover.delivery.tasks import preview_enqueue
    from handover.ops.timers import timers_run_due
    from handover.orders.models import Order

    past = timezone.now() - timedelta(seconds=1)
    Order.objects.update(timer_at=past)
    held = timers_run_due()
    DeliveryFile.objects.update(preview_lease_until=past)
    resumed = previews_resume_stalled(enqueue=preview_enqueue)
    call_command("worker", batch=True, verbosity=0)
    order = Order.objects.get()
    file = DeliveryFile.objects.get()
    assert order.timer_at is not None
    window = (order.timer_at - timezone.now()) / settings.HANDOVER_AUTO_COMPLETE_AFTER
    return {
        "held": held,
        "resumed": resumed,
        "state": order.state,
        "preview_hold": order.preview_hold,
        "window_left": round(window, 2),
        "preview": [file.preview_state, file.preview_attempts, file.preview_reason],
        "after": timers_run_due(),
    }


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "handover.settings")
    import django

    django.setup()
    command = sys.argv[1]
    print(json.dumps(setup() if command == "setup" else later()))


if __name__ == "__main__":
    main()
