from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "handover.ledger"
    label = "ledger"
