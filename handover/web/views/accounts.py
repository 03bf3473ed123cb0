from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, LogoutView, PasswordChangeView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from handover.accounts.services import user_create
from handover.lib.errors import HandoverError
from handover.web.forms import LoginForm, PasswordForm, SignupForm

login_view = LoginView.as_view(
    template_name="web/accounts/login.html",
    authentication_form=LoginForm,
    redirect_authenticated_user=True,
)
logout_view = LogoutView.as_view()  # POST only


class _PasswordChange(PasswordChangeView):
    template_name = "web/accounts/password_change.html"
    form_class = PasswordForm
    success_url = reverse_lazy("web:offers")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password is changed.")
        return response


password_change_view = login_required(_PasswordChange.as_view())


def _next_url(request: HttpRequest) -> str | None:
    wanted = request.POST.get("next") or request.GET.get("next")
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return None


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("web:offers")
    form = SignupForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = user_create(
                username=data["username"], email=data["email"], password=data["password1"]
            )
        except HandoverError as error:
            # Another sign-up took the name (or one like it) since the form looked, or a
            # rule only the service knows.
            field = "username" if error.code.startswith("username_") else None
            form.add_error(field, error.detail)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome, {user.username}. Your account is ready.")
            return redirect(_next_url(request) or "web:offers")
    status = 422 if form.errors else 200
    context = {"form": form, "next": _next_url(request) or ""}
    return render(request, "web/accounts/signup.html", context, status=status)
