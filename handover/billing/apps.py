from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "handover.billing"
    label = "billing"
