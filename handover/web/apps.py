from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "handover.web"
    label = "web"
    verbose_name = "Web pages"
