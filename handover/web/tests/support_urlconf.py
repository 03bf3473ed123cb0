"""The site's URLs with the support desk's in the ``web`` namespace, for the tests of
those pages until ``web/urls.py`` includes ``support_urls`` itself."""

from django.urls import include, path

from handover.urls import handler404, handler500
from handover.urls import urlpatterns as site
from handover.web import support_urls
from handover.web import urls as web_urls

web = ([*web_urls.urlpatterns, path("", include(support_urls))], "web")
urlpatterns = [*(p for p in site if str(p.pattern)), path("", include(web))]

__all__ = ["handler404", "handler500", "urlpatterns"]
