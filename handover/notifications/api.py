from datetime import datetime

from django.conf import settings
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from handover.api.pagination import Pagination
from handover.lib.bounds import Id
from handover.notifications.models import Notification, Webhook
from handover.notifications.selectors import notifications_of
from handover.notifications.services import (
    notifications_mark_read,
    webhook_create,
    webhook_deactivate,
)

router = Router()


class WebhookIn(Schema):
    url: str
    events: list[str] = []


class WebhookOut(Schema):
    id: int
    url: str
    events: list[str]
    active: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str


class NotificationOut(Schema):
    id: int
    event_id: int
    order_id: int | None = Field(alias="event_order_id")  # annotated by notifications_of
    kind: str
    subject: str
    body: str
    url: str  # the web page it is about
    # Its e-mail's: null where you switched that kind's e-mails off.
    state: str | None = Field(alias="email_state")
    created_at: datetime
    sent_at: datetime | None = Field(alias="email_sent_at")
    read_at: datetime | None

    @staticmethod
    def resolve_url(obj: Notification) -> str:
        return settings.HANDOVER_BASE_URL + obj.path


class MarkedRead(Schema):
    marked: int


@router.post("/webhooks", response={201: WebhookCreated})
def create_webhook(request, payload: WebhookIn):
    """Register an endpoint for the events of the orders you buy or sell (``events``: the
    types to send; empty sends all). The answer holds the webhook's secret, shown only here.

    Each event is POSTed as JSON (``id``, ``type``, ``order_id``, ``actor_id``,
    ``actor_role``, ``created_at``, ``payload``) with the headers ``Handover-Event`` (the
    type), ``Handover-Delivery`` (the same on every retry of one delivery: deliveries are at
    least once, so drop one you have seen) and ``Handover-Signature: t=<unix time>,v1=<hex>``,
    where hex is the HMAC-SHA256, keyed with the secret, of ``<t>.`` followed by the raw body.
    Check it in constant time and refuse a ``t`` more than five minutes off. Any 2xx answer
    within 10 s counts; anything else (redirects too) is retried after 30 s, 2 min, 10 min,
    1 h, 6 h, 12 h and 24 h, then dropped."""
    webhook = webhook_create(owner=request.auth, url=payload.url, events=payload.events)
    return Status(201, webhook)


@router.get("/webhooks", response=list[WebhookOut])
@paginate(Pagination)
def list_webhooks(request):
    return Webhook.objects.filter(owner=request.auth)


@router.delete("/webhooks/{webhook_id}", response=WebhookOut)
def delete_webhook(request, webhook_id: Id):
    """Deactivate a webhook; nothing more is sent to it."""
    return webhook_deactivate(owner=request.auth, webhook_id=webhook_id)


@router.get("/notifications", response=list[NotificationOut])
@paginate(Pagination)
def list_notifications(request):
    """What you were told, newest first, as on the notifications page: each with the web page
    it is about, when you read it, and the state of its e-mail."""
    return notifications_of(request.auth)


@router.post("/notifications/read", response=MarkedRead)
def read_notifications(request):
    """Mark all your notifications read, as the page's "Mark all read" does; ``marked`` says
    how many were unread."""
    return {"marked": notifications_mark_read(user=request.auth)}
