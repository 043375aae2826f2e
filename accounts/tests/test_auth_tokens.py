"""Item 6 of issue 12: a token per sign-in that expires, listed and revocable; sessions end when idle; sign out
everywhere."""

import datetime

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

HOUR = 3600


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()


def sign_in(username, **extra) -> tuple[APIClient, dict]:
    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"username": username, "password": PASSWORD}, **extra)
    assert response.status_code == 200, response.content
    body = response.json()
    client.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    return client, body


def test_each_sign_in_gets_a_new_token_and_both_work():
    user = UserFactory()
    first, one = sign_in(user.username)
    second, two = sign_in(user.username)
    assert one["token"] != two["token"]
    assert first.get("/api/v1/me/").status_code == 200
    assert second.get("/api/v1/me/").status_code == 200
    assert one["idle_timeout"] == 8 * HOUR
    # Only a hash is stored: the key itself is nowhere in the database.
    assert not ApiToken.objects.filter(key_hash=one["token"]).exists()
    assert not ApiToken.objects.filter(prefix=one["token"]).exists()


def test_token_expires_when_idle_and_activity_keeps_it(settings):
    settings.API_TOKEN_IDLE_TIMEOUT = 2 * HOUR
    user = UserFactory()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client, _ = sign_in(user.username)
    with time_machine.travel(start + datetime.timedelta(seconds=2 * HOUR - 60), tick=False):
        assert client.get("/api/v1/me/").status_code == 200  # used: the idle clock starts again
    with time_machine.travel(start + datetime.timedelta(seconds=4 * HOUR - 120), tick=False):
        assert client.get("/api/v1/me/").status_code == 200
    with time_machine.travel(start + datetime.timedelta(seconds=6 * HOUR), tick=False):
        response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["detail"] == "權杖已過期，請重新登入。"


def test_token_expires_at_its_maximum_age_however_busy(settings):
    settings.API_TOKEN_MAX_AGE = 24 * HOUR
    user = UserFactory()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client, body = sign_in(user.username)
    for hours in range(4, 24, 4):
        with time_machine.travel(start + datetime.timedelta(hours=hours), tick=False):
            assert client.get("/api/v1/me/").status_code == 200
    with time_machine.travel(start + datetime.timedelta(hours=24), tick=False):
        assert client.get("/api/v1/me/").status_code == 401
    assert datetime.datetime.fromisoformat(body["expires_at"]) == start + datetime.timedelta(hours=24)


def test_a_token_of_a_deactivated_user_is_refused():
    user = UserFactory()
    client, _ = sign_in(user.username)
    user.is_active = False
    user.save()
    assert client.get("/api/v1/me/").status_code == 401


def test_old_never_expiring_drf_tokens_no_longer_authenticate():
    user = UserFactory()
    old = Token.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {old.key}")
    assert client.get("/api/v1/me/").status_code == 401


def test_tokens_are_listed_for_their_owner_only():
    user, other = UserFactory(), UserFactory()
    client, first = sign_in(user.username, HTTP_USER_AGENT="curl/8")
    _, second = sign_in(user.username)
    sign_in(other.username)
    listing = client.get("/api/v1/auth/tokens/")
    assert listing.status_code == 200
    rows = listing.json()
    assert [r["id"] for r in rows] == [second["id"], first["id"]]
    assert rows[1]["current"] is True and rows[0]["current"] is False
    assert rows[1]["prefix"] == first["token"][:8]
    assert rows[1]["user_agent"] == "curl/8"
    assert "token" not in rows[0] and "key_hash" not in rows[0]


def test_expired_tokens_are_not_listed(settings):
    settings.API_TOKEN_IDLE_TIMEOUT = HOUR
    user = UserFactory()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        sign_in(user.username)
    with time_machine.travel(start + datetime.timedelta(hours=2), tick=False):
        client, fresh = sign_in(user.username)
        assert [r["id"] for r in client.get("/api/v1/auth/tokens/").json()] == [fresh["id"]]


def test_expired_tokens_are_deleted_at_the_next_sign_in_of_anyone(settings):
    settings.API_TOKEN_IDLE_TIMEOUT = HOUR
    gone, busy = UserFactory(), UserFactory()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        sign_in(gone.username)
        sign_in(busy.username)
    with time_machine.travel(start + datetime.timedelta(hours=2), tick=False):
        sign_in(busy.username)
    assert list(ApiToken.objects.values_list("user", flat=True)) == [busy.pk]


def test_revoking_a_token_makes_it_401_and_leaves_the_others():
    user = UserFactory()
    client, first = sign_in(user.username)
    other_client, second = sign_in(user.username)
    assert client.delete(f"/api/v1/auth/tokens/{second['id']}/").status_code == 204
    assert other_client.get("/api/v1/me/").status_code == 401
    assert client.get("/api/v1/me/").status_code == 200
    assert client.delete(f"/api/v1/auth/tokens/{first['id']}/").status_code == 204  # its own, too
    assert client.get("/api/v1/me/").status_code == 401


def test_nobody_revokes_someone_elses_token():
    victim, attacker = UserFactory(), UserFactory()
    victim_client, victim_token = sign_in(victim.username)
    attacker_client, _ = sign_in(attacker.username)
    assert attacker_client.delete(f"/api/v1/auth/tokens/{victim_token['id']}/").status_code == 404
    assert attacker_client.delete("/api/v1/auth/tokens/not-a-number/").status_code == 404
    assert victim_client.get("/api/v1/me/").status_code == 200
    assert APIClient().get("/api/v1/auth/tokens/").status_code == 401


def test_logout_all_revokes_every_token_and_session_of_the_user_only(client):
    user, bystander = UserFactory(), UserFactory()
    api_one, _ = sign_in(user.username)
    api_two, _ = sign_in(user.username)
    other_api, _ = sign_in(bystander.username)
    browser = client
    assert browser.post("/accounts/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
    assert browser.get("/api/v1/me/").status_code == 200
    from django.test import Client

    other_browser = Client()
    other_browser.post("/accounts/login/", {"username": bystander.username, "password": PASSWORD})

    response = api_one.post("/api/v1/auth/logout-all/")
    assert response.status_code == 200
    assert response.json() == {"tokens": 2, "sessions": 1}
    assert api_one.get("/api/v1/me/").status_code == 401
    assert api_two.get("/api/v1/me/").status_code == 401
    assert browser.get("/api/v1/me/").status_code == 401  # the session is gone
    assert browser.get("/").status_code == 302
    assert other_api.get("/api/v1/me/").status_code == 200
    assert other_browser.get("/api/v1/me/").status_code == 200


def test_logout_all_needs_a_signed_in_user():
    assert APIClient().post("/api/v1/auth/logout-all/").status_code == 401


def test_session_ends_after_the_idle_timeout_and_activity_renews_it(client, settings):
    settings.SESSION_COOKIE_AGE = 30 * 60
    user = UserFactory()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert client.post("/accounts/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
    with time_machine.travel(start + datetime.timedelta(minutes=25), tick=False):
        assert client.get("/api/v1/me/").status_code == 200
    with time_machine.travel(start + datetime.timedelta(minutes=50), tick=False):
        assert client.get("/api/v1/me/").status_code == 200  # 25 minutes after the last request
    with time_machine.travel(start + datetime.timedelta(minutes=81), tick=False):
        assert client.get("/api/v1/me/").status_code == 401
        assert client.get("/").status_code == 302
