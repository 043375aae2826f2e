"""Item 5 of issue 12: wrong passwords lock the sign-in out (form and token alike), 429 with Retry-After, and the
API is throttled."""

import datetime

import pytest
import time_machine
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
LOGIN_URL = "/accounts/login/"


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def limits(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_IP_FAILURE_LIMIT = 5
    settings.LOGIN_COOLOFF_SECONDS = 600
    return settings


def token(api_client, username, password, **extra):
    return api_client.post(TOKEN_URL, {"username": username, "password": password}, format="json", **extra)


def form(client, username, password, **extra):
    return client.post(LOGIN_URL, {"username": username, "password": password}, **extra)


def test_token_locks_out_after_the_limit_with_429_json_and_retry_after(api_client, limits):
    user = UserFactory()
    for _ in range(2):
        assert token(api_client, user.username, "wrong").status_code == 400
    third = token(api_client, user.username, "wrong")
    assert third.status_code == 429
    assert third["Retry-After"] == "600"
    body = third.json()
    assert body["code"] == "login_locked_out"
    assert body["retry_after"] == 600
    assert "登入失敗次數過多" in body["detail"]
    # Locked out: even the right password is refused now.
    right = token(api_client, user.username, PASSWORD)
    assert right.status_code == 429
    assert "token" not in right.json()


def test_lockout_lifts_after_the_cool_off(api_client, limits):
    user = UserFactory()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            token(api_client, user.username, "wrong")
        assert token(api_client, user.username, PASSWORD).status_code == 429
    with time_machine.travel(start + datetime.timedelta(seconds=590), tick=False):
        # Counted from the last attempt, the refused one included.
        assert token(api_client, user.username, PASSWORD).status_code == 429
    with time_machine.travel(start + datetime.timedelta(seconds=590 + 601), tick=False):
        response = token(api_client, user.username, PASSWORD)
        assert response.status_code == 200
        assert response.json()["token"]


def test_form_locks_out_with_a_zh_hant_page_and_retry_after(client, limits):
    user = UserFactory()
    for _ in range(2):
        response = form(client, user.username, "wrong")
        assert response.status_code == 200  # the form again, with its error
    locked = form(client, user.username, "wrong")
    assert locked.status_code == 429
    assert locked["Retry-After"] == "600"
    page = locked.content.decode()
    assert "登入失敗次數過多，已暫時鎖定。請於 10 分鐘後再試。" in page
    assert "暫時無法登入" in page
    assert form(client, user.username, PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session


def test_form_and_token_failures_count_together(client, api_client, limits):
    user = UserFactory()
    form(client, user.username, "wrong")
    form(client, user.username, "wrong")
    assert token(api_client, user.username, "wrong").status_code == 429


def test_lockout_is_per_username_and_address(api_client, limits):
    victim, other = UserFactory(), UserFactory()
    for _ in range(3):
        token(api_client, victim.username, "wrong")
    assert token(api_client, victim.username, PASSWORD).status_code == 429
    # Another user from the same address still signs in (the address alone has a higher limit) ...
    assert token(api_client, other.username, PASSWORD).status_code == 200
    # ... and the victim from another address too.
    assert token(api_client, victim.username, PASSWORD, REMOTE_ADDR="10.0.0.9").status_code == 200


def test_one_address_trying_many_usernames_is_locked_out(api_client, limits):
    users = [UserFactory() for _ in range(5)]
    for user in users[:4]:
        assert token(api_client, user.username, "wrong").status_code == 400
    assert token(api_client, users[4].username, "wrong").status_code == 429
    fresh = UserFactory()
    assert token(api_client, fresh.username, PASSWORD).status_code == 429
    assert token(api_client, fresh.username, PASSWORD, REMOTE_ADDR="10.0.0.9").status_code == 200


def test_success_clears_the_failures(api_client, limits):
    user = UserFactory()
    token(api_client, user.username, "wrong")
    token(api_client, user.username, "wrong")
    assert token(api_client, user.username, PASSWORD).status_code == 200
    token(api_client, user.username, "wrong")
    assert token(api_client, user.username, PASSWORD).status_code == 200


def test_forwarded_address_counts_only_behind_a_trusted_proxy(api_client, limits):
    user = UserFactory()
    # No trusted proxy: a forged X-Forwarded-For does not escape the lockout.
    for n in range(3):
        token(api_client, user.username, "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert token(api_client, user.username, PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 429
    limits.TRUSTED_PROXY_COUNT = 1
    assert token(api_client, user.username, PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 200


RATES = {"anon": "3/minute", "user": "4/minute", "auth_token": "2/minute"}


def throttled(rates):
    from django.conf import settings

    return override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates})


def test_signed_in_api_calls_are_throttled_with_429_and_retry_after(api_client):
    api_client.force_authenticate(UserFactory())
    with throttled(RATES):
        for _ in range(4):
            assert api_client.get("/api/v1/me/").status_code == 200
        response = api_client.get("/api/v1/me/")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert "detail" in response.json()


def test_anonymous_api_calls_are_throttled(api_client):
    """Endpoints open to anonymous callers (only the token one) count per address on the anonymous rate too."""
    user = UserFactory()
    with throttled({**RATES, "auth_token": "100/minute"}):
        for _ in range(3):
            assert token(api_client, user.username, PASSWORD).status_code == 200
        assert token(api_client, user.username, PASSWORD).status_code == 429
        assert token(api_client, user.username, PASSWORD, REMOTE_ADDR="10.0.0.9").status_code == 200


def test_token_endpoint_has_a_stricter_rate(api_client):
    user = UserFactory()
    with throttled(RATES):
        assert token(api_client, user.username, PASSWORD).status_code == 200
        assert token(api_client, user.username, PASSWORD).status_code == 200
        response = token(api_client, user.username, PASSWORD)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


def test_a_success_does_not_clear_the_addresss_count_of_other_usernames(api_client, limits):
    """An attacker holding one account cannot reset the per-address count by signing in between guesses."""
    mine, *targets = [UserFactory() for _ in range(5)]
    for target in targets[:2]:
        token(api_client, target.username, "wrong")
        token(api_client, target.username, "wrong")
    assert token(api_client, mine.username, PASSWORD).status_code == 200
    assert token(api_client, targets[2].username, "wrong").status_code == 429  # 5 failures from this address


def test_production_counts_the_address_the_proxy_saw():
    """Production sits behind a reverse proxy (it trusts X-Forwarded-Proto): counting the proxy's own address
    would lock everyone out together."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TRUSTED_PROXY", "DJANGO_"))},
        "DJANGO_SETTINGS_MODULE": "workflow_site.settings.production",
        "DJANGO_SECRET_KEY": "x" * 60,
        "DJANGO_ALLOWED_HOSTS": "rdec.kcg.example.gov.tw",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/rdec",
    }
    code = (
        "import django; django.setup(); from django.conf import settings; from django.test import RequestFactory;"
        "from accounts.auth import client_ip;"
        "r = RequestFactory().get('/', REMOTE_ADDR='10.0.0.1', HTTP_X_FORWARDED_FOR='6.6.6.6, 192.0.2.7');"
        "print(client_ip(r), settings.REST_FRAMEWORK['NUM_PROXIES'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["192.0.2.7", "1"]
