"""What the models of several apps share."""

from typing import Any

from django.db import models


class AppendOnly(models.Model):
    """A row written once: saving it again or deleting it raises ``RuntimeError``, so no code
    path rewrites what the record (events, ledger, messages, notes, terms, reviews) refers to.
    Queryset updates and deletes pass by this; on the tables of ``evidence.triggers`` the
    database refuses them too, in the same words."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError(self._refusal())
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise RuntimeError(self._refusal())

    def _refusal(self) -> str:
        return f"append-only: rows of {self._meta.db_table} are never updated or deleted"
