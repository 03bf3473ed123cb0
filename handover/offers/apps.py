from django.apps import AppConfig


class OffersConfig(AppConfig):
    name = "handover.offers"
    label = "offers"
