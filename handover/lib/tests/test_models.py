"""Rows written once (``AppendOnly``): the model refuses a second save and a delete before
any query is sent."""

import pytest
from django.apps import apps

from handover.lib.models import AppendOnly

# Spelled out here rather than collected, so that a model leaving the mixin is noticed.
APPEND_ONLY = [
    "billing.WebhookEvent",
    "disputes.SupportNote",
    "evidence.Event",
    "ledger.Entry",
    "ledger.LedgerTransaction",
    "offers.OfferTerms",
    "orders.Attachment",
    "orders.Message",
    "trust.Review",
]


def append_only_models():
    return [model for model in apps.get_models() if issubclass(model, AppendOnly)]


def test_the_record_s_rows_are_append_only():
    assert sorted(model._meta.label for model in append_only_models()) == APPEND_ONLY


@pytest.mark.parametrize("label", APPEND_ONLY)
def test_a_written_row_is_never_saved_again_or_deleted(label):
    model = apps.get_model(label)
    row = model(pk=1)
    refusal = f"append-only: rows of {model._meta.db_table} are never updated or deleted"
    with pytest.raises(RuntimeError, match=refusal):
        row.save()
    with pytest.raises(RuntimeError, match=refusal):
        row.delete()
