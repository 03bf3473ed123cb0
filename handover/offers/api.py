from datetime import datetime
from typing import Any

from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import StrictBool, StrictInt

from handover.api.errors import refusals
from handover.api.pagination import Pagination
from handover.lib.bounds import Id
from handover.offers.models import Offer
from handover.offers.services import OfferFields, offer_create, offer_set_active, offer_update
from handover.trust.rules import RiskThreshold
from handover.trust.selectors import suspended_user_ids

router = Router()

THRESHOLD_DEFAULTS = RiskThreshold().as_dict()


class OfferIn(Schema):
    title: str
    description: str = ""
    price: StrictInt = Field(description="Minor units of the currency (cents for EUR).")
    currency: str
    delivery_days: StrictInt
    revisions: StrictInt = 0
    terms: str
    requirements: list[str] = []
    requires_acceptance: StrictBool = False
    risk_threshold: dict[str, Any] | None = Field(
        None,
        description=(
            "Orders from buyers whose record crosses this wait for your acceptance. Fields "
            "(whole numbers; missing ones take the default): "
            + ", ".join(f"{name} ({default})" for name, default in THRESHOLD_DEFAULTS.items())
            + ". Null: no check."
        ),
    )


class OfferOut(Schema):
    id: int
    seller_id: int
    seller: str = Field(alias="seller.username")
    title: str
    description: str
    price: int
    currency: str
    delivery_days: int
    revisions: int
    requirements: list[str]
    requires_acceptance: bool
    risk_threshold: dict[str, int] | None
    is_active: bool
    terms: str
    terms_version: int
    terms_sha256: str
    created_at: datetime

    @staticmethod
    def resolve_terms(offer: Offer) -> str:
        return _latest_terms(offer).text

    @staticmethod
    def resolve_terms_version(offer: Offer) -> int:
        return _latest_terms(offer).version

    @staticmethod
    def resolve_terms_sha256(offer: Offer) -> str:
        return _latest_terms(offer).sha256


def _latest_terms(offer: Offer):
    # Prefetched by the list and detail queries: no query per offer.
    return max(offer.terms_versions.all(), key=lambda t: t.version)


class ActiveIn(Schema):
    active: StrictBool


def _offers():
    return Offer.objects.select_related("seller").prefetch_related("terms_versions")


def _fields(payload: OfferIn) -> OfferFields:
    return OfferFields(**payload.dict())


@router.post("", response={201: OfferOut, **refusals(403)})
def create_offer(request, payload: OfferIn):
    offer = offer_create(seller=request.auth, fields=_fields(payload))
    return Status(201, _offers().get(pk=offer.pk))


@router.get("", response=list[OfferOut], auth=None)
@paginate(Pagination)
def list_offers(request, seller_id: Id | None = None):
    # What the offers page lists: a suspended seller's offers take no orders, so are not shown.
    offers = _offers().filter(is_active=True).exclude(seller_id__in=suspended_user_ids())
    return offers.filter(seller_id=seller_id) if seller_id else offers


@router.get("/{offer_id}", response=OfferOut, auth=None)
def get_offer(request, offer_id: Id):
    return get_object_or_404(_offers(), pk=offer_id)


@router.put("/{offer_id}", response=OfferOut)
def update_offer(request, offer_id: Id, payload: OfferIn):
    offer_update(offer_id=offer_id, seller=request.auth, fields=_fields(payload))
    return _offers().get(pk=offer_id)


@router.post("/{offer_id}/active", response=OfferOut)
def set_offer_active(request, offer_id: Id, payload: ActiveIn):
    offer_set_active(offer_id=offer_id, seller=request.auth, active=payload.active)
    return _offers().get(pk=offer_id)
