from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "handover.records"
    label = "records"
