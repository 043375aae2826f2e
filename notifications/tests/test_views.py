"""我的通知 page and the header count on every back-office page."""

import datetime
import itertools

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Delegation
from notifications.context_processors import unread_notifications
from notifications.models import Channel, Notification, NotificationPreference, ReminderRule

pytestmark = pytest.mark.django_db
_offsets = itertools.count(-60)


@pytest.fixture
def notify():
    """`notify(user, **fields)`: one delivered in-app notification about an arbitrary item."""
    rule = ReminderRule.objects.create(kind="test.views", name="測試規則")
    content_type = ContentType.objects.get_for_model(Delegation)

    def make(recipient, **fields):
        values = {
            "recipient": recipient,
            "content_type": content_type,
            "object_id": 1,
            "kind": "test.views",
            "item_title": "113年度市政創新提案",
            "url": "/proposals/1/",
            "rule": rule,
            "offset": next(_offsets),  # keeps each row distinct under notification_once
            "due_date": datetime.date(2026, 12, 31),
            "channel": Channel.IN_APP,
            "state": Notification.State.SENT,
            "sent_at": timezone.now(),
            "subject": "【提醒】事項即將到期",
            "body": "請至系統辦理。",
        }
        values.update(fields)
        return Notification.objects.create(**values)

    return make


def test_page_requires_login(client):
    response = client.get("/notifications/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert client.post("/notifications/read-all/").status_code == 302


def test_page_lists_my_notifications_and_not_others(client, make_user, notify):
    me, other = make_user(), make_user()
    principal = make_user(display_name="科長 林志明")
    notify(me, item_title="工務局年度施政計畫", url="/plans/7/", subject="【提醒】工務局年度施政計畫即將到期")
    notify(me, item_title="代理的提案", on_behalf_of=principal, read_at=timezone.now())
    notify(other, item_title="別人的論文補助")
    notify(me, item_title="寄信的事項", channel=Channel.EMAIL, state=Notification.State.PENDING, to_address="a@b.tw")
    client.force_login(me)

    response = client.get("/notifications/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1" in html and "我的通知" in html
    assert "【提醒】工務局年度施政計畫即將到期" in html
    assert '<a href="/plans/7/">工務局年度施政計畫</a>' in html
    assert "民國115年12月31日" in html  # ROC due date
    assert "代理 科長 林志明" in html
    assert "別人的論文補助" not in html
    assert "寄信的事項" not in html
    assert html.count('class="rdec-unread"') == 1
    assert html.count(">標示為已讀</button>") == 1  # only the unread row has the button
    assert "全部標示為已讀" in html
    assert "以每日摘要寄送提醒" in html and 'for="id_daily_digest"' in html
    assert "csrfmiddlewaretoken" in html


def test_page_paginates_by_50(client, make_user, notify):
    me = make_user()
    for _ in range(51):
        notify(me)
    client.force_login(me)

    first = client.get("/notifications/")
    second = client.get("/notifications/?page=2")

    assert len(first.context["notifications"]) == 50
    assert len(second.context["notifications"]) == 1
    assert 'rel="next"' in first.content.decode()


def test_mark_read_button_marks_the_row_and_redirects_back(client, make_user, notify):
    me = make_user()
    mine = notify(me)
    client.force_login(me)

    response = client.post(f"/notifications/{mine.pk}/read/", {"next": "/notifications/?page=1"})

    assert response.status_code == 302
    assert response["Location"] == "/notifications/?page=1"
    mine.refresh_from_db()
    assert mine.read_at is not None
    page = client.get("/notifications/").content.decode()
    assert 'class="rdec-unread"' not in page


def test_mark_read_refuses_an_off_site_next(client, make_user, notify):
    me = make_user()
    mine = notify(me)
    client.force_login(me)

    response = client.post(f"/notifications/{mine.pk}/read/", {"next": "https://evil.example/"})

    assert response["Location"] == "/notifications/"


def test_mark_read_of_someone_elses_row_is_404(client, make_user, notify):
    me, other = make_user(), make_user()
    theirs = notify(other)
    client.force_login(me)

    assert client.post(f"/notifications/{theirs.pk}/read/").status_code == 404
    assert client.get(f"/notifications/{theirs.pk}/read/").status_code == 405
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_read_needs_the_csrf_token(make_user, notify):
    from django.test import Client

    me = make_user()
    mine = notify(me)
    client = Client(enforce_csrf_checks=True)
    client.force_login(me)

    assert client.post(f"/notifications/{mine.pk}/read/").status_code == 403
    mine.refresh_from_db()
    assert mine.read_at is None


def test_mark_all_read(client, make_user, notify):
    me, other = make_user(), make_user()
    notify(me)
    notify(me)
    theirs = notify(other)
    client.force_login(me)

    response = client.post("/notifications/read-all/", follow=True)

    assert response.redirect_chain[-1][0] == "/notifications/"
    assert "已將 2 則通知標示為已讀。" in response.content.decode()
    assert not Notification.objects.filter(recipient=me, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_daily_digest_preference_form(client, make_user):
    me = make_user()
    client.force_login(me)

    client.post("/notifications/preference/", {"daily_digest": "on"})
    assert NotificationPreference.objects.get(user=me).daily_digest is True
    assert 'name="daily_digest" id="id_daily_digest" checked' in client.get("/notifications/").content.decode()

    client.post("/notifications/preference/", {})
    assert NotificationPreference.objects.get(user=me).daily_digest is False


@pytest.mark.parametrize("path", ["/", "/directory/", "/notifications/"])
def test_header_shows_my_unread_count_on_back_office_pages(client, make_user, notify, path):
    me, other = make_user(), make_user()
    notify(me)
    notify(me)
    notify(me, read_at=timezone.now())
    notify(other)
    client.force_login(me)

    response = client.get(path, follow=True)

    assert response.status_code == 200
    html = response.content.decode()
    assert "我的通知 (2)" in html
    assert 'aria-label="我的通知，2 則未讀"' in html
    assert 'href="/notifications/"' in html


def test_header_count_is_lazy(rf, make_user):
    request = rf.get("/")
    request.user = make_user()

    with CaptureQueriesContext(connection) as queries:
        context = unread_notifications(request)
    assert len(queries) == 0

    with CaptureQueriesContext(connection) as queries:
        assert context["unread_notifications"] == 0
    assert len(queries) == 1


def test_header_count_for_anonymous_runs_no_query(rf):
    from django.contrib.auth.models import AnonymousUser

    request = rf.get("/")
    request.user = AnonymousUser()

    with CaptureQueriesContext(connection) as queries:
        assert unread_notifications(request)["unread_notifications"] == 0
    assert len(queries) == 0
