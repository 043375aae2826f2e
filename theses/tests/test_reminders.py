"""The thesis deadlines in the reminder engine: who hears of what and when, My tasks, the daily tasks, query counts.

Scans run in the test process at travelled dates on the real calendar (mail in memory).
"""

import datetime
import importlib

import pytest
import time_machine
from django.apps import apps as django_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_celery_beat.models import PeriodicTask

from accounts.roles import Role
from notifications import registry
from notifications.models import Notification, ReminderRule
from notifications.selectors import todo_items
from notifications.services import deadline_scan
from reviews import deadlines as review_deadlines
from theses import deadlines, services
from theses.models import ThesisApplication
from theses.tasks import mark_overdue, purge_expired
from theses.tests.factories import make_applicant, make_call, pdf, score_everything, sent_application
from workflow_site.roc_calendar.calendar import add_working_days
from workflow_site.roc_calendar.roc import format_roc_date

pytestmark = pytest.mark.django_db
TAIPEI = datetime.timezone(datetime.timedelta(hours=8))
S = ThesisApplication.Status
# The factories' call: applications until 2026-12-31, scoring until 2027-01-31, final theses by 2027-06-30.
DEADLINE, REVIEW_DEADLINE, FINAL_DUE = (
    datetime.date(2026, 12, 31),
    datetime.date(2027, 1, 31),
    datetime.date(2027, 6, 30),
)
MIGRATION = importlib.import_module("theses.migrations.0002_reminders_and_schedules")
SCORING_MIGRATION = importlib.import_module("reviews.migrations.0002_scoring_reminder_rule")


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=TAIPEI)


def scan(day: datetime.date):
    with time_machine.travel(at(day), tick=False):
        return deadline_scan()


def rows(kind: str, **filters) -> list[tuple]:
    return sorted(
        Notification.objects.filter(kind=kind, channel="email", **filters).values_list(
            "recipient__username", "purpose", "offset", "object_id"
        )
    )


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(at(datetime.date(2026, 12, 4)), tick=False):
        yield


@pytest.fixture
def rules():
    """The data migrations' rules (a transactional test may have flushed them from a reused database); the other
    processes' rules are switched off so each test sees only what it is about."""
    MIGRATION.forwards(django_apps, None)
    SCORING_MIGRATION.create_rule(django_apps, None)
    ReminderRule.objects.exclude(kind__startswith="theses.").exclude(kind=review_deadlines.KIND).update(active=False)
    return {rule.kind: rule for rule in ReminderRule.objects.filter(kind__startswith="theses.")}


@pytest.fixture
def officer(make_user):
    return make_user(Role.RDEC_OFFICER, agency=None, username="officer", display_name="研考會承辦")


@pytest.fixture
def call(officer):
    call = make_call(officer, quota=10)
    services.call_open(call_id=call.pk, actor=officer)
    return call


def decided(call, officer, *, subsidies: int, losers: int = 1):
    """`subsidies` approved master's subsidies, `losers` rejected ones and one approved award; the call decided."""
    won = [sent_application(call, make_applicant(f"won{n}"), title=f"補助{n}") for n in range(subsidies)]
    lost = [sent_application(call, make_applicant(f"lost{n}"), title=f"未獲{n}") for n in range(losers)]
    award = sent_application(
        call, make_applicant("award"), kind="award", title="獎勵", defence_date=datetime.date(2026, 6, 1)
    )
    for application in [*won, *lost, award]:
        services.application_screen(actor=officer, application_id=application.pk, eligible=True)
    services.call_start_review(call_id=call.pk, actor=officer)
    score_everything(call, {a.pk: 90 if a in won or a == award else 40 for a in [*won, *lost, award]})
    services.call_decide(call_id=call.pk, actor=officer)
    return won, lost, award


def test_the_migration_sets_the_rules_and_the_daily_schedules():
    ReminderRule.objects.filter(kind__startswith="theses.").delete()
    PeriodicTask.objects.filter(task__startswith="theses.").delete()
    MIGRATION.forwards(django_apps, None)
    MIGRATION.forwards(django_apps, None)  # a second run adds nothing
    assert ReminderRule.objects.filter(kind__startswith="theses.").count() == 3
    kinds = {r.kind: (r.offsets, r.escalate_after) for r in ReminderRule.objects.filter(kind__startswith="theses.")}
    assert kinds == {
        "theses.application": ([-5, -1, 0], None),
        "theses.final_due": ([-30, -7, -1], None),
        "theses.overdue": ([1], 10),
    }
    assert all(registry.get(kind) is not None for kind in kinds)
    tasks = {
        t.task: t.crontab for t in PeriodicTask.objects.filter(task__startswith="theses.").select_related("crontab")
    }
    assert sorted(tasks) == ["theses.tasks.mark_overdue", "theses.tasks.purge_expired"]
    assert PeriodicTask.objects.filter(task__startswith="theses.").count() == 2
    assert {(c.hour, c.day_of_month, str(c.timezone)) for c in tasks.values()} == {
        ("0", "*", "Asia/Taipei"),
        ("3", "*", "Asia/Taipei"),
    }


def test_drafts_and_returned_applications_are_reminded_before_the_deadline_sent_ones_not(rules, call, officer):
    draft_owner, returned_owner, sent_owner = (
        make_applicant("draft"),
        make_applicant("returned"),
        make_applicant("sent"),
    )
    draft = services.application_create(actor=draft_owner, call_id=call.pk, kind="subsidy", title="草稿", abstract="x")
    returned = sent_application(call, returned_owner, title="補件")
    services.application_return(actor=officer, application_id=returned.pk, note="缺推薦函")
    sent_application(call, sent_owner, title="已送出")

    five_before = add_working_days(DEADLINE, -5)
    assert scan(five_before - datetime.timedelta(days=1)).created == 0
    scan(five_before)
    assert rows("theses.application") == [
        ("draft", "reminder", -5, draft.pk),
        ("returned", "reminder", -5, returned.pk),
    ]
    reminder = Notification.objects.get(kind="theses.application", recipient=draft_owner, channel="email")
    assert format_roc_date(DEADLINE) in reminder.subject
    assert "尚餘 5 個工作天" in reminder.body
    assert reminder.url == f"/theses/{draft.pk}/"
    assert reminder.item_title == f"{call.title}申請：草稿"

    services.application_submit(actor=returned_owner, application_id=returned.pk)
    scan(DEADLINE)
    assert rows("theses.application", offset=0) == [("draft", "reminder", 0, draft.pk)]
    assert scan(DEADLINE).created == 0  # once each
    assert not Notification.objects.filter(kind="theses.application", recipient=sent_owner).exists()


def test_my_tasks_show_an_applicants_own_drafts_until_the_deadline(rules, call):
    mine, other = make_applicant("mine"), make_applicant("other")
    draft = services.application_create(actor=mine, call_id=call.pk, kind="subsidy", title="我的草稿", abstract="x")
    services.application_create(actor=other, call_id=call.pk, kind="subsidy", title="別人的", abstract="x")
    assert [(t.title, t.url, t.due_date) for t in todo_items(mine)] == [
        (f"{call.title}申請：我的草稿", f"/theses/{draft.pk}/", DEADLINE)
    ]
    assert deadlines.application_open([draft.pk]) == {draft.pk}
    with time_machine.travel(at(DEADLINE + datetime.timedelta(days=1)), tick=False):
        assert todo_items(mine) == []  # it can no longer be sent
        assert deadlines.application_open([draft.pk]) == set()


def test_thesis_panels_are_reminded_by_the_review_engines_scoring_source(rules, call, officer, client):
    applications = [sent_application(call, make_applicant(f"a{n}"), title=f"論文{n}") for n in range(2)]
    for application in applications:
        services.application_screen(actor=officer, application_id=application.pk, eligible=True)
    services.call_start_review(call_id=call.pk, actor=officer)
    panel = call.tracks.get(kind="subsidy", degree="master").panel

    items = list(registry.get(review_deadlines.KIND).due_between(REVIEW_DEADLINE, REVIEW_DEADLINE))
    assert len(items) == 3  # one per reviewer of the one panel with items, not one per application
    assert {i.title for i in items} == {f"{panel.title}：尚有 2 件待評分"}
    assert all(i.rdec_work and i.due_date == REVIEW_DEADLINE for i in items)
    reviewer = panel.members.first().user
    page = client.get(next(i.url for i in items if i.recipient_ids == (reviewer.pk,)))
    assert page.status_code == 302  # signed out
    client.force_login(reviewer)
    page = client.get(next(i.url for i in items if i.recipient_ids == (reviewer.pk,)))
    assert page.status_code == 200
    assert "論文0" in page.content.decode() and "a0 同學" not in page.content.decode()  # double-blind

    scan(add_working_days(REVIEW_DEADLINE, -3))
    assert len(rows(review_deadlines.KIND)) == 3
    assert not any(kind.startswith("theses.") for kind in Notification.objects.values_list("kind", flat=True))


def test_final_thesis_reminders_at_30_7_and_1_working_days_then_overdue_to_rdec(rules, call, officer, make_user):
    (winner,), _lost, _award = decided(call, officer, subsidies=1)
    chief = make_user(Role.RDEC_SUPERVISOR, agency=None, username="chief")
    for offset in (-30, -7, -1):
        day = add_working_days(FINAL_DUE, offset)
        scan(day - datetime.timedelta(days=1))
        scan(day)
    assert rows("theses.final_due") == [
        ("won0", "reminder", -30, winner.pk),
        ("won0", "reminder", -7, winner.pk),
        ("won0", "reminder", -1, winner.pk),
    ]  # not the award, not the rejected one
    assert add_working_days(FINAL_DUE, -1) == datetime.date(2027, 6, 29)

    with time_machine.travel(at(FINAL_DUE, 23), tick=False):
        assert mark_overdue.apply().get() == 0  # due today: not yet
    with time_machine.travel(at(FINAL_DUE + datetime.timedelta(days=1), 0), tick=False):
        assert mark_overdue.apply().get() == 1
        assert mark_overdue.apply().get() == 0  # twice is harmless
    assert ThesisApplication.objects.get(pk=winner.pk).status == S.OVERDUE
    assert [t.title for t in todo_items(winner.applicant)] == ["繳交論文完稿：補助0"]  # still theirs to hand in
    assert [t.title for t in todo_items(officer)] == ["補助論文逾期未繳完稿：補助0（115年度）"]
    assert todo_items(chief) == []

    scan(add_working_days(FINAL_DUE, 1))
    assert rows("theses.overdue") == [("officer", "reminder", 1, winner.pk)]
    overdue = Notification.objects.get(kind="theses.overdue", channel="email")
    assert "已逾期 1 個工作天" in overdue.body
    scan(add_working_days(FINAL_DUE, 9))
    assert not Notification.objects.filter(recipient=chief).exists()
    scan(add_working_days(FINAL_DUE, 10))
    assert rows("theses.overdue", purpose="escalation") == [("chief", "escalation", 10, winner.pk)]
    assert "承辦人：研考會承辦" in Notification.objects.get(recipient=chief, channel="email").body

    services.application_cancel(actor=officer, application_id=winner.pk, reason="逾期未繳交")
    assert deadlines.overdue_open([winner.pk]) == set()
    assert deadlines.final_open([winner.pk]) == set()
    assert todo_items(officer) == [] and todo_items(winner.applicant) == []


def test_a_final_thesis_handed_in_ends_the_reminders(rules, call, officer):
    (winner,), _lost, _award = decided(call, officer, subsidies=1)
    scan(add_working_days(FINAL_DUE, -30))
    services.application_submit_final(actor=winner.applicant, application_id=winner.pk, upload=pdf("final.pdf"))
    assert deadlines.final_open([winner.pk]) == set()
    scan(add_working_days(FINAL_DUE, -7))
    assert rows("theses.final_due") == [("won0", "reminder", -30, winner.pk)]
    with time_machine.travel(at(FINAL_DUE + datetime.timedelta(days=2)), tick=False):
        assert mark_overdue.apply().get() == 0


def test_the_purge_task_runs_the_retention_purge(rules, call, officer):
    _won, (loser,), _award = decided(call, officer, subsidies=1)
    with time_machine.travel(at(datetime.date(2027, 6, 1)), tick=False):
        assert purge_expired.apply().get() == 0
    with time_machine.travel(at(datetime.date(2027, 12, 6)), tick=False):
        assert purge_expired.apply().get() == 1
        assert purge_expired.apply().get() == 0
    assert ThesisApplication.objects.get(pk=loser.pk).purged_at is not None


def queries(call_source) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        found = len(list(call_source()))
    return found, len(ctx.captured_queries)


def test_sources_cost_the_same_queries_for_one_item_or_ten(rules, call, officer, make_user):
    make_user(Role.RDEC_OFFICER, agency=None)
    won, _lost, _award = decided(call, officer, subsidies=10)
    ever = (datetime.date(2026, 1, 1), datetime.date(2028, 12, 31))
    final_ten = queries(lambda: deadlines.final_due(*ever))
    final_mine = queries(lambda: deadlines.final_for_user(won[0].applicant))
    with time_machine.travel(at(datetime.date(2027, 7, 1), 0), tick=False):
        services.applications_mark_overdue()
    overdue_ten = queries(lambda: deadlines.overdue_due(*ever))
    overdue_todo_ten = queries(lambda: deadlines.overdue_for_user(officer))
    for application in won[1:]:
        services.application_cancel(actor=officer, application_id=application.pk, reason="撤銷")
    assert queries(lambda: deadlines.final_due(*ever)) == (1, final_ten[1])
    assert final_ten[0] == 10 and final_mine[0] == 1
    assert queries(lambda: deadlines.overdue_due(*ever)) == (1, overdue_ten[1])
    assert queries(lambda: deadlines.overdue_for_user(officer)) == (1, overdue_todo_ten[1])
    assert overdue_ten[0] == overdue_todo_ten[0] == 10


def test_the_application_source_costs_the_same_queries_for_one_draft_or_ten(rules, officer, make_user):
    call = make_call(officer, year=116, quota=1)
    services.call_open(call_id=call.pk, actor=officer)
    first = make_applicant("first")
    services.application_create(actor=first, call_id=call.pk, kind="subsidy", title="一", abstract="x")
    one = queries(lambda: deadlines.application_due(DEADLINE, DEADLINE))
    for n in range(9):
        services.application_create(
            actor=make_applicant(f"more{n}"), call_id=call.pk, kind="subsidy", title="多", abstract="x"
        )
    assert queries(lambda: deadlines.application_due(DEADLINE, DEADLINE)) == (10, one[1])
    assert one[0] == 1
    assert len(list(deadlines.application_for_user(first))) == 1
    assert list(deadlines.application_for_user(officer)) == []
