from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "handover.ops"
    label = "ops"

    def ready(self) -> None:
        from handover.ops import checks  # noqa: F401 - registers the system checks
