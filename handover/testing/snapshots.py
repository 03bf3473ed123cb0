"""Snapshots of the rows, to assert that a refused request changed nothing."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from handover.offers.models import Offer, OfferTerms
from handover.orders.models import Order


def db_snapshot() -> dict[str, Any]:
    """Every row that matters for 'nothing changed', table by table."""
    from handover.delivery.models import Delivery, DeliveryFile, PreviewPart
    from handover.disputes.models import Dispute, SupportNote
    from handover.evidence.models import Event
    from handover.ledger.models import Account, Entry, LedgerTransaction
    from handover.orders.models import Attachment, Message
    from handover.trust.models import Report, Review

    return {
        model.__name__: sorted(model.objects.values_list(), key=str)
        for model in (
            Order,
            Event,
            Account,
            Entry,
            LedgerTransaction,
            Message,
            Attachment,
            Delivery,
            DeliveryFile,
            PreviewPart,
            Dispute,
            SupportNote,
            Review,
            Report,
        )
    }


def offer_rows() -> tuple[Any, ...]:
    """Every row that matters, the offers and their terms versions among them."""
    return (
        db_snapshot(),
        list(Offer.objects.order_by("pk").values_list()),
        list(OfferTerms.objects.order_by("pk").values_list()),
    )


@pytest.fixture
def query_count() -> Iterator[Any]:
    from django.test.utils import CaptureQueriesContext

    yield lambda: CaptureQueriesContext(connection)
