"""The deadline scan and the send, on the real calendar, in the test process (mail in memory)."""

import datetime
import email
from email import policy

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import DatabaseError, connection, transaction

from accounts import services as account_services
from accounts.roles import Role
from accounts.tests.factories import AgencyFactory, DelegationFactory
from notifications import services
from notifications.models import Notification, ReminderRule
from notifications.services import delivery
from notifications.tests.factories import ReminderRuleFactory, due_item
from workflow_site.models import TransitionLog
from workflow_site.roc_calendar.services import calendar_override_create

pytestmark = pytest.mark.django_db
TAIPEI = datetime.timezone(datetime.timedelta(hours=8))


def at(day: str, hour: int = 9) -> datetime.datetime:
    return datetime.datetime.fromisoformat(day).replace(hour=hour, tzinfo=TAIPEI)


def scan(day: str):
    with time_machine.travel(at(day), tick=False):
        return services.deadline_scan()


def send_all(result) -> None:
    for batch in result.enqueued:
        services.notifications_send(notification_ids=batch)


@pytest.fixture
def office(make_user):
    agency = AgencyFactory(code="PWB", name="工務局")
    clerk = make_user(Role.AGENCY_CLERK, agency=agency, display_name="承辦 黃雅婷", email="clerk@pwb.gov.tw")
    head = make_user(Role.AGENCY_HEAD, agency=agency, display_name="局長 張國華", email="head@pwb.gov.tw")
    return agency, clerk, head


def moments(**filters) -> list[tuple]:
    """The scan's reminders and escalations (the due items here are delegations, whose revocation sends notices)."""
    return sorted(
        Notification.objects.filter(**filters)
        .exclude(purpose="notice")
        .values_list("recipient__username", "purpose", "offset", "channel")
    )


def test_reminder_fires_three_working_days_before_across_the_lunar_new_year(office):
    _agency, clerk, _head = office
    ReminderRuleFactory()
    due_item(owner=clerk, due=datetime.date(2025, 2, 3))  # Monday after the nine-day New Year break
    assert scan("2025-01-21").created == 0
    result = scan("2025-01-22")  # three working days before: 01-22, 01-23, 01-24
    assert moments() == [(clerk.username, "reminder", -3, "email"), (clerk.username, "reminder", -3, "in_app")]
    assert result.enqueued_count == 1
    email = Notification.objects.get(channel="email")
    assert email.subject == "【提醒】職務代理結束（年度報告）將於民國114年2月3日到期"
    assert "尚餘 3 個工作天" in email.body
    assert email.to_address == "clerk@pwb.gov.tw"


def test_scanning_again_creates_nothing_new(office):
    _agency, clerk, _head = office
    ReminderRuleFactory()
    due_item(owner=clerk, due=datetime.date(2025, 2, 3))
    first = scan("2025-01-22")
    again = scan("2025-01-22")
    assert (first.created, again.created) == (2, 0)
    assert again.enqueued == []  # already queued: not queued twice
    assert Notification.objects.count() == 2


def test_each_offset_fires_once_and_escalation_on_a_make_up_saturday(office):
    _agency, clerk, head = office
    ReminderRuleFactory(escalate_after=1, channels=["email"])
    due_item(owner=clerk, due=datetime.date(2025, 2, 7))  # Friday before the make-up working Saturday
    for day in ("2025-02-04", "2025-02-05", "2025-02-06", "2025-02-07", "2025-02-07", "2025-02-08", "2025-02-09"):
        scan(day)
    assert moments() == [
        (clerk.username, "reminder", -3, "email"),
        (clerk.username, "reminder", 0, "email"),
        (clerk.username, "reminder", 1, "email"),
        (head.username, "escalation", 1, "email"),
    ]
    escalation = Notification.objects.get(purpose="escalation")
    assert escalation.created_at.astimezone(TAIPEI).date() == datetime.date(2025, 2, 8)
    assert "已逾期 1 個工作天" in escalation.subject
    assert "承辦人：承辦 黃雅婷" in escalation.body


def test_rdec_work_escalates_to_an_rdec_supervisor_not_an_agency_head(office, make_user):
    _agency, _clerk, head = office
    rdec = AgencyFactory(code="RDEC", name="研考會")
    officer = make_user(Role.RDEC_OFFICER, agency=rdec, email="officer@rdec.gov.tw")
    supervisor = make_user(Role.RDEC_SUPERVISOR, agency=rdec, email="chief@rdec.gov.tw")
    ReminderRuleFactory(escalate_after=1, channels=["email"])
    due_item(owner=officer, due=datetime.date(2025, 3, 10))
    scan("2025-03-11")
    assert moments(purpose="escalation") == [(supervisor.username, "escalation", 1, "email")]
    assert not Notification.objects.filter(recipient=head).exists()


def test_a_typhoon_closure_moves_the_reminder(office):
    _agency, clerk, _head = office
    ReminderRuleFactory(channels=["email"])
    calendar_override_create(date=datetime.date(2025, 10, 1), kind="closure", reason="颱風停班")
    due_item(owner=clerk, due=datetime.date(2025, 10, 3))  # Friday; 10-01 closed, so -3 is Monday 09-29
    assert scan("2025-09-29").created == 1
    assert Notification.objects.get().offset == -3


def test_a_late_first_scan_sends_only_the_latest_moment(office):
    _agency, clerk, _head = office
    ReminderRuleFactory(channels=["email"], escalate_after=None)
    due_item(owner=clerk, due=datetime.date(2025, 3, 5))
    scan("2025-03-06")  # nothing ran before: no stale "3 days left", just the overdue notice
    assert moments() == [(clerk.username, "reminder", 1, "email")]


def test_done_items_get_no_reminder_from_the_scan_or_the_send(office):
    _agency, clerk, _head = office
    ReminderRuleFactory(channels=["email"])
    done_early = due_item(owner=clerk, due=datetime.date(2025, 3, 10), reason="早已完成")
    done_late = due_item(owner=clerk, due=datetime.date(2025, 3, 10), reason="排入佇列後完成")
    account_services.delegation_revoke(delegation_id=done_early.pk, actor=clerk)
    result = scan("2025-03-05")
    assert moments(object_id=done_early.pk) == []
    account_services.delegation_revoke(delegation_id=done_late.pk, actor=clerk)
    send_all(result)
    assert mail.outbox == []  # the revocation notices go by their own send task, after their commit
    row = Notification.objects.exclude(purpose="notice").get(object_id=done_late.pk)
    assert row.state == Notification.State.CANCELLED
    assert TransitionLog.objects.filter(object_id=row.pk, transition="cancel").exists()


def test_send_delivers_once_with_the_roc_date_and_logs_the_transition(office):
    _agency, clerk, _head = office
    ReminderRuleFactory(channels=["email"])
    due_item(owner=clerk, due=datetime.date(2025, 3, 10))
    result = scan("2025-03-05")
    send_all(result)
    send_all(result)  # a redelivered batch finds the row sent
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["clerk@pwb.gov.tw"]
    assert "民國114年3月10日" in message.subject
    row = Notification.objects.get()
    assert (row.state, row.attempts) == (Notification.State.SENT, 1)
    assert message.extra_headers["X-RDEC-Notification"] == str(row.pk)
    log = TransitionLog.objects.get(object_id=row.pk)
    assert (log.source, log.target, log.actor) == ("pending", "sent", None)


def test_a_substitute_receives_the_reminders_of_whom_they_stand_in_for(office, make_user):
    agency, clerk, _head = office
    deputy = make_user(Role.AGENCY_CLERK, agency=agency, display_name="代理人 李冠宇", email="deputy@pwb.gov.tw")
    DelegationFactory(user=clerk, substitute=deputy, starts=datetime.date(2025, 3, 1), ends=datetime.date(2025, 3, 31))
    ReminderRuleFactory(channels=["email"])
    due_item(owner=clerk, due=datetime.date(2025, 3, 10))
    scan("2025-03-05")
    to_deputy = Notification.objects.get(recipient=deputy)
    assert to_deputy.on_behalf_of == clerk
    assert "您目前代理 承辦 黃雅婷 的職務" in to_deputy.body
    assert Notification.objects.filter(recipient=clerk).count() == 1


def test_daily_digest_gathers_a_users_reminders_into_one_mail(office):
    _agency, clerk, _head = office
    services.notification_preference_set(user=clerk, daily_digest=True)
    ReminderRuleFactory(channels=["email"])
    due_item(owner=clerk, due=datetime.date(2025, 3, 10), reason="甲")
    due_item(owner=clerk, due=datetime.date(2025, 3, 11), reason="乙")
    assert scan("2025-03-06").enqueued == []  # digest rows wait for the morning
    with time_machine.travel(at("2025-03-07", 7), tick=False):
        assert services.notifications_send_digests() == 1
        assert services.notifications_send_digests() == 0
    assert len(mail.outbox) == 1
    assert "共 2 項" in mail.outbox[0].body
    assert set(Notification.objects.values_list("state", flat=True)) == {"sent"}


def test_the_scan_the_send_and_the_digests_refuse_to_run_inside_a_callers_transaction(office):
    """Each commits its own work (the send row by row): nested, a rollback would undo marks of mail already sent."""
    _agency, clerk, _head = office
    services.notification_preference_set(user=clerk, daily_digest=True)
    ReminderRuleFactory(channels=["email"])
    due_item(owner=clerk, due=datetime.date(2025, 3, 10))
    scan("2025-03-06")
    ids = list(Notification.objects.values_list("pk", flat=True))
    with time_machine.travel(at("2025-03-07", 7), tick=False):
        for entry in (
            services.deadline_scan,
            lambda: services.notifications_send(notification_ids=ids),
            services.notifications_send_digests,
        ):
            with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
                entry()
    assert mail.outbox == []
    assert set(Notification.objects.values_list("state", flat=True)) == {"pending"}


def test_scan_query_count_does_not_grow_with_items(office, django_assert_max_num_queries, make_user):
    agency, _clerk, _head = office
    # Only this kind: the domain apps' rules (from their data migrations) add a fixed cost per kind.
    ReminderRule.objects.update(active=False)
    ReminderRuleFactory()
    owners = [make_user(Role.AGENCY_CLERK, agency=agency) for _ in range(3)]
    for owner in owners:
        due_item(owner=owner, due=datetime.date(2025, 3, 10))
    with django_assert_max_num_queries(20) as few:
        scan("2025-03-05")
    for _ in range(40):
        due_item(owner=make_user(Role.AGENCY_CLERK, agency=agency), due=datetime.date(2025, 3, 11))
    with django_assert_max_num_queries(len(few)):
        result = scan("2025-03-06")
    assert result.created == 40 * 2  # the new items' -3 reminder on both channels; the first three wait for 03-10


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"kind": "no.such"}, "kind", "未知的期限類別"),
        ({"offsets": [-3, "x"]}, "offsets", "整數清單"),
        ({"offsets": [1, 1]}, "offsets", "不可重複"),
        ({"channels": ["fax"]}, "channels", "通知管道"),
        ({"subject_template": "{% if %}"}, "subject_template", "範本語法錯誤"),
    ],
)
def test_reminder_rules_are_validated_in_traditional_chinese(fields, field, message):
    base = {"kind": "test.delegation_end", "name": "規則"}
    with pytest.raises(ValidationError) as exc:
        services.reminder_rule_create(**{**base, **fields})
    assert message in str(exc.value.message_dict[field])


def test_a_row_claimed_by_a_running_send_is_left_alone_but_its_redelivery_takes_it_back(office):
    _agency, clerk, _head = office
    ReminderRuleFactory(channels=["email"])
    due_item(owner=clerk, due=datetime.date(2025, 3, 10))
    result = scan("2025-03-05")
    batch = result.enqueued[0]
    # Another send holds the row (its worker is busy with it): nothing is sent twice.
    Notification.objects.filter(pk__in=batch).update(
        claimed_by="task-a", claimed_until=datetime.datetime(2100, 1, 1, tzinfo=datetime.UTC)
    )
    assert services.notifications_send(notification_ids=batch, claim="task-b").sent == []
    assert mail.outbox == []
    # The same task, redelivered after its worker died, takes its rows back at once.
    assert services.notifications_send(notification_ids=batch, claim="task-a").sent == batch
    assert len(mail.outbox) == 1
    row = Notification.objects.get(pk=batch[0])
    assert (row.state, row.claimed_by, row.claimed_until) == ("sent", "", None)


def test_the_portable_path_marks_sent_like_the_postgresql_one(office, monkeypatch):
    """SQLite (make run) has no data-modifying CTE: the transition helper does the same work."""
    _agency, clerk, _head = office
    ReminderRuleFactory(channels=["email"])
    due_item(owner=clerk, due=datetime.date(2025, 3, 10))
    result = scan("2025-03-05")
    monkeypatch.setattr(connection, "vendor", "sqlite")
    send_all(result)
    row = Notification.objects.get()
    assert (row.state, row.attempts, row.claimed_by) == ("sent", 1, "")
    log = TransitionLog.objects.get(object_id=row.pk)
    assert (log.transition, log.source, log.target) == ("mark_sent", "pending", "sent")


@pytest.mark.django_db(transaction=True)
def test_a_batch_whose_commit_fails_after_smtp_accepted_it_is_sent_again_with_the_same_message_id(office, monkeypatch):
    """The crash window: messages accepted, the batch's mark never committed. The redelivered task (same claim)
    sends them again, each with the Message-ID of its first copy; nothing is lost and each row is sent once."""
    _agency, clerk, _head = office
    ReminderRuleFactory(channels=["email"])
    due_item(owner=clerk, due=datetime.date(2025, 3, 10))
    due_item(owner=clerk, due=datetime.date(2025, 3, 10))
    (batch,) = scan("2025-03-05").enqueued

    def lost_commit(*args, **kwargs):
        raise DatabaseError("the worker died before the batch was marked")

    monkeypatch.setattr(delivery, "apply_bulk_transition", lost_commit)
    with pytest.raises(DatabaseError):
        services.notifications_send(notification_ids=batch, claim="task-a")
    assert len(mail.outbox) == 2
    assert set(Notification.objects.values_list("state", "claimed_by")) == {("pending", "task-a")}
    monkeypatch.undo()

    assert services.notifications_send(notification_ids=batch, claim="task-a").sent == batch

    first, again = mail.outbox[:2], mail.outbox[2:]
    assert [m.extra_headers["Message-ID"] for m in again] == [m.extra_headers["Message-ID"] for m in first]
    assert len({m.extra_headers["Message-ID"] for m in first}) == 2
    assert set(Notification.objects.values_list("state", "attempts", "claimed_by")) == {("sent", 1, "")}
    assert TransitionLog.objects.filter(transition="mark_sent").count() == 2


@pytest.mark.django_db(transaction=True)
def test_over_smtp_the_batch_is_composed_like_djangos_message_and_marked_sent_in_one_go(
    office, smtp_server, settings, django_assert_max_num_queries
):
    _agency, clerk, head = office
    ReminderRuleFactory(channels=["email"])
    for _ in range(3):
        due_item(owner=clerk, due=datetime.date(2025, 3, 10))
    due_item(owner=head, due=datetime.date(2025, 3, 10))
    (batch,) = scan("2025-03-05").enqueued
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp_server.host, smtp_server.port
    # Claim, load, the items still open, then the whole batch marked sent: a fixed number, whatever its size.
    with django_assert_max_num_queries(12):
        assert services.notifications_send(notification_ids=batch).sent == batch

    rows = {row.pk: row for row in Notification.objects.filter(pk__in=batch)}
    messages = sorted(smtp_server.messages, key=lambda m: int(m["X-RDEC-Notification"]))
    assert [int(m["X-RDEC-Notification"]) for m in messages] == batch
    for message in messages:
        row = rows[int(message["X-RDEC-Notification"])]
        expected = EmailMessage(row.subject, row.body, settings.DEFAULT_FROM_EMAIL, [row.to_address]).message()
        assert message["Subject"] == row.subject
        assert message["To"] == row.to_address
        assert str(message["From"]) == str(email.message_from_bytes(expected.as_bytes(), policy=policy.default)["From"])
        assert message["Message-ID"] == delivery.message_id(row)
        assert message.get_content_type() == "text/plain"
        assert message.get_content().replace("\r\n", "\n").rstrip("\n") == row.body.rstrip("\n")
    assert set(Notification.objects.values_list("state", "attempts", "claimed_by")) == {("sent", 1, "")}
    logs = TransitionLog.objects.filter(object_id__in=batch, transition="mark_sent")
    assert sorted(logs.values_list("object_id", flat=True)) == batch
    assert set(logs.values_list("source", "target", "actor")) == {("pending", "sent", None)}


@pytest.mark.django_db(transaction=True)
def test_a_refused_recipient_retries_alone_while_the_rest_of_the_batch_is_sent(office, smtp_server, settings):
    _agency, clerk, head = office
    ReminderRuleFactory(channels=["email"])
    due_item(owner=clerk, due=datetime.date(2025, 3, 10))
    due_item(owner=head, due=datetime.date(2025, 3, 10))
    (batch,) = scan("2025-03-05").enqueued
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp_server.host, smtp_server.port
    accept = smtp_server.handler.handle_RCPT

    async def refuse_the_clerk(server, session, envelope, address, rcpt_options):
        if address == "clerk@pwb.gov.tw":
            return "550 5.1.1 mailbox unavailable"
        return await accept(server, session, envelope, address, rcpt_options)

    smtp_server.handler.handle_RCPT = refuse_the_clerk

    result = services.notifications_send(notification_ids=batch)

    rows = {row.to_address: row for row in Notification.objects.filter(pk__in=batch)}
    assert (result.sent, result.retry) == ([rows["head@pwb.gov.tw"].pk], [rows["clerk@pwb.gov.tw"].pk])
    assert [m["To"] for m in smtp_server.messages] == ["head@pwb.gov.tw"]
    assert (rows["head@pwb.gov.tw"].state, rows["clerk@pwb.gov.tw"].state) == ("sent", "retrying")
    assert "SMTPRecipientsRefused" in rows["clerk@pwb.gov.tw"].last_error
