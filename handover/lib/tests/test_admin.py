"""The read-only admin pages (``ReadOnlyAdmin``): rows are shown, never added, changed or
deleted there. The pages themselves, role by role, are in the API's authorisation table."""

from django.apps import apps
from django.contrib import admin
from django.test import RequestFactory

from handover.lib.admin import ReadOnlyAdmin

READ_ONLY = [
    "delivery.Delivery",
    "disputes.Dispute",
    "disputes.SupportNote",
    "evidence.Event",
    "ledger.Account",
    "ledger.LedgerTransaction",
    "orders.Message",
    "orders.Order",
]


def read_only_pages():
    """Each read-only page and inline, as (the model it shows, its admin)."""
    for model in apps.get_models():
        if not admin.site.is_registered(model):
            continue
        page = admin.site.get_model_admin(model)
        inlines = [inline(model, admin.site) for inline in page.inlines]
        for shown in (page, *inlines):
            if isinstance(shown, ReadOnlyAdmin):
                yield shown.model._meta.label, shown


def test_the_record_s_admin_pages_are_read_only():
    pages = {label for label, page in read_only_pages() if isinstance(page, admin.ModelAdmin)}
    assert sorted(pages) == READ_ONLY
    inlines = {label for label, page in read_only_pages() if not isinstance(page, admin.ModelAdmin)}
    assert inlines == {"delivery.DeliveryFile", "ledger.Entry", "offers.OfferTerms"}


def test_no_one_adds_changes_or_deletes_on_a_read_only_page():
    request = RequestFactory().get("/admin/")  # whoever asks: a superuser is refused too
    for _label, page in read_only_pages():
        assert not page.has_add_permission(request, None)
        assert not page.has_change_permission(request, None)
        assert not page.has_delete_permission(request, None)
