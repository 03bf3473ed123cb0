"""The people and orders the authorization table is checked against, and one request made
as one of them.

One buyer and one seller share an order in each ``State``, reached through the services; a
stranger, a support agent and an operator have no part in any. Every request runs in a
savepoint that is rolled back, so a request that is allowed (a payment, a cancellation)
leaves the order as it was for the next one, and the orders are built once.
"""

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from axes.models import AccessFailureLog
from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.http.response import HttpResponseBase
from django.test import Client
from django.urls import reverse

from handover.accounts.models import Role, User
from handover.accounts.services import token_create
from handover.api.tests.authz_table import DONE, LOGIN, REFUSED, Expected, Outcome
from handover.billing.chargebacks import chargeback_outcome_record, chargeback_record
from handover.delivery.models import Delivery
from handover.delivery.previewing import preview_make
from handover.delivery.services import order_deliver
from handover.delivery.tasks import preview_make_task
from handover.delivery.uploads import UploadSession, files_ingest
from handover.disputes.models import Dispute
from handover.disputes.services import dispute_decide, dispute_open, support_note_add
from handover.notifications.services import webhook_create
from handover.offers.models import Offer
from handover.orders import cancellation, services
from handover.orders.models import Order
from handover.orders.rules import State
from handover.payments.models import ProviderRefund
from handover.testing.actors import PASSWORD, make_user
from handover.testing.factories import make_offer, order_in_state
from handover.testing.files import png_bytes
from handover.trust.services import report_create

# The roles whose requests are made as one user each.
PEOPLE = ("stranger", "buyer", "seller", "support", "operator")
# A suspended account keeps the token and session it had; each of these is suspended in
# turn, so that a refusal cannot come from the role alone (an operator may see everything).
SUSPENDED = ("buyer", "seller", "operator")
_PLACEHOLDER = re.compile(r"^\{(\w+)\}$")
_ADMIN_MODEL = re.compile(r"^/admin/(?P<app>\w+)/(?P<model>\w+)/")


@dataclass
class Person:
    user: User
    token: str
    session: str


@dataclass
class World:
    people: dict[str, Person]
    ids: dict[str, Any]  # what every route may name: the offer, a user, a report...
    orders: dict[State, dict[str, int]] = field(default_factory=dict)  # per state: its ids
    storage: Path | None = None  # where its files are stored
    # One client for every request: a new one loads the middleware again, and WhiteNoise's
    # scan of the static files then takes 95 % of a request's time.
    client: Client = field(default_factory=lambda: Client(raise_request_exception=False))

    def ids_in(self, state: State | None) -> dict[str, Any]:
        return {**self.ids, **(self.orders[state] if state else {})}

    def ids_for(self, template: str, state: State | None) -> dict[str, Any]:
        """The ids a route names; an admin page of a model gets that model's first row."""
        ids = self.ids_in(state)
        found = _ADMIN_MODEL.match(template)
        model = apps.all_models.get(found["app"], {}).get(found["model"]) if found else None
        if model is not None:
            ids["object_id"] = model._default_manager.order_by("pk").values_list("pk", flat=True)[0]
        return ids


def world_build() -> World:
    """The people, then an order in each state, reached through the services."""
    people = {name: _person(name) for name in PEOPLE}
    buyer, seller = people["buyer"].user, people["seller"].user
    offer = make_offer(seller)
    world = World(
        people=people,
        ids={
            "offer_id": offer.pk,
            "user_id": seller.pk,  # the one a buyer reports, or looks up
            "buyer": buyer.username,
            "password": PASSWORD,
            "webhook_id": webhook_create(owner=buyer, url="https://example.com/h", events=[]).pk,
        },
    )
    for state, build in _BUILDERS.items():
        order_id = build(world, offer)
        world.orders[state] = _order_ids(order_id)
        world.orders[state]["attachment_id"] = _reference_file(world, order_id)
    world.ids["report_id"] = report_create(
        reporter=people["stranger"].user, subject_id=seller.pk, reason="spam", text=""
    ).pk
    # A refund the (test) provider sent at once: there is nothing to retry.
    world.ids["refund_id"] = ProviderRefund.objects.order_by("pk").values_list("pk", flat=True)[0]
    _admin_rows(world)
    return world


def _admin_rows(world: World) -> None:
    """A row of every model the admin shows that the orders did not make, and the ids of
    the admin's other pages."""
    disputed = world.orders[State.DISPUTED]
    support, buyer = world.people["support"].user, world.people["buyer"].user
    support_note_add(dispute_id=disputed["dispute_id"], user=support, text="Compare the files.")
    services.message_post(order_id=disputed["order_id"], user=buyer, text="Hello.")
    preview_make_task.enqueue(disputed["file_id"])  # a task row; no worker runs it here
    for password in (PASSWORD, "wrong-password"):  # a good and a failed sign-in, for axes
        Client().post(
            "/api/v1/auth/token",
            {"username": buyer.username, "password": password},
            content_type="application/json",
        )
    # Kept only with AXES_ENABLE_ACCESS_FAILURE_LOG, which this deployment leaves off.
    AccessFailureLog.objects.create(username=buyer.username, ip_address="127.0.0.1")
    world.ids.update(
        content_type_id=ContentType.objects.get_for_model(Order).pk,
        object_id=disputed["order_id"],
        app_label="orders",
        url="nowhere/",
        id=buyer.pk,
    )


def _person(name: str) -> Person:
    role = {"support": Role.SUPPORT, "operator": Role.OPERATOR}.get(name, Role.MEMBER)
    user = make_user(name, role)
    client = Client()
    client.force_login(user)
    return Person(user, token_create(user=user), client.cookies[settings.SESSION_COOKIE_NAME].value)


def _reference_file(world: World, order_id: int) -> int:
    """A photo the buyer sent in the order's chat (stored as an upload stores it)."""
    session = UploadSession(order_id=order_id, folder=f"references/{order_id}")
    [stored] = files_ingest(session, [SimpleUploadedFile("shop.png", png_bytes(32, 24))])
    buyer = world.people["buyer"].user
    message = services.message_post(order_id=order_id, user=buyer, text="Ours.", files=[stored])
    return message.attachments.get().pk


def _order_ids(order_id: int) -> dict[str, int]:
    ids = {"order_id": order_id}
    delivery = Delivery.objects.filter(order_id=order_id).first()
    if delivery is not None:
        ids["delivery_id"] = delivery.pk
        ids["file_id"] = delivery.files.get().pk
    dispute = Dispute.objects.filter(order_id=order_id).first()
    if dispute is not None:
        ids["dispute_id"] = dispute.pk
    return ids


Build = Callable[[World, Offer], int]  # the id of an order it made
Step = Callable[[World, int], None]


def _reached(world: World, state: State, offer: Offer | None) -> int:
    people = world.people
    return order_in_state(
        state,
        buyer=people["buyer"].user,
        seller=people["seller"].user,
        support=people["support"].user,
        offer=offer,
    ).pk


def _early(state: State) -> Build:
    def build(world: World, offer: Offer) -> int:
        # Awaiting acceptance: a fresh offer of the seller's that asks for it.
        return _reached(world, state, None if state == State.AWAITING_ACCEPTANCE else offer)

    return build


def _delivered(world: World, offer: Offer) -> int:
    """Delivered with a picture whose preview is made, so previews can be asked for."""
    order_id = _reached(world, State.IN_PROGRESS, offer)
    work = SimpleUploadedFile("work.png", png_bytes(64, 48))
    seller = world.people["seller"].user
    delivery = order_deliver(order_id=order_id, user=seller, text="Done", files=[work])
    preview_make(file_id=delivery.files.get().pk)
    return order_id


def _then(*steps: Step) -> Build:
    """A delivered order, then each step as ``step(world, order_id)``."""

    def build(world: World, offer: Offer) -> int:
        order_id = _delivered(world, offer)
        for step in steps:
            step(world, order_id)
        return order_id

    return build


def _buyer_asks_revision(world: World, order_id: int) -> None:
    services.order_request_revision(order_id=order_id, user=_buyer(world), text="Bluer.")


def _buyer_asks_cancellation(world: World, order_id: int) -> None:
    cancellation.order_request_cancellation(
        order_id=order_id, user=_buyer(world), text="Not what I need.", refund=1000
    )


def _buyer_disputes(world: World, order_id: int) -> None:
    dispute_open(order_id=order_id, user=_buyer(world), text="Not as asked.")


def _support_refunds(world: World, order_id: int) -> None:
    dispute = Dispute.objects.get(order_id=order_id)
    dispute_decide(
        dispute_id=dispute.pk,
        user=world.people["support"].user,
        outcome="refund",
        refund=None,
        text="Read the evidence.",
    )


def _buyer_accepts(world: World, order_id: int) -> None:
    services.order_accept(order_id=order_id, user=_buyer(world))


def _support_records_a_chargeback(world: World, order_id: int) -> None:
    support = world.people["support"].user
    chargeback_record(order_id=order_id, user=support, reference=f"CB-{order_id}", text="The bank.")


def _seller_loses_the_chargeback(world: World, order_id: int) -> None:
    support = world.people["support"].user
    chargeback_outcome_record(order_id=order_id, user=support, won=False, text="The bank.")


def _buyer(world: World) -> User:
    return world.people["buyer"].user


_BUILDERS: dict[State, Build] = {
    State.PENDING_PAYMENT: _early(State.PENDING_PAYMENT),
    State.AWAITING_ACCEPTANCE: _early(State.AWAITING_ACCEPTANCE),
    State.IN_PROGRESS: _early(State.IN_PROGRESS),
    State.DELIVERED: _then(),
    State.REVISION_REQUESTED: _then(_buyer_asks_revision),
    State.CANCELLATION_REQUESTED: _then(_buyer_asks_cancellation),
    State.DISPUTED: _then(_buyer_disputes),
    State.COMPLETED: _then(_buyer_accepts),
    # Refunded by support after a delivery: the buyer had only previews, and keeps none.
    State.CANCELLED: _then(_buyer_disputes, _support_refunds),
    State.CHARGEBACK_HOLD: _then(_buyer_accepts, _support_records_a_chargeback),
    State.CHARGED_BACK: _then(
        _buyer_accepts, _support_records_a_chargeback, _seller_loses_the_chargeback
    ),
}


# --- requests --------------------------------------------------------------------------------


def path_for(template: str, body: Any, ids: dict[str, Any]) -> str | None:
    """The route with the world's ids filled in; None when this state has no object the
    route or its body names (no file before a delivery, no dispute before one is opened)."""
    names = re.findall(r"\{(\w+)\}", template + json.dumps(body))
    if any(name not in ids for name in names):
        return None
    return template.format(**{name: ids[name] for name in names})


def body_for(value: Any, ids: dict[str, Any]) -> Any:
    """The expected row's body with its "{placeholders}" replaced by the world's ids."""
    if isinstance(value, dict):
        return {k: body_for(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [body_for(v, ids) for v in value]
    if isinstance(value, str) and (found := _PLACEHOLDER.match(value)):
        return ids[found[1]]
    return value


def upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("notes.txt", b"The work, in words.\n" * 4)


@contextmanager
def rolled_back() -> Iterator[None]:
    """Whatever happens inside is undone, as if the request had never been made."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@contextmanager
def suspended(world: World) -> Iterator[None]:
    """The buyer, the seller and the operator deactivated (support suspended them), with
    their tokens and sessions kept."""
    with rolled_back():
        pks = [world.people[name].user.pk for name in SUSPENDED]
        User.objects.filter(pk__in=pks).update(is_active=False)
        yield


def callers(role: str, world: World) -> list[tuple[str, Person | None]]:
    """Who makes a role's request: no one for anonymous, each suspended account in turn."""
    if role == "anonymous":
        return [("anonymous", None)]
    if role == "suspended":
        return [(f"suspended {name}", world.people[name]) for name in SUSPENDED]
    return [(role, world.people[role])]


def request(
    world: World,
    *,
    method: str,
    path: str,
    person: Person | None,
    expected: Expected,
    ids: dict[str, Any],
) -> Outcome:
    """One request as ``person`` (a bearer token for the API, a session for pages), rolled
    back, and what came of it."""
    api = path.startswith("/api/")
    client = world.client
    client.cookies.clear()  # each request carries only its caller's session, if any
    headers: dict[str, str] = {}
    if person is not None and api:
        headers["Authorization"] = f"Bearer {person.token}"
    elif person is not None:
        client.cookies[settings.SESSION_COOKIE_NAME] = person.session
    kwargs: dict[str, Any] = {"headers": headers}
    body = body_for(expected.body, ids)
    if expected.upload:
        kwargs["data"] = {**(body or {}), "files": [upload()]}
    elif method in ("POST", "PUT", "DELETE") and api:
        kwargs.update(data=body or {}, content_type="application/json")
    elif method == "POST":
        kwargs["data"] = body or {}
    with rolled_back():
        response = getattr(client, method.lower())(path, **kwargs)
        if response.streaming:
            # Read to the end: the client then closes the response as a server would.
            b"".join(response.streaming_content)
        return outcome_of(response)


def outcome_of(response: HttpResponseBase) -> Outcome:
    """The status, and for a redirect where it sends the caller: to sign in, or back to the
    page with a message saying the action was done or refused."""
    if response.status_code not in (301, 302, 303):
        return response.status_code
    location = response["Location"]
    if location.startswith((reverse("web:login"), reverse("admin:login"))):
        return LOGIN
    request = getattr(response, "wsgi_request", None)
    levels = {m.level_tag for m in get_messages(request)} if request else set()
    if "error" in levels:
        return REFUSED
    if levels & {"success", "info"}:
        return DONE
    return response.status_code
