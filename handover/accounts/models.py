import hashlib
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models

from handover.accounts.rules import username_skeleton


class Role(models.TextChoices):
    MEMBER = "member", "Member"  # buys and sells
    SUPPORT = "support", "Support agent"
    OPERATOR = "operator", "Operator"


class User(AbstractUser):
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    # What the name looks like (accounts.rules.username_skeleton), unique so that no account
    # can pass for another; set by save(). NULL (not "", which would collide) only for an
    # account whose name already looked like an older one's when the column came (migration
    # 0002). A name has at most 150 characters, a character's skeleton at most 5.
    name_skeleton = models.CharField(  # noqa: DJ001
        max_length=750, unique=True, null=True, editable=False
    )
    # When the owner followed the link sent to ``email`` (accounts.services); NULL until then,
    # and again after the address changes. Orders and offers wait for it.
    email_verified_at = models.DateTimeField(null=True, blank=True)
    # An IANA name (accounts.rules.time_zone_valid); every page and e-mail shows times in it.
    time_zone = models.CharField(max_length=64, default="UTC")

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        renamed = update_fields is None or "username" in update_fields
        # An account left without a skeleton by migration 0002 keeps none: its name would
        # collide with the older one it looks like.
        if renamed and (self._state.adding or self.name_skeleton is not None):
            self.name_skeleton = username_skeleton(self.username)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "name_skeleton"}
        super().save(*args, **kwargs)

    @property
    def is_support(self) -> bool:
        """Support agents and operators may work disputes and see every order."""
        return self.role in (Role.SUPPORT, Role.OPERATOR)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token; only its SHA-256 is stored, the token itself is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
