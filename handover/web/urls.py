from django.urls import include, path, register_converter

from handover.lib.bounds import IdConverter
from handover.web.views import (
    accounts,
    chargebacks,
    deliveries,
    offers,
    orders,
    requests,
    seller,
    trust,
)

app_name = "web"
# <id:...> in these URLs and in support_urls (included below, so registered before it).
register_converter(IdConverter, "id")


def _order(action: str, view, name: str):
    return path(f"orders/<id:order_id>/{action}/", view, name=name)


urlpatterns = [
    path("", offers.offer_list, name="offers"),
    path("offers/mine/", offers.my_offer_list, name="my_offers"),
    path("offers/new/", offers.offer_new, name="offer_new"),
    path("offers/<id:offer_id>/", offers.offer_detail, name="offer"),
    path("offers/<id:offer_id>/edit/", offers.offer_edit, name="offer_edit"),
    path("offers/<id:offer_id>/active/", offers.offer_active, name="offer_active"),
    path("offers/<id:offer_id>/order/", offers.order_new, name="order_new"),
    path("orders/", orders.order_list, name="orders"),
    path("sales/", orders.sale_list, name="sales"),
    path("orders/<id:order_id>/", orders.order_detail, name="order"),
    _order("pay", orders.order_pay, "order_pay"),
    _order("abandon", orders.order_abandon, "order_abandon"),
    _order("accept", orders.order_accept, "order_accept"),
    _order("request-revision", orders.order_request_revision, "order_request_revision"),
    _order("auto-complete", orders.order_auto_complete, "order_auto_complete"),
    _order("chargeback-note", chargebacks.chargeback_note, "order_chargeback_note"),
    _order("messages", orders.message_post, "order_message"),
    _order("answers", orders.order_answers, "order_answers"),
    path(
        "orders/<id:order_id>/attachments/<id:attachment_id>/",
        orders.attachment_download,
        name="order_attachment",
    ),
    _order("accept-order", seller.order_accept_order, "order_accept_order"),
    _order("decline-order", seller.order_decline_order, "order_decline_order"),
    # The upload middleware streams this path's files (api.uploads.WEB_DELIVERY_PATH).
    _order("deliver", deliveries.order_deliver_page, "order_deliver"),
    path(
        "orders/<id:order_id>/deliveries/<id:delivery_id>/release/",
        seller.delivery_release,
        name="delivery_release",
    ),
    _order(
        "request-cancellation", requests.order_request_cancellation, "order_request_cancellation"
    ),
    _order("accept-cancellation", requests.order_accept_cancellation, "order_accept_cancellation"),
    _order(
        "decline-cancellation", requests.order_decline_cancellation, "order_decline_cancellation"
    ),
    _order(
        "withdraw-cancellation",
        requests.order_withdraw_cancellation,
        "order_withdraw_cancellation",
    ),
    _order("cancel-late", requests.order_cancel_late, "order_cancel_late"),
    _order("open-dispute", requests.order_open_dispute, "order_open_dispute"),
    _order("grant-revision", seller.order_grant_revision, "order_grant_revision"),
    _order("evidence", orders.order_evidence, "order_evidence"),
    _order("review", trust.order_review, "order_review"),
    _order("report", trust.order_report, "order_report"),
    path("files/<id:file_id>/preview/", deliveries.file_preview, name="file_preview"),
    path("files/<id:file_id>/original/", deliveries.file_original, name="file_original"),
    path(
        "deliveries/<id:delivery_id>/originals.zip",
        deliveries.delivery_originals_zip,
        name="delivery_originals_zip",
    ),
    path("signup/", accounts.signup, name="signup"),
    path("login/", accounts.login_view, name="login"),
    path("logout/", accounts.logout_view, name="logout"),
    path("account/password/", accounts.password_change_view, name="password_change"),
    path("notifications/", include("handover.web.views.notifications")),
    path("account/", accounts.account, name="account"),
    path("account/email/", accounts.email_change, name="email_change"),
    path("account/email/verify/", accounts.email_verification_resend, name="email_verify_send"),
    # The links in e-mails carry their signed token in the query (?token=).
    path("account/email/verified/", accounts.email_verify_link, name="email_verify"),
    path("account/email/confirm/", accounts.email_change_link, name="email_change_confirm"),
    path("account/time-zone/", accounts.time_zone_change, name="time_zone"),
    path("account/data/", accounts.account_data, name="account_data"),
    path("password-reset/", accounts.password_reset_view, name="password_reset"),
    path("password-reset/sent/", accounts.password_reset_done_view, name="password_reset_done"),
    path(
        "password-reset/confirm/",
        accounts.password_reset_confirm_view,
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        accounts.password_reset_complete_view,
        name="password_reset_complete",
    ),
    # The support desk's and the balance's pages.
    path("", include("handover.web.support_urls")),
]
