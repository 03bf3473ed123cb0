from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from handover.accounts.models import User
from handover.accounts.services import email_verified_check
from handover.evidence.models import EventType
from handover.evidence.services import event_append
from handover.lib.errors import InvalidInput, NotFound
from handover.lib.money import CURRENCIES, MAX_AMOUNT, amount_step_check
from handover.lib.text import text_check
from handover.notifications.services import notifications_for_event
from handover.offers.models import Offer, OfferTerms
from handover.trust.rules import RiskThreshold

MAX_QUESTIONS = 30
MAX_QUESTION_LENGTH = 1000
MAX_TERMS_LENGTH = 100_000
MAX_DESCRIPTION_LENGTH = 20_000


@dataclass(frozen=True)
class OfferFields:
    title: str
    description: str
    price: int
    currency: str
    delivery_days: int
    revisions: int
    terms: str
    requirements: list[str]
    requires_acceptance: bool = False
    # Orders from buyers whose record crosses this wait for the seller's acceptance (see
    # trust.rules.RiskThreshold; missing fields take their defaults). None: no check.
    risk_threshold: Mapping[str, Any] | None = None


def _threshold(fields: OfferFields) -> dict[str, int] | None:
    """The threshold as stored: validated, every field spelled out."""
    if fields.risk_threshold is None:
        return None
    return RiskThreshold.from_dict(fields.risk_threshold).as_dict()


def _validate(fields: OfferFields) -> None:
    text_check(fields.title, field="title", limit=200)
    text_check(
        fields.description, field="description", limit=MAX_DESCRIPTION_LENGTH, required=False
    )
    text_check(fields.terms, field="terms of service", limit=MAX_TERMS_LENGTH)
    if len(fields.requirements) > MAX_QUESTIONS:
        raise InvalidInput(f"At most {MAX_QUESTIONS} requirement questions.")
    for question in fields.requirements:
        text_check(question, field="requirement question", limit=MAX_QUESTION_LENGTH)
    if not 1 <= fields.price <= MAX_AMOUNT:
        raise InvalidInput(f"The price must be a whole number of minor units, 1 to {MAX_AMOUNT}.")
    if fields.currency not in CURRENCIES:
        raise InvalidInput(f"Unknown currency {fields.currency!r}: use an ISO 4217 code.")
    amount_step_check(fields.price, fields.currency)
    if not 1 <= fields.delivery_days <= 365:
        raise InvalidInput("Delivery days must be from 1 to 365.")
    if not 0 <= fields.revisions <= 100:
        raise InvalidInput("Revisions must be from 0 to 100.")


@transaction.atomic
def offer_create(*, seller: User, fields: OfferFields) -> Offer:
    """Publish an offer with version 1 of its terms."""
    email_verified_check(seller)
    _validate(fields)
    threshold = _threshold(fields)
    offer = Offer.objects.create(
        seller=seller,
        title=fields.title.strip(),
        description=fields.description,
        price=fields.price,
        currency=fields.currency,
        delivery_days=fields.delivery_days,
        revisions=fields.revisions,
        requirements=list(fields.requirements),
        requires_acceptance=fields.requires_acceptance,
        risk_threshold=threshold,
    )
    terms = OfferTerms.objects.create(offer=offer, version=1, text=fields.terms)
    event = event_append(
        type=EventType.OFFER_CREATED,
        actor=seller,
        actor_role="seller",
        payload={"offer_id": offer.pk, "terms_version": 1, "terms_sha256": terms.sha256},
    )
    notifications_for_event(event)
    return offer


@transaction.atomic
def offer_update(*, offer_id: int, seller: User, fields: OfferFields) -> Offer:
    """Change an offer; changed terms become a new version, placed orders keep theirs."""
    _validate(fields)
    threshold = _threshold(fields)
    offer = Offer.objects.select_for_update().filter(pk=offer_id, seller=seller).first()
    if offer is None:
        raise NotFound("No such offer of yours.")
    for name in (
        "description",
        "price",
        "currency",
        "delivery_days",
        "revisions",
        "requirements",
        "requires_acceptance",
    ):
        setattr(offer, name, getattr(fields, name))
    offer.title = fields.title.strip()
    offer.risk_threshold = threshold
    offer.save()
    current = offer.current_terms
    if current.text != fields.terms:
        terms = OfferTerms.objects.create(
            offer=offer, version=current.version + 1, text=fields.terms
        )
        event = event_append(
            type=EventType.OFFER_TERMS_VERSIONED,
            actor=seller,
            actor_role="seller",
            payload={
                "offer_id": offer.pk,
                "terms_version": terms.version,
                "terms_sha256": terms.sha256,
            },
        )
        notifications_for_event(event)
    return offer


@transaction.atomic
def offer_set_active(*, offer_id: int, seller: User, active: bool) -> Offer:
    """Open or close an offer to new orders; placed orders are unaffected."""
    offer = Offer.objects.select_for_update().filter(pk=offer_id, seller=seller).first()
    if offer is None:
        raise NotFound("No such offer of yours.")
    offer.is_active = active
    offer.save(update_fields=["is_active", "updated_at"])
    return offer
