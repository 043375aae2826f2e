"""/applicants/verify/: where the link in the registration e-mail lands (no sign-in). Opening the link only shows a
button: the account is activated by the POST it sends, so a mail scanner fetching the link activates nothing."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from . import services


@require_http_methods(["GET", "HEAD", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """GET ?token=: the button; POST token: services.applicant_verify, its refusal shown on the page (400)."""
    token = (request.POST if request.method == "POST" else request.GET).get("token", "")[:500]
    context = {"token": token, "verified": None, "errors": []}
    status = 200
    if request.method == "POST":
        try:
            context["verified"] = services.applicant_verify(token=token)
        except ValidationError as exc:
            context["errors"] = exc.message_dict.get("token", exc.messages)
            status = 400
    return render(request, "theses/public/verify.html", context, status=status)
