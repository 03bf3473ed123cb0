from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "handover.evidence"
    label = "evidence"
