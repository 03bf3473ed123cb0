from django.urls import path

from handover.web.views import accounts, offers, orders

app_name = "web"

urlpatterns = [
    path("", offers.offer_list, name="offers"),
    path("offers/<int:offer_id>/", offers.offer_detail, name="offer"),
    path("offers/<int:offer_id>/order/", offers.order_new, name="order_new"),
    path("orders/", orders.order_list, name="orders"),
    path("orders/<int:order_id>/", orders.order_detail, name="order"),
    path("orders/<int:order_id>/pay/", orders.order_pay, name="order_pay"),
    path("orders/<int:order_id>/abandon/", orders.order_abandon, name="order_abandon"),
    path("orders/<int:order_id>/accept/", orders.order_accept, name="order_accept"),
    path(
        "orders/<int:order_id>/request-revision/",
        orders.order_request_revision,
        name="order_request_revision",
    ),
    path(
        "orders/<int:order_id>/auto-complete/",
        orders.order_auto_complete,
        name="order_auto_complete",
    ),
    path("orders/<int:order_id>/messages/", orders.message_post, name="order_message"),
    path("signup/", accounts.signup, name="signup"),
    path("login/", accounts.login_view, name="login"),
    path("logout/", accounts.logout_view, name="logout"),
    path("account/password/", accounts.password_change_view, name="password_change"),
]
