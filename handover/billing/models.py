from django.db import models

from handover.lib.models import AppendOnly


class WebhookEvent(AppendOnly):
    """A provider's webhook event, stored when it is applied: a replay of the same event id
    finds it here and changes nothing."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=255, blank=True)
    created = models.DateTimeField()  # when the provider made the event
    received_at = models.DateTimeField()
    payload = models.JSONField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["object_id"])]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
