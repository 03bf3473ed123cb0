from handover.orders import services
from handover.orders.rules import State
from handover.testing.factories import make_offer


def test_asking_to_pay_again_by_transfer_shows_the_same_reference(settings, seller, buyer):
    settings.HANDOVER_PAYMENT_PROVIDER = "manual"
    order = services.order_place(buyer=buyer, offer_id=make_offer(seller).pk, answers=["a", "b"])
    first = services.order_pay(order_id=order.pk, user=buyer)
    second = services.order_pay(order_id=order.pk, user=buyer)
    order.refresh_from_db()
    assert order.state == State.PENDING_PAYMENT
    assert order.payment_reference.startswith(f"HOV-{order.pk}-")
    assert first["instructions"] == second["instructions"]
    assert order.payment_reference in first["instructions"]
