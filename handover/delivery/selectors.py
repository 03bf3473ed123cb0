from handover.accounts.models import User
from handover.delivery.models import DeliveryFile
from handover.lib.errors import NotFound
from handover.orders.rules import Action, Actor, State
from handover.orders.selectors import order_read
from handover.orders.services import order_check, role_of


def delivery_precheck(*, order_id: int, user: User) -> None:
    """Raise what ``order_deliver`` would, before the upload's bytes are read. The service
    checks again under the order's lock: this only spares storing a refused upload."""
    order = order_read(order_id)
    if order is None:
        raise NotFound("No such order.")
    actor = role_of(order, user)
    order_check(order=order, action=Action.DELIVER, actor=actor, target=State.DELIVERED)


def file_for(*, file_id: int, user: User) -> tuple[DeliveryFile, Actor]:
    """A delivered file and how ``user`` takes part in its order; strangers get 404."""
    file = DeliveryFile.objects.select_related("delivery__order__buyer").filter(pk=file_id).first()
    if file is None:
        raise NotFound("No such file.")
    try:
        actor = role_of(file.delivery.order, user)
    except NotFound:
        raise NotFound("No such file.") from None
    return file, actor
