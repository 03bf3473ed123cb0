from handover.ops.checks import stripe_settings_check


def test_the_stripe_provider_needs_its_three_keys_and_never_repeats_them(settings):
    settings.HANDOVER_PAYMENT_PROVIDER = "stripe"
    settings.HANDOVER_STRIPE_SECRET_KEY = "pk_live_wrongplace"
    settings.HANDOVER_STRIPE_PUBLISHABLE_KEY = ""
    settings.HANDOVER_STRIPE_WEBHOOK_SECRET = "whsec_abc"
    errors = stripe_settings_check(None)
    assert [e.msg.split(" needs ")[1].split(" ")[0].rstrip(".") for e in errors] == [
        "HANDOVER_STRIPE_SECRET_KEY",
        "HANDOVER_STRIPE_PUBLISHABLE_KEY",
    ]
    assert all("pk_live_wrongplace" not in e.msg + (e.hint or "") for e in errors)


def test_other_providers_need_no_stripe_keys(settings):
    settings.HANDOVER_PAYMENT_PROVIDER = "manual"
    settings.HANDOVER_STRIPE_SECRET_KEY = ""
    assert stripe_settings_check(None) == []
