from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import path

from handover.api.api import api

admin.site.site_header = "Handover administration"
admin.site.site_title = "Handover"

urlpatterns = [
    path("", lambda request: HttpResponseRedirect("/api/v1/docs")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
