"""The admin: reminder rules are edited there; notifications are a read-only proof-of-notice log."""

import datetime
import itertools

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from accounts.models import Delegation
from accounts.tests.factories import UserFactory
from notifications.models import Channel, Notification, ReminderRule
from notifications.services import notification_preference_set
from tests.deadline_fixture.source import KIND

pytestmark = pytest.mark.django_db
_offsets = itertools.count(-60)
CHANGELIST = "/admin/notifications/notification/"


@pytest.fixture
def notify():
    rule = ReminderRule.objects.create(kind="test.admin", name="測試規則")
    content_type = ContentType.objects.get_for_model(Delegation)

    def make(recipient, **fields):
        values = {
            "recipient": recipient,
            "content_type": content_type,
            "object_id": 1,
            "kind": "test.admin",
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


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    return client


def _subjects(response) -> list[str]:
    return sorted(n.subject for n in response.context["cl"].result_list)


def test_changelist_searches_by_recipient(admin_client, notify):
    clerk = UserFactory(username="pwb.clerk", display_name="承辦 黃雅婷", email="clerk@pwb.gov.tw")
    other = UserFactory(username="tb.clerk", display_name="承辦 陳建宏")
    notify(clerk, subject="給黃雅婷")
    notify(clerk, subject="寄給黃雅婷", channel=Channel.EMAIL, to_address="yating@mail.pwb.gov.tw")
    notify(other, subject="給陳建宏")

    assert _subjects(admin_client.get(CHANGELIST, {"q": "pwb.clerk"})) == ["寄給黃雅婷", "給黃雅婷"]
    assert _subjects(admin_client.get(CHANGELIST, {"q": "黃雅婷"})) == ["寄給黃雅婷", "給黃雅婷"]
    assert _subjects(admin_client.get(CHANGELIST, {"q": "clerk@pwb.gov.tw"})) == ["寄給黃雅婷", "給黃雅婷"]
    assert _subjects(admin_client.get(CHANGELIST, {"q": "yating@mail"})) == ["寄給黃雅婷"]


def test_changelist_searches_by_item(admin_client, notify):
    user = UserFactory()
    notify(user, subject="提案", item_title="113年度市政創新提案", object_id=41)
    notify(user, subject="論文", item_title="學位論文補助申請", object_id=42)

    assert _subjects(admin_client.get(CHANGELIST, {"q": "論文補助"})) == ["論文"]
    assert _subjects(admin_client.get(CHANGELIST, {"q": "41"})) == ["提案"]


def test_changelist_filters_by_channel_and_state_with_recipients_joined(
    admin_client, notify, django_assert_max_num_queries
):
    users = UserFactory.create_batch(3)
    for user in users:
        notify(user)
        notify(user, channel=Channel.EMAIL, state=Notification.State.DEAD, to_address="x@y.tw", attempts=5)

    with django_assert_max_num_queries(12):
        response = admin_client.get(CHANGELIST, {"channel__exact": "email", "state__exact": "dead"})

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 3


def test_notifications_are_read_only_evidence(admin_client, notify):
    row = notify(UserFactory(), subject="原本的主旨")

    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    detail = admin_client.get(f"{CHANGELIST}{row.pk}/change/")
    assert detail.status_code == 200
    assert 'name="subject"' not in detail.content.decode()  # shown, not editable
    assert admin_client.post(f"{CHANGELIST}{row.pk}/change/", {"subject": "改過"}).status_code == 403
    assert admin_client.post(f"{CHANGELIST}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    row.refresh_from_db()
    assert row.subject == "原本的主旨"


def test_reminder_rule_is_edited_through_full_clean(admin_client):
    form = {
        "kind": KIND,
        "name": "測試期限提醒",
        "offsets": "[-3, 0, 1]",
        "channels": '["email", "in_app"]',
        "escalate_after": "2",
        "subject_template": "【提醒】{{ title }}",
        "body_template": "{{ title }}",
        "escalation_subject_template": "【逾期】{{ title }}",
        "escalation_body_template": "{{ title }}",
        "active": "on",
    }

    refused = admin_client.post("/admin/notifications/reminderrule/add/", {**form, "kind": "no.such.kind"})
    assert refused.status_code == 200
    assert "未知的期限類別" in refused.content.decode()
    assert not ReminderRule.objects.filter(kind__in=[KIND, "no.such.kind"]).exists()

    created = admin_client.post("/admin/notifications/reminderrule/add/", form)
    assert created.status_code == 302
    rule = ReminderRule.objects.get(kind=KIND)
    assert rule.offsets == [-3, 0, 1] and rule.escalate_after == 2

    listing = admin_client.get("/admin/notifications/reminderrule/")
    assert "測試期限提醒" in listing.content.decode()


def test_preferences_are_listed(admin_client):
    notification_preference_set(user=UserFactory(display_name="摘要 王小明"), daily_digest=True)

    listing = admin_client.get("/admin/notifications/notificationpreference/", {"q": "王小明"})
    assert [str(p.user) for p in listing.context["cl"].result_list] == ["摘要 王小明"]
