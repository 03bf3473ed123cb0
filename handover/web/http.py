from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from handover.accounts.models import User


class WebRequest(HttpRequest):
    """A request to a page that ``login_required`` let through, with django-htmx's details."""

    user: User
    htmx: HtmxDetails
