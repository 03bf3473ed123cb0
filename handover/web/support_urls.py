"""The support desk's and the balance's pages; ``web/urls.py`` includes them in its
``web`` namespace: ``path("", include("handover.web.support_urls"))``."""

from django.urls import path

from handover.web.views import (
    money,
    payouts,
    reports,
    support,
    support_orders,
    support_refunds,
)


def _support_action(slug: str):
    name = "support_" + slug.replace("-", "_")
    kwargs = {"slug": slug}
    return path(f"support/orders/<id:order_id>/{slug}/", support_orders.order_action, kwargs, name)


urlpatterns = [
    path("support/", support.support_home, name="support_home"),
    path("support/orders/", support_orders.order_search, name="support_orders"),
    path("support/orders/<id:order_id>/", support_orders.order_detail, name="support_order"),
    *[_support_action(slug) for slug in support_orders.ACTIONS],
    path(
        "support/orders/<id:order_id>/chargeback-submit/",
        support_orders.chargeback_submit,
        name="support_chargeback_submit",
    ),
    path(
        "support/disputes/<id:dispute_id>/assign/",
        support.dispute_assign_page,
        name="dispute_assign",
    ),
    path("support/disputes/", support.dispute_queue, name="dispute_queue"),
    path("support/disputes/<id:dispute_id>/", support.dispute_detail, name="dispute"),
    path("support/disputes/<id:dispute_id>/notes/", support.dispute_note, name="dispute_note"),
    path(
        "support/disputes/<id:dispute_id>/decision/",
        support.dispute_decide_page,
        name="dispute_decide",
    ),
    # The reports desk and a user's standing.
    path("support/reports/", reports.report_list, name="reports"),
    path("support/reports/<id:report_id>/", reports.report_detail, name="report"),
    path(
        "support/reports/<id:report_id>/handled/",
        reports.report_handle_page,
        name="report_handled",
    ),
    path("support/users/<id:user_id>/", reports.user_detail, name="support_user"),
    path("support/users/<id:user_id>/warn/", reports.user_warn_page, name="user_warn"),
    path("support/users/<id:user_id>/suspend/", reports.user_suspend_page, name="user_suspend"),
    path(
        "support/users/<id:user_id>/reinstate/",
        reports.user_reinstate_page,
        name="user_reinstate",
    ),
    # Failed refunds and their retry.
    path("support/refunds/", support_refunds.refund_list, name="refunds_failed"),
    path(
        "support/refunds/<id:refund_id>/retry/",
        support_refunds.refund_retry_page,
        name="refund_retry",
    ),
    path("balance/", money.balance_page, name="balance"),
    path("balance/payout/", money.payout_page, name="payout"),
    path("balance/payout/link/", payouts.account_link, name="payout_account_link"),
    path("balance/payout/return/", payouts.account_return, name="payout_account_return"),
    path("balance/payout/refresh/", payouts.account_refresh, name="payout_account_refresh"),
]
