from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "handover.notifications"
    label = "notifications"
