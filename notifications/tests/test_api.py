"""The in-app inbox API: own rows only, marking read, the unread count and the digest preference."""

import datetime
import itertools

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from accounts.models import Delegation
from notifications.models import Channel, Notification, NotificationPreference, ReminderRule

pytestmark = pytest.mark.django_db
_offsets = itertools.count(-60)


@pytest.fixture
def notify():
    """`notify(user, **fields)`: one delivered in-app notification about an arbitrary item."""
    rule = ReminderRule.objects.create(kind="test.api", name="測試規則")
    content_type = ContentType.objects.get_for_model(Delegation)

    def make(recipient, **fields):
        values = {
            "recipient": recipient,
            "content_type": content_type,
            "object_id": 1,
            "kind": "test.api",
            "item_title": "113年度市政創新提案",
            "url": "/proposals/1/",
            "rule": rule,
            "offset": next(_offsets),  # keeps each row distinct under notification_once
            "due_date": datetime.date(2026, 12, 31),
            "channel": Channel.IN_APP,
            "state": Notification.State.SENT,
            "sent_at": timezone.now(),
            "subject": "【提醒】113年度市政創新提案將於民國115年12月31日到期",
            "body": "請至系統辦理。",
        }
        values.update(fields)
        return Notification.objects.create(**values)

    return make


def test_anonymous_gets_401(api_client):
    for path in ("/api/v1/notifications/", "/api/v1/notifications/unread-count/", "/api/v1/notifications/preference/"):
        assert api_client.get(path).status_code == 401
    assert api_client.post("/api/v1/notifications/read-all/").status_code == 401


def test_list_shows_only_my_in_app_notifications_newest_first(api_client, make_user, notify):
    me, other, principal = make_user(), make_user(), make_user(display_name="科長 林志明")
    older = notify(me, item_title="較早的事項")
    newer = notify(me, item_title="代理的事項", on_behalf_of=principal, purpose=Notification.Purpose.ESCALATION)
    notify(other, item_title="別人的事項")
    notify(me, channel=Channel.EMAIL, state=Notification.State.PENDING, to_address="me@example.gov.tw")
    api_client.force_authenticate(me)

    response = api_client.get("/api/v1/notifications/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [row["id"] for row in body["results"]] == [newer.pk, older.pk]
    first = body["results"][0]
    assert {
        "id",
        "kind",
        "item_title",
        "url",
        "subject",
        "body",
        "due_date",
        "purpose",
        "on_behalf_of",
        "created_at",
        "read_at",
        "unread",
    } <= set(first)
    assert first["on_behalf_of"] == "科長 林志明"
    assert first["purpose"] == "escalation"
    assert first["due_date"] == "2026-12-31"
    assert first["unread"] is True and first["read_at"] is None
    assert body["results"][1]["on_behalf_of"] is None


def test_unread_filter(api_client, make_user, notify):
    me = make_user()
    unread = notify(me)
    read = notify(me, read_at=timezone.now())
    api_client.force_authenticate(me)

    assert [r["id"] for r in api_client.get("/api/v1/notifications/?unread=true").json()["results"]] == [unread.pk]
    assert [r["id"] for r in api_client.get("/api/v1/notifications/?unread=false").json()["results"]] == [read.pk]


def test_detail_and_read_of_someone_elses_notification_are_404_and_leave_it_unread(api_client, make_user, notify):
    me, other = make_user(), make_user()
    theirs = notify(other)
    api_client.force_authenticate(me)

    assert api_client.get(f"/api/v1/notifications/{theirs.pk}/").status_code == 404
    assert api_client.post(f"/api/v1/notifications/{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert api_client.get("/api/v1/notifications/999999999/").status_code == 404


def test_my_email_row_is_not_in_the_inbox(api_client, make_user, notify):
    me = make_user()
    email = notify(me, channel=Channel.EMAIL, state=Notification.State.PENDING, to_address="me@example.gov.tw")
    api_client.force_authenticate(me)

    assert api_client.get(f"/api/v1/notifications/{email.pk}/").status_code == 404
    assert api_client.post(f"/api/v1/notifications/{email.pk}/read/").status_code == 404


def test_read_sets_read_at_once_and_lowers_the_unread_count(api_client, make_user, notify):
    me = make_user()
    mine = notify(me)
    notify(me)
    api_client.force_authenticate(me)
    assert api_client.get("/api/v1/notifications/unread-count/").json() == {"unread": 2}

    first = api_client.post(f"/api/v1/notifications/{mine.pk}/read/")

    assert first.status_code == 200
    assert first.json()["id"] == mine.pk
    assert first.json()["unread"] is False
    assert first.json()["read_at"] is not None
    assert api_client.get("/api/v1/notifications/unread-count/").json() == {"unread": 1}

    again = api_client.post(f"/api/v1/notifications/{mine.pk}/read/")
    assert again.status_code == 200
    assert again.json()["read_at"] == first.json()["read_at"]
    assert api_client.get(f"/api/v1/notifications/{mine.pk}/").json()["read_at"] == first.json()["read_at"]


def test_read_all_marks_only_my_unread_rows(api_client, make_user, notify):
    me, other = make_user(), make_user()
    notify(me)
    notify(me)
    already = notify(me, read_at=timezone.now() - datetime.timedelta(days=1))
    theirs = notify(other)
    api_client.force_authenticate(me)

    response = api_client.post("/api/v1/notifications/read-all/")

    assert response.status_code == 200
    assert response.json() == {"marked": 2}
    assert api_client.get("/api/v1/notifications/unread-count/").json() == {"unread": 0}
    assert api_client.post("/api/v1/notifications/read-all/").json() == {"marked": 0}
    previous = already.read_at
    already.refresh_from_db()
    assert already.read_at == previous
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_preference_round_trip(api_client, make_user):
    me = make_user()
    api_client.force_authenticate(me)
    assert api_client.get("/api/v1/notifications/preference/").json() == {"daily_digest": False}

    response = api_client.put("/api/v1/notifications/preference/", {"daily_digest": True}, format="json")

    assert response.status_code == 200
    assert response.json() == {"daily_digest": True}
    assert api_client.get("/api/v1/notifications/preference/").json() == {"daily_digest": True}
    assert NotificationPreference.objects.get(user=me).daily_digest is True
    assert api_client.put("/api/v1/notifications/preference/", {"daily_digest": False}, format="json").json() == {
        "daily_digest": False
    }
    assert NotificationPreference.objects.get(user=me).daily_digest is False


def test_preference_requires_a_boolean(api_client, make_user):
    api_client.force_authenticate(make_user())

    response = api_client.put("/api/v1/notifications/preference/", {}, format="json")

    assert response.status_code == 400
    assert "daily_digest" in response.json()


@pytest.mark.parametrize("rows", [3, 30])
def test_list_runs_a_constant_number_of_queries(api_client, make_user, notify, django_assert_max_num_queries, rows):
    me = make_user()
    principal = make_user()
    for _ in range(rows):
        notify(me, on_behalf_of=principal)
    api_client.force_authenticate(me)

    with django_assert_max_num_queries(2):  # COUNT(*) and the page, the substitute's principal joined
        response = api_client.get("/api/v1/notifications/")

    assert len(response.json()["results"]) == rows
