"""Content-Security-Policy on every response, from settings.CONTENT_SECURITY_POLICY (Django 5.2 has none built in).

The policy is a mapping of directive to sources, e.g. {"default-src": ["'self'"], ...}; a directive with no sources
is sent bare (`upgrade-insecure-requests`). A view may set its own Content-Security-Policy header: it is kept.
No template of ours, viewflow's or Swagger UI's needs an inline <script> (Swagger UI is served split: its start-up
script is a separate request), so there is no nonce. The few inline event handlers viewflow's action pages and our
print page carry (`onclick="window.history.back(-1)"`) are allowed one by one by hash ('unsafe-hashes').
"""

from collections.abc import Mapping, Sequence

from django.conf import settings

HEADER = "Content-Security-Policy"
REPORT_ONLY_HEADER = "Content-Security-Policy-Report-Only"


def build_policy(policy: Mapping[str, Sequence[str]]) -> str:
    return "; ".join(" ".join([directive, *sources]) for directive, sources in policy.items())


class ContentSecurityPolicyMiddleware:
    """Adds the policy; CONTENT_SECURITY_POLICY_REPORT_ONLY = True sends it as Report-Only (to try a change)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", None)
        if not policy:
            return response
        header = REPORT_ONLY_HEADER if getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", False) else HEADER
        if header not in response:
            response[header] = build_policy(policy)
        return response
