from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from django.views import defaults

from handover.api.api import api
from handover.web.forms import AdminLoginForm

admin.site.site_header = "Handover administration"
admin.site.site_title = "Handover"
admin.site.login_form = AdminLoginForm  # says when an account is suspended

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("handover.web.urls")),
]


def handler404(request, exception):
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "not_found", "detail": "No such API route."}, status=404)
    return defaults.page_not_found(request, exception)


def handler500(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "server_error", "detail": "Something broke."}, status=500)
    return defaults.server_error(request)
