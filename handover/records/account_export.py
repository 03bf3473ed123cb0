""" "Download my data": what one account holds and sees, as one JSON file.

The account, its offers (with every version of their terms), its orders as buyer and as seller
(what the orders API shows a party), the messages on them, the reviews it wrote and the ones
about it that anyone may read, the reports it made (never those about it), the e-mails it was
sent, and its API tokens' and webhooks' descriptions (never their secrets). Of other users only
what the account already sees: their usernames on shared orders, reviews and reports."""

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.utils import timezone

from handover.accounts.models import User
from handover.notifications.models import Channel, Outbox, Webhook
from handover.offers.models import Offer
from handover.orders.models import Message, Order
from handover.trust.models import Report, Review
from handover.trust.selectors import visible_reviews

FORMAT = "handover-account-export/1"

_ORDER_FIELDS = (
    "id",
    "state",
    "offer_id",
    "currency",
    "price",
    "buyer_fee",
    "seller_fee",
    "total",
    "refunded",
    "requirements",
    "terms_sha256",
    "delivery_days",
    "revisions_included",
    "auto_complete",
    "requires_acceptance",
    "payment_provider",
    "payment_reference",
    "created_at",
    "paid_at",
    "due_at",
    "last_delivered_at",
    "closed_at",
    "clears_at",
)


def account_export(*, user: User, now: datetime | None = None) -> tuple[bytes, str]:
    """The user's data as UTF-8 JSON, and the file name to give it."""
    now = now or timezone.now()
    document = {
        "format": FORMAT,
        "exported_at": now,
        "account": _account(user),
        "offers": list(_offers(user)),
        "orders": list(_orders(user)),
        "messages": list(_messages(user)),
        "reviews_written": list(_reviews(Review.objects.filter(author=user))),
        "reviews_received": list(_reviews(visible_reviews(now).filter(subject=user))),
        "reports_made": list(_reports(user)),
        "emails": list(_emails(user)),
        "api_tokens": list(user.api_tokens.order_by("pk").values("prefix", "label", "created_at")),
        "webhooks": list(
            Webhook.objects.filter(owner=user)
            .order_by("pk")
            .values("id", "url", "events", "active", "created_at")
        ),
    }
    body = json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
    return body.encode(), f"handover-account-{user.pk}.json"


def _account(user: User) -> dict[str, Any]:
    return {
        "id": user.pk,
        "username": user.username,
        "email": user.email,
        "email_verified_at": user.email_verified_at,
        "time_zone": user.time_zone,
        "role": user.role,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
    }


def _offers(user: User) -> Iterator[dict[str, Any]]:
    for offer in (
        Offer.objects.filter(seller=user).prefetch_related("terms_versions").order_by("pk")
    ):
        yield {
            "id": offer.pk,
            "title": offer.title,
            "description": offer.description,
            "price": offer.price,
            "currency": offer.currency,
            "delivery_days": offer.delivery_days,
            "revisions": offer.revisions,
            "requirements": offer.requirements,
            "requires_acceptance": offer.requires_acceptance,
            "risk_threshold": offer.risk_threshold,
            "is_active": offer.is_active,
            "created_at": offer.created_at,
            "terms": [
                {"version": t.version, "text": t.text, "sha256": t.sha256}
                for t in offer.terms_versions.all()
            ],
        }


def _party_orders(user: User):
    return Order.objects.filter(Q(buyer=user) | Q(seller=user))


def _orders(user: User) -> Iterator[dict[str, Any]]:
    orders = _party_orders(user).select_related("buyer", "seller", "terms", "offer")
    for order in orders.order_by("pk"):
        row = {name: getattr(order, name) for name in _ORDER_FIELDS}
        as_buyer = order.buyer_id == user.pk
        row |= {
            "role": "buyer" if as_buyer else "seller",
            "offer_title": order.offer.title,
            "terms_version": order.terms.version,
            "other_party": order.seller.username if as_buyer else order.buyer.username,
        }
        yield row


def _messages(user: User) -> Iterator[dict[str, Any]]:
    on_theirs = Message.objects.filter(order__in=_party_orders(user)).select_related("author")
    for message in on_theirs.order_by("pk").iterator():
        yield {
            "order_id": message.order_id,
            "author": message.author.username,
            "author_role": message.author_role,
            "body": message.body,
            "created_at": message.created_at,
        }


def _reviews(reviews) -> Iterator[dict[str, Any]]:
    for review in reviews.select_related("author", "subject").order_by("pk"):
        yield {
            "order_id": review.order_id,
            "author": review.author.username,
            "subject": review.subject.username,
            "author_role": review.author_role,
            "rating": review.rating,
            "text": review.text,
            "created_at": review.created_at,
        }


def _reports(user: User) -> Iterator[dict[str, Any]]:
    for report in Report.objects.filter(reporter=user).select_related("subject").order_by("pk"):
        yield {
            "subject": report.subject.username,
            "order_id": report.order_id,
            "reason": report.reason,
            "text": report.text,
            "created_at": report.created_at,
        }


def _emails(user: User) -> Iterator[dict[str, Any]]:
    sent = Outbox.objects.filter(recipient=user, channel=Channel.EMAIL).order_by("pk")
    for row in sent.iterator():
        yield {
            "subject": row.subject,
            "body": row.body,
            "created_at": row.created_at,
            "state": row.state,
            "sent_at": row.sent_at,
        }
