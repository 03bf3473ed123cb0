"""The admin shows deliveries and their files; it never changes them."""

from django.test import Client

from handover.accounts.models import Role
from handover.delivery.models import DeliveryFile
from handover.orders.rules import State
from handover.testing.actors import make_user
from handover.testing.factories import order_in_state


def test_an_operator_cannot_rewrite_a_delivered_files_kind_or_preview_in_the_admin(
    buyer, seller, support
):
    order = order_in_state(State.DELIVERED, buyer=buyer, seller=seller, support=support)
    delivery = order.deliveries.get()
    file = delivery.files.get()
    before = DeliveryFile.objects.values().get(pk=file.pk)
    operator = Client()
    operator.force_login(make_user("operator", Role.OPERATOR))
    page = f"/admin/delivery/delivery/{delivery.pk}/change/"

    r = operator.post(
        page,
        {
            "files-TOTAL_FORMS": "1",
            "files-INITIAL_FORMS": "1",
            "files-MIN_NUM_FORMS": "0",
            "files-MAX_NUM_FORMS": "1000",
            "files-0-id": str(file.pk),
            "files-0-delivery": str(delivery.pk),
            "files-0-kind": "archive",
            "files-0-preview_state": "failed",
            "files-0-preview_reason": "Edited by hand.",
            "files-0-preview_info": "{}",
        },
    )

    assert r.status_code == 403
    assert DeliveryFile.objects.values().get(pk=file.pk) == before
    assert operator.get(page).status_code == 200  # still shown, read-only
