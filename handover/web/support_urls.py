"""The support desk's and the balance's pages; ``web/urls.py`` includes them in its
``web`` namespace: ``path("", include("handover.web.support_urls"))``."""

from django.urls import path

from handover.web.views import money, support

urlpatterns = [
    path("support/disputes/", support.dispute_queue, name="dispute_queue"),
    path("support/disputes/<id:dispute_id>/", support.dispute_detail, name="dispute"),
    path("support/disputes/<id:dispute_id>/notes/", support.dispute_note, name="dispute_note"),
    path(
        "support/disputes/<id:dispute_id>/decision/",
        support.dispute_decide_page,
        name="dispute_decide",
    ),
    path("balance/", money.balance_page, name="balance"),
    path("balance/payout/", money.payout_page, name="payout"),
]
