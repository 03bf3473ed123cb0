from django.db import models


class Delivery(models.Model):
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="deliveries")
    message = models.TextField(blank=True)
    created_at = models.DateTimeField()
    # Set when the seller releases this delivery's originals before completion.
    released_early_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"Delivery {self.pk} of order {self.order_id}"


class DeliveryFile(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.PROTECT, related_name="files")
    storage_key = models.CharField(max_length=200, unique=True)
    name = models.CharField(max_length=255, help_text="The uploaded name, for display only.")
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=100)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class DownloadRefusal(models.TextChoices):
    NOT_RELEASED = "not_released"
    ACCESS_ENDED = "access_ended"
