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


@register()
def stripe_settings_check(app_configs, **kwargs) -> list[CheckMessage]:
    """With the stripe provider, payments cannot start or be confirmed without its keys."""
    if settings.HANDOVER_PAYMENT_PROVIDER != "stripe":
        return []
    needed = {
        "HANDOVER_STRIPE_SECRET_KEY": ("sk_", "rk_"),
        "HANDOVER_STRIPE_PUBLISHABLE_KEY": ("pk_",),
        "HANDOVER_STRIPE_WEBHOOK_SECRET": ("whsec_",),
    }
    errors: list[CheckMessage] = []
    for name, prefixes in needed.items():
        value = getattr(settings, name)
        if not value.startswith(prefixes):
            # The value itself is never repeated: it may be a key pasted into the wrong place.
            errors.append(
                Error(
                    f"HANDOVER_PAYMENT_PROVIDER=stripe needs {name}"
                    + (" (it does not look like one)." if value else "."),
                    hint=f"Copy it from Stripe's dashboard: it starts with {' or '.join(prefixes)}",
                    id="handover.E002",
                )
            )
    return errors
