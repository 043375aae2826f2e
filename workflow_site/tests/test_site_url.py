"""Links in e-mails point where the site is served: SITE_URL when set, else the request's host and port."""

from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from workflow_site.site_url import LOCAL_DEFAULT, SiteUrlMiddleware, site_url


def _seen_during(request) -> str:
    seen = []
    SiteUrlMiddleware(lambda r: seen.append(site_url()) or HttpResponse())(request)
    return seen[0]


@override_settings(SITE_URL="", ALLOWED_HOSTS=["rdec.example.gov.tw", "127.0.0.1"])
def test_unset_it_follows_the_request_being_served():
    assert _seen_during(RequestFactory().get("/", HTTP_HOST="127.0.0.1:8123")) == "http://127.0.0.1:8123"
    secure = RequestFactory().get("/", HTTP_HOST="rdec.example.gov.tw", secure=True)
    assert _seen_during(secure) == "https://rdec.example.gov.tw"
    assert site_url() == LOCAL_DEFAULT  # after the request, and in the worker


@override_settings(SITE_URL="", ALLOWED_HOSTS=["127.0.0.1"])
def test_a_host_the_site_does_not_serve_is_not_used():
    assert _seen_during(RequestFactory().get("/", HTTP_HOST="evil.example")) == LOCAL_DEFAULT


@override_settings(SITE_URL="https://rdec.kcg.example.gov.tw/", ALLOWED_HOSTS=["127.0.0.1"])
def test_set_it_wins():
    assert _seen_during(RequestFactory().get("/", HTTP_HOST="127.0.0.1:8123")) == "https://rdec.kcg.example.gov.tw"
