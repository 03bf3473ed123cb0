from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "handover.orders"
    label = "orders"
