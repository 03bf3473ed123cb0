import logging


class SkipRequestlessAxesRecords(logging.Filter):
    """Drop django-axes' complaints about sign-ins without a request.

    The API's token exchange (``accounts.services.token_for_credentials``) authenticates
    without a request, so axes cannot throttle it and says so at ERROR on every failed API
    sign-in. ``auth.LoginThrottleBackend`` lets those through on purpose; the log lines would
    only hide real lockouts.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "None request" not in message and "without a request" not in message
