"""Links to the web's pages from outside a request (e-mails, exports): always the public
address in ``HANDOVER_BASE_URL``, never an API route."""

from django.conf import settings
from django.urls import reverse


def page_url(name: str, *args: object, **kwargs: object) -> str:
    """The absolute address of the web page named ``name`` (like ``"web:order"``)."""
    return settings.HANDOVER_BASE_URL + reverse(name, args=args or None, kwargs=kwargs or None)
