"""Settings for the crash test's processes: Handover's own, with webhooks allowed to reach
the test's endpoint on 127.0.0.1."""

from handover.settings import *  # noqa: F403

HANDOVER_WEBHOOK_ALLOW_PRIVATE = True
# The production hasher costs about a second per account here.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
