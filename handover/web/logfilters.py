import logging


class SkipRequestlessAxesRecords(logging.Filter):
    """Drop django-axes' complaints about sign-ins without a request.

    Callers that authenticate without a request (management commands, the test client's
    ``login``) cannot be throttled, and axes says so at ERROR on every failure.
    ``auth.LoginThrottleBackend`` lets those through on purpose; the log lines would only
    hide real lockouts.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "None request" not in message and "without a request" not in message
