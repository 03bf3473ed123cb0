from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from handover.accounts.models import User
from handover.delivery.models import Delivery, DeliveryFile
from handover.lib.errors import NotFound
from handover.orders.models import Attachment, Order
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


def attachment_for(*, attachment_id: int, order_id: int, user: User) -> tuple[Attachment, Actor]:
    """A reference file of an order and how ``user`` takes part in it; strangers get 404.
    Both parties and support read it whole at once: it is the buyer's own file."""
    attachment = (
        Attachment.objects.select_related("order")
        .filter(pk=attachment_id, order_id=order_id)
        .first()
    )
    if attachment is None:
        raise NotFound("No such file.")
    try:
        actor = role_of(attachment.order, user)
    except NotFound:
        raise NotFound("No such file.") from None
    return attachment, actor


@dataclass(frozen=True)
class Ticked:
    """A delivered file the seller said answers a requirement, with the note on the tick."""

    file: DeliveryFile
    delivery: Delivery
    number: int  # the delivery's place on the order, from 1
    note: str


@dataclass(frozen=True)
class RequirementDelivered:
    index: int  # from 0, as the checklist numbers requirements
    question: str
    answer: str
    delivered: list[Ticked]


def requirements_delivered(
    order: Order, deliveries: Iterable[Delivery]
) -> list[RequirementDelivered]:
    """Each requirement item of ``order`` beside the files the seller ticked for it in each
    delivery. ``deliveries`` are the order's, oldest first, with ``checklist__files``
    prefetched."""
    ticked: dict[int, list[Ticked]] = defaultdict(list)
    for number, delivery in enumerate(deliveries, start=1):
        for tick in delivery.checklist.all():
            ticked[tick.requirement].extend(
                Ticked(file, delivery, number, tick.note) for file in tick.files.all()
            )
    return [
        RequirementDelivered(index, item.get("question", ""), item.get("answer", ""), ticked[index])
        for index, item in enumerate(order.requirements)
    ]
