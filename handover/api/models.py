from django.db import models


class IdempotencyRecord(models.Model):
    """The first answer to a POST with an Idempotency-Key, replayed for a retry of it."""

    scope = models.CharField(max_length=40)  # whose key: "user:<id>", or "anon:<address hash>"
    key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64)  # method, path, body (files by content hash)
    status = models.PositiveSmallIntegerField()
    content_type = models.CharField(max_length=100)
    body = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
