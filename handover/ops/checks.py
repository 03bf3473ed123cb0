"""System checks of the operator's settings, run by ``handover check`` (and ``--deploy``)."""

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.checks.mail import NON_PRODUCTION_EMAIL_BACKENDS

SMTP = "django.core.mail.backends.smtp.EmailBackend"


@register(Tags.mail)
def mail_on_a_public_site_check(app_configs, **kwargs) -> list[CheckMessage]:
    """With HANDOVER_HTTPS the site is public: it refuses to start with mail nobody gets."""
    return _mailer_errors() if settings.HANDOVER_HTTPS else []


@register(Tags.mail, deploy=True)
def mail_deploy_check(app_configs, **kwargs) -> list[CheckMessage]:
    # With HANDOVER_HTTPS the check above has said it already.
    return [] if settings.HANDOVER_HTTPS else _mailer_errors()


def _mailer_errors() -> list[CheckMessage]:
    backend = settings.MAILERS.get("default", {}).get("BACKEND", SMTP)
    if backend not in NON_PRODUCTION_EMAIL_BACKENDS:
        return []
    return [
        Error(
            f"E-mail is never sent: HANDOVER_EMAIL_BACKEND is {backend}, a backend for "
            "development, so nobody hears of their orders, deliveries or disputes.",
            hint=(
                f"Set HANDOVER_EMAIL_BACKEND={SMTP} and HANDOVER_SMTP_HOST (README: Running in "
                "production)."
            ),
            id="handover.E001",
        )
    ]
