from typing import Any

from django.conf import settings
from django.db import models

from handover.delivery.kinds import Kind


class Delivery(models.Model):
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="deliveries")
    message = models.TextField(blank=True)
    created_at = models.DateTimeField()
    # Set when the seller releases this delivery's originals before completion.
    released_early_at = models.DateTimeField(null=True, blank=True)
    # Not columns: the rows ``order_deliver`` wrote with this delivery, so that its answer
    # is made without reading them back.
    made_files: list["DeliveryFile"]
    made_checklist: list["ChecklistItem"]

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"Delivery {self.pk} of order {self.order_id}"

    @property
    def files_size(self) -> int:
        """The bytes of all its originals (from ``files``, prefetched where shown)."""
        return sum(file.size for file in self.files.all())


class ChecklistItem(models.Model):
    """The seller's word that a delivery answers one of the order's requirement items."""

    delivery = models.ForeignKey(Delivery, on_delete=models.PROTECT, related_name="checklist")
    requirement = models.PositiveSmallIntegerField(help_text="Index into the order's requirements.")
    note = models.TextField(blank=True)
    # The files of the delivery the seller ticked for this item; every file of the delivery
    # where the seller named none (the delivery as a whole answers it).
    files: models.ManyToManyField["DeliveryFile", Any] = models.ManyToManyField(
        "DeliveryFile", related_name="checklist_items"
    )
    # Not a column: the files ``order_deliver`` linked, so that its answer reads none back.
    made_files: list["DeliveryFile"]

    class Meta:
        ordering = ["delivery", "requirement"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "requirement"], name="checklist_item_once"),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id}: requirement {self.requirement}"


class PreviewState(models.TextChoices):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"
    NONE = "none"  # a kind shown only as name, size, type and hash


class DeliveryFile(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.PROTECT, related_name="files")
    storage_key = models.CharField(max_length=200, unique=True)
    name = models.CharField(max_length=255, help_text="The uploaded name, for display only.")
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    # Decided from the bytes, never from the name or the type the uploader declared.
    kind = models.CharField(max_length=16, choices=[(k.value, k.value) for k in Kind])
    content_type = models.CharField(max_length=100)
    preview_state = models.CharField(max_length=16, choices=PreviewState.choices)
    preview_reason = models.CharField(max_length=300, blank=True)
    preview_info = models.JSONField(default=dict, blank=True)
    # How often a worker began making the preview, and until when the latest (or the queued)
    # attempt may take: past that with the preview still pending, its worker stopped, and the
    # sweep queues it again (``preview_resume_stalled``).
    preview_attempts = models.PositiveSmallIntegerField(default=0)
    preview_lease_until = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class PreviewPart(models.Model):
    """One file of a preview: the watermarked image, a PDF page, a snippet, a clip."""

    file = models.ForeignKey(DeliveryFile, on_delete=models.PROTECT, related_name="preview_parts")
    index = models.PositiveSmallIntegerField()
    storage_key = models.CharField(max_length=200, unique=True)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["file", "index"]
        constraints = [
            models.UniqueConstraint(fields=["file", "index"], name="preview_part_once"),
        ]

    def __str__(self) -> str:
        return f"{self.file_id}/{self.index}"


class PreviewViewTally(models.Model):
    """Repeated views of one preview part by one user within a window
    (``HANDOVER_PREVIEW_VIEW_WINDOW``): the first view is an event at once; the views after it
    are counted here and written as one event with their count when the window closes, so
    the append-only log grows with what happened, not with how often someone looked."""

    part = models.ForeignKey(PreviewPart, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(db_index=True)  # the window's first view
    last_at = models.DateTimeField()
    repeats = models.PositiveIntegerField(default=0)  # views after the first
    bytes = models.PositiveBigIntegerField(default=0)  # sent by those views

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["part", "user"], name="preview_view_tally_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.part_id}: {self.repeats}"


class DownloadRefusal(models.TextChoices):
    NOT_RELEASED = "not_released"
    ACCESS_ENDED = "access_ended"
