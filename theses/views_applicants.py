"""/applicants/: the pages an applicant reaches before signing in: registering, and the e-mail verification link.

Registering answers the same whether or not the address is already registered (services.applicant_register), and
the page shares the API's allowance per address. Opening the verification link only shows a button: the account is
activated by the POST it sends, so a mail scanner fetching the link activates nothing."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from workflow_site.views import add_service_errors

from . import services
from .forms import RegistrationForm
from .throttles import registration_allowed


@require_http_methods(["GET", "HEAD", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """GET: the form; POST: services.applicant_register, its refusals on the fields (400), what was typed kept (but
    the passwords); too many attempts from one address: 429."""
    form = RegistrationForm(request.POST if request.method == "POST" else None)
    context = {"form": form, "sent": False, "error": "", "hours": services.verify_seconds() // 3600}
    if request.method != "POST":
        return render(request, "theses/public/register.html", context)
    if not registration_allowed(request):
        context["error"] = _("嘗試次數過多，請稍後再試。")
        return render(request, "theses/public/register.html", context, status=429)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.applicant_register(
                username=data["username"],
                email=data["email"],
                password=data["password"],
                display_name=data["display_name"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            context["sent"] = True
            return render(request, "theses/public/register.html", context)
    return render(request, "theses/public/register.html", context, status=400)


@require_http_methods(["GET", "HEAD", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """GET ?token=: the button; POST token: services.applicant_verify, its refusal shown on the page (400)."""
    token = (request.POST if request.method == "POST" else request.GET).get("token", "")[:500]
    context = {"token": token, "verified": None, "errors": []}
    status = 200
    if request.method == "POST":
        if not registration_allowed(request):
            context["errors"] = [_("嘗試次數過多，請稍後再試。")]
            return render(request, "theses/public/verify.html", context, status=429)
        try:
            context["verified"] = services.applicant_verify(token=token)
        except ValidationError as exc:
            context["errors"] = exc.message_dict.get("token", exc.messages)
            status = 400
    return render(request, "theses/public/verify.html", context, status=status)
