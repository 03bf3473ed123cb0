"""Notifications through an outbox: ``notifications_for_event``, called by the service that
records an event, writes one row per e-mail and webhook call in the event's transaction;
``outbox_send_due`` (run by the worker) sends them afterwards and retries with backoff.
Delivery is at least once: a worker killed after a send but before marking it sends it again,
so webhook receivers dedupe on Handover-Delivery."""

import contextlib
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import threading
import time
from collections.abc import Collection, Iterator
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage, mailers
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from handover.accounts.models import Role, User
from handover.evidence.models import Event
from handover.evidence.visibility import payload_shown, readable
from handover.lib.errors import InvalidInput, NotFound
from handover.lib.links import page_url
from handover.notifications import rules
from handover.notifications.models import (
    Channel,
    EmailOptOut,
    Kind,
    Notification,
    Outbox,
    OutboxState,
    Webhook,
)
from handover.notifications.rules import Notice, Party

logger = logging.getLogger(__name__)

MAX_WEBHOOKS = 10  # active ones per user: every event of their orders is one call per webhook
TIMEOUT = 10.0  # seconds for a whole webhook call: connect, send, answer
CHUNK = 10  # rows claimed at once; the lease (rules.CLAIM_LEASE) covers a chunk's worst case
BUDGET = timedelta(seconds=60)  # no new chunk after this, so timers behind us are not held up
USER_AGENT = "Handover-Webhooks/1"


# --- writing the outbox, in the event's transaction -------------------------------------------


class OrderParties(Protocol):
    """What the outbox reads of an event's order."""

    buyer_id: int
    seller_id: int
    currency: str


def notifications_for_event(event: Event, *, notice: Notice | None = None) -> None:
    """Write the notifications, e-mails and webhook calls ``event`` causes, in the transaction
    that wrote it.

    The service that records an event calls this right after ``event_append`` (every event:
    each is a webhook call to the order's parties), with the ``notice`` of an order's move;
    other events' notices are ``rules.EVENT_NOTICES``. It stays cheap: one query for the
    parties' webhooks (none for an event of no order), one more when support is told, one for
    the recipients' e-mail choices when the kind may be switched off, and one INSERT for the
    notifications and one for the outbox rows."""
    order = event.order if event.order_id is not None else None
    if notice is None:
        notice = rules.EVENT_NOTICES.get(event.type)
    rows = [*_notify(event, order, notice), *_webhook_calls(event, order)]
    if not rows:
        return
    Outbox.objects.bulk_create(Outbox(**row) for row in rows)


def email_to_user(event: Event, *, user_id: int, email: rules.Email) -> None:
    """Queue one e-mail to the user an event of no order is about (support warned or
    suspended them): such an event has no parties, so its service names the reader."""
    row = _outbox_row(
        event,
        channel=Channel.EMAIL.value,
        recipient_id=user_id,
        subject=email.subject[: rules.MAX_SUBJECT],
        body=email.body,
    )
    Outbox.objects.create(**row)


def _outbox_row(event: Event, **values: Any) -> dict[str, Any]:
    return {
        "event_id": event.pk,
        "state": OutboxState.PENDING.value,
        "next_attempt_at": event.created_at,
        "created_at": event.created_at,
        **values,
    }


def _notify(
    event: Event, order: OrderParties | None, notice: Notice | None
) -> list[dict[str, Any]]:
    """Each recipient's notification, written here; the outbox rows of their e-mails."""
    parties = rules.recipients(notice, event.actor_role)
    if notice is None or not parties:
        return []
    told = _recipients(parties, order)
    told.pop(event.actor_id, None)  # type: ignore[arg-type]
    if not told:
        return []
    currency = order.currency if order is not None else settings.HANDOVER_CURRENCY
    notifications = [
        _notification(event, notice, user_id, party, currency)
        for user_id, party in sorted(told.items())
    ]
    Notification.objects.bulk_create(notifications)
    mailed = _mailed(Kind(notice.kind), set(told))
    return [
        _outbox_row(
            event,
            channel=Channel.EMAIL.value,
            recipient_id=note.recipient_id,
            notification_id=note.pk,
            subject=note.subject,
            body=note.body,
        )
        for note in notifications
        if note.recipient_id in mailed
    ]


def _notification(
    event: Event, notice: Notice, user_id: int, party: Party, currency: str
) -> Notification:
    page = rules.page_for(event.type, event.payload, party=party, order_id=event.order_id)
    links = {
        page: page_url(page.name, *page.args),
        rules.SETTINGS_PAGE: page_url(rules.SETTINGS_PAGE.name),
    }
    email = rules.email_for(
        notice, event.payload, order_id=event.order_id, currency=currency, links=links
    )
    assert email is not None  # a notice always has its e-mail
    return Notification(
        recipient_id=user_id,
        event_id=event.pk,
        kind=notice.kind,
        subject=email.subject,
        body=email.body,
        path=reverse(page.name, args=page.args),
        created_at=event.created_at,
    )


def _mailed(kind: Kind, user_ids: set[int]) -> set[int]:
    """Those of ``user_ids`` who get this kind's e-mails: all, for a kind always mailed."""
    if kind not in rules.SWITCHABLE:
        return user_ids
    off = EmailOptOut.objects.filter(kind=kind, user_id__in=user_ids)
    return user_ids - set(off.values_list("user_id", flat=True))


def _recipients(parties: frozenset[Party], order: OrderParties | None) -> dict[int, Party]:
    """Who is told, as whom: an agent who is also the order's party hears as the party."""
    told: dict[int, Party] = {}
    if Party.SUPPORT in parties:
        agents = User.objects.filter(role__in=[Role.SUPPORT, Role.OPERATOR], is_active=True)
        told.update(dict.fromkeys(agents.values_list("pk", flat=True), Party.SUPPORT))
    if order is not None:
        if Party.BUYER in parties:
            told[order.buyer_id] = Party.BUYER
        if Party.SELLER in parties:
            told[order.seller_id] = Party.SELLER
    return told


def _webhook_calls(event: Event, order: OrderParties | None) -> Iterator[dict[str, Any]]:
    if order is None or event.type in rules.WEBHOOK_WITHHELD:
        return
    owners = [order.seller_id]
    if readable(event.type, support=False, buyer=True):
        owners.append(order.buyer_id)
    hooks = Webhook.objects.filter(owner_id__in=owners, active=True)
    payload = None
    for webhook_id, subscribed in hooks.order_by("id").values_list("id", "events"):
        if not rules.webhook_wants(subscribed, event.type):
            continue
        payload = payload or event_json(event)
        yield _outbox_row(
            event, channel=Channel.WEBHOOK.value, webhook_id=webhook_id, payload=payload
        )


def event_json(event: Event) -> dict[str, Any]:
    """An event as a webhook receives it: what ``GET /orders/{id}/events`` shows a party, and
    the order."""
    return {
        "id": event.pk,
        "type": str(event.type),
        "order_id": event.order_id,
        "actor_id": event.actor_id,
        "actor_role": event.actor_role,
        "created_at": event.created_at.isoformat(),
        "payload": payload_shown(event.payload, support=False),
    }


# --- the user's list and choices -------------------------------------------------------------


@transaction.atomic
def notifications_mark_read(*, user: User, now: datetime | None = None) -> int:
    """Mark every unread notification of ``user`` read; how many there were."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    return unread.update(read_at=now or timezone.now())


@transaction.atomic
def email_choices_set(*, user: User, wanted: Collection[str]) -> frozenset[Kind]:
    """Keep ``wanted`` kinds' e-mails coming and switch off the other kinds that may be;
    the kinds about money and disputes stay on whatever is asked. The kinds now off."""
    staff = user.is_support
    if error := rules.opt_outs_error(set(wanted), staff=staff):
        raise InvalidInput(error)
    off = frozenset(
        kind
        for kind in rules.kinds_offered(staff=staff)
        if kind in rules.SWITCHABLE and kind not in wanted
    )
    EmailOptOut.objects.filter(user=user).exclude(kind__in=off).delete()
    already = set(EmailOptOut.objects.filter(user=user).values_list("kind", flat=True))
    EmailOptOut.objects.bulk_create(
        EmailOptOut(user=user, kind=kind) for kind in sorted(off - already)
    )
    return off


# --- webhooks ---------------------------------------------------------------------------------


def _allow_private() -> bool:
    return bool(getattr(settings, "HANDOVER_WEBHOOK_ALLOW_PRIVATE", False))


@transaction.atomic
def webhook_create(*, owner: User, url: str, events: list[str]) -> Webhook:
    """Register an endpoint for the owner's orders' events; its secret is shown once."""
    url = url.strip()
    if error := rules.webhook_url_error(url):
        raise InvalidInput(error, code="bad_url")
    host = urlsplit(url).hostname or ""
    if _is_ip(host) and not rules.address_allowed(host, allow_private=_allow_private()):
        raise InvalidInput("Webhooks go to public addresses only.", code="bad_url")
    unknown = sorted(set(events) - rules.WEBHOOK_EVENT_TYPES)
    if unknown:
        raise InvalidInput(f"Unknown event types: {', '.join(unknown)}.", code="bad_events")
    # The lock keeps two concurrent requests from both passing the count below.
    User.objects.select_for_update().filter(pk=owner.pk).first()
    if Webhook.objects.filter(owner=owner, active=True).count() >= MAX_WEBHOOKS:
        raise InvalidInput(f"At most {MAX_WEBHOOKS} webhooks per user.", code="too_many_webhooks")
    return Webhook.objects.create(
        owner=owner,
        url=url,
        secret="whsec_" + secrets.token_hex(24),
        events=sorted(set(events)),
        created_at=timezone.now(),
    )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@transaction.atomic
def webhook_deactivate(*, owner: User, webhook_id: int) -> Webhook:
    """Stop a webhook; calls already queued for it are dropped when their turn comes."""
    webhook = Webhook.objects.select_for_update().filter(pk=webhook_id, owner=owner).first()
    if webhook is None:
        raise NotFound("No such webhook of yours.")
    if webhook.active:
        webhook.active = False
        webhook.save(update_fields=["active"])
    return webhook


# --- sending, by the worker --------------------------------------------------------------------


class Undeliverable(Exception):
    """Sending cannot succeed however often it is tried: the message goes straight to dead."""


def outbox_due_exists(now: datetime | None = None) -> bool:
    return Outbox.objects.filter(
        state=OutboxState.PENDING, next_attempt_at__lte=now or timezone.now()
    ).exists()


def outbox_send_due(*, now: datetime | None = None, limit: int = 100) -> dict[str, int]:
    """Send what is due, a chunk at a time: each chunk is claimed in a short transaction, sent
    outside it, and each row then marked sent, given its next attempt, or dead."""
    counts = {"sent": 0, "retried": 0, "dead": 0}
    deadline = time.monotonic() + BUDGET.total_seconds()
    done = 0
    while done < limit and time.monotonic() < deadline:
        claimed = _claim(now or timezone.now(), min(CHUNK, limit - done))
        if not claimed:
            break
        for row in claimed:
            counts[_attempt(row, now)] += 1
        done += len(claimed)
    return counts


@transaction.atomic
def _claim(now: datetime, count: int) -> list[Outbox]:
    # Each claim counts as an attempt and pushes the row's next attempt past the lease: a
    # worker killed mid-send leaves the row pending, due again once the lease runs out. The
    # lock (PostgreSQL; skip_locked lets a second worker take other rows instead of waiting)
    # or SQLite's single write lock keeps two workers from claiming the same row.
    rows = list(
        Outbox.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("recipient", "webhook")
        .filter(state=OutboxState.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")[:count]
    )
    if rows:
        Outbox.objects.filter(pk__in=[row.pk for row in rows]).update(
            attempts=F("attempts") + 1, next_attempt_at=now + rules.CLAIM_LEASE
        )
        for row in rows:
            row.attempts += 1
    return rows


def _attempt(row: Outbox, now: datetime | None) -> str:
    try:
        if row.channel == Channel.EMAIL:
            _email_send(row)
        else:
            _webhook_send(row)
    except Undeliverable as exc:
        return _finish(row, now, error=str(exc), dead=True)
    except Exception as exc:  # whatever the mail server or the endpoint did: try again later
        logger.info("outbox %s: attempt %s failed: %s", row.pk, row.attempts, exc)
        return _finish(row, now, error=f"{type(exc).__name__}: {exc}")
    return _finish(row, now)


def _finish(row: Outbox, now: datetime | None, *, error: str = "", dead: bool = False) -> str:
    now = now or timezone.now()
    delay = rules.retry_delay(row.attempts)
    if not error:
        changes: dict[str, Any] = {"state": OutboxState.SENT, "sent_at": now, "last_error": ""}
        outcome = "sent"
    elif dead or delay is None:
        changes = {"state": OutboxState.DEAD, "last_error": error[:500]}
        outcome = "dead"
    else:
        changes = {"next_attempt_at": now + delay, "last_error": error[:500]}
        outcome = "retried"
    Outbox.objects.filter(pk=row.pk).update(**changes)
    return outcome


def _email_send(row: Outbox) -> None:
    user = row.recipient
    if user is None or not user.is_active or not user.email:
        raise Undeliverable("The recipient has no e-mail address (or no active account).")
    # The time in the recipient's zone, added as it is sent: the row was written once for all.
    when = rules.when_line(row.created_at, user.time_zone)
    message = EmailMessage(
        subject=row.subject,
        body=f"{row.body.rstrip()}\n\n{when}\n",
        to=[user.email],
        headers={"Handover-Delivery": str(row.pk)},
    )
    mailers.default.send_messages([message])


def _webhook_send(row: Outbox) -> None:
    webhook = row.webhook
    if webhook is None or not webhook.active:
        raise Undeliverable("The webhook was removed.")
    body = json.dumps(row.payload, separators=(",", ":"), sort_keys=True).encode()
    webhook_post(
        url=webhook.url,
        body=body,
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Handover-Event": str(row.payload.get("type", "")),
            "Handover-Delivery": str(row.pk),
            "Handover-Signature": rules.signature(webhook.secret, int(time.time()), body),
        },
        timeout=TIMEOUT,
    )


class WebhookFailed(Exception):
    pass


def webhook_post(
    *, url: str, body: bytes, headers: dict[str, str], timeout: float = TIMEOUT
) -> None:
    """POST ``body`` to ``url``; returns on a 2xx answer, raises otherwise. Redirects are not
    followed, and the whole call is cut off after ``timeout`` seconds."""
    parts = urlsplit(url)
    client = _pinned_client(parts.scheme, parts.hostname or "", parts.port, timeout)
    # The socket timeout bounds each read, not the call: an endpoint that answers a byte every
    # few seconds would hold the worker; the watchdog shuts the socket down at the deadline.
    cut = threading.Event()
    watchdog = threading.Timer(timeout, _cut, args=(client, cut))
    watchdog.start()
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        client.request("POST", target, body=body, headers=headers)
        response = client.getresponse()
        excerpt = response.read(200).decode(errors="replace")
    finally:
        watchdog.cancel()
        client.close()
    if cut.is_set():  # what was read may be any part of an answer
        raise WebhookFailed(f"no complete answer within {timeout:g} s")
    if 200 <= response.status < 300:
        return
    note = "; redirects are not followed" if 300 <= response.status < 400 else ""
    raise WebhookFailed(f"the endpoint answered {response.status}{note}: {excerpt!r}")


def _pinned_client(
    scheme: str, host: str, port: int | None, timeout: float
) -> http.client.HTTPConnection:
    """An HTTP(S) client for ``host`` that connects to the addresses checked here, not to a
    second lookup of the name that could answer otherwise (DNS rebinding). TLS still checks
    the certificate against the name."""
    port = port or (443 if scheme == "https" else 80)
    addresses = _public_addresses(host, port)
    client_class = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    client = client_class(host, port, timeout=timeout)
    client._create_connection = (  # type: ignore[attr-defined]
        lambda _, timeout, source_address: _connect(addresses, port, timeout, source_address)
    )
    return client


def _connect(
    addresses: list[str], port: int, timeout: float, source_address: tuple[str, int] | None
) -> socket.socket:
    """The first of ``addresses`` that accepts, as socket.create_connection tries a name's."""
    error: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout, source_address)
        except OSError as exc:
            error = exc
    assert error is not None
    raise error


def _cut(client: http.client.HTTPConnection, cut: threading.Event) -> None:
    cut.set()
    sock = client.sock
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


def _public_addresses(host: str, port: int) -> list[str]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise WebhookFailed(f"cannot resolve {host}: {exc}") from exc
    addresses = [str(info[4][0]) for info in found]
    allow_private = _allow_private()
    if not addresses or not all(
        rules.address_allowed(a, allow_private=allow_private) for a in addresses
    ):
        raise WebhookFailed(f"{host} resolves to an address webhooks may not reach")
    return list(dict.fromkeys(addresses))
