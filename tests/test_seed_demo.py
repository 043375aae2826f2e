"""`make run` loads the demo: it must work on a fresh database and be harmless the second time."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command

from accounts.demo import DEMO_PASSWORD
from accounts.models import User
from notifications.models import Notification
from plan_control.models import BudgetRequest, ControlledPlan, ProgressReport
from plan_control.monitoring.selectors import monthly_analysis
from proposals.models import Proposal, ProposalRound
from reviews.models import ScoreSheet
from theses.models import ThesisApplication, ThesisCall
from workflow_site import todo
from workflow_site.models import TransitionLog
from workflow_site.roc_calendar.calendar import today


@pytest.mark.django_db
def test_seed_demo_builds_the_2018_round_once(capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "rdec.officer" in out
    assert "優等 4 / 甲等 17 / 乙等 13 / 佳作 11" in out
    round_107 = ProposalRound.objects.get(year=107)
    assert round_107.status == "published"
    assert round_107.proposals.exclude(status__in=["draft", "withdrawn"]).count() == 69
    states = set(Proposal.objects.values_list("status", flat=True))
    assert states >= {
        "draft",
        "pending_approval",
        "submitted",
        "screened_out",
        "graded",
        "forwarded",
        "closed",
        "withdrawn",
    }
    assert "107年度列管計畫：163 項" in out
    assert "12月 進度正常 103 / 落後 60" in out
    year_end = monthly_analysis(year=107, month=12)
    assert year_end["total"] == 163
    assert (year_end["on_track"]["count"], year_end["lagging"]["count"], year_end["not_reported"]["count"]) == (
        103,
        60,
        0,
    )
    assert all(p["lag_reason"] and p["remedy"] for p in year_end["lagging_plans"])
    assert max(p["consecutive_months"] for p in year_end["lagging_plans"]) >= 3
    assert ProgressReport.objects.filter(year=107).count() == 163 * 12
    assert len({row["agency"] for row in year_end["by_agency"]}) >= 4
    current = ControlledPlan.objects.exclude(year=107)
    assert current.filter(status="in_execution").count() == 20
    assert ProgressReport.objects.filter(plan__in=current, status="pending").exists()
    assert "107年度學位論文獎補助：補助撰寫論文研究經費共 7 位；評獲優良學位論文獎勵者 4 位" in out
    assert ThesisCall.objects.get(year=107).status == "closed"
    assert ThesisCall.objects.filter(status="open").count() == 1
    _the_107_rounds_are_dated_in_107(round_107)
    _every_demo_login_is_printed(out)
    _this_years_work_comes_first_in_my_tasks()

    before = Proposal.objects.count()
    plans, reports = ControlledPlan.objects.count(), ProgressReport.objects.count()
    theses = (ThesisCall.objects.count(), ThesisApplication.objects.count())
    logs, notices = TransitionLog.objects.count(), Notification.objects.count()
    call_command("seed_demo")
    again = capsys.readouterr().out
    _every_demo_login_is_printed(again)
    assert (TransitionLog.objects.count(), Notification.objects.count()) == (logs, notices)
    assert Proposal.objects.count() == before
    assert (ThesisCall.objects.count(), ThesisApplication.objects.count()) == theses
    assert (ControlledPlan.objects.count(), ProgressReport.objects.count()) == (plans, reports)


def _years(model, ids, field="created_at") -> set[int]:
    ct = ContentType.objects.get_for_model(model)
    if field == "log":
        rows = TransitionLog.objects.filter(content_type=ct, object_id__in=list(ids))
        return {at.year for at in rows.values_list("created_at", flat=True)}
    rows = Notification.objects.filter(content_type=ct, object_id__in=list(ids))
    return {at.year for at in rows.values_list("created_at", flat=True)}


def _the_107_rounds_are_dated_in_107(round_107):
    """What the services stamped while the finished rounds were played is dated in 2018, not on the seeding day."""
    proposals = round_107.proposals.all()
    assert {p.created_at.year for p in proposals} == {2018}
    assert round_107.published_at.year == 2018
    assert _years(Proposal, proposals.values_list("pk", flat=True), "log") == {2018}
    assert _years(ProposalRound, [round_107.pk], "log") == {2018}
    sheets = ScoreSheet.objects.filter(panel=round_107.panel)
    assert {s.submitted_at.year for s in sheets if s.submitted_at} == {2018}
    # The adoption answers still owed by a 107 proposal were due in 2018.
    assert {a.due_date.year for p in proposals for a in p.adoptions.all()} == {2018}

    call = ThesisCall.objects.get(year=107)
    applications = call.applications.all()
    assert {a.submitted_at.year for a in applications} == {2018}
    assert _years(ThesisApplication, applications.values_list("pk", flat=True), "log") == {2018}
    assert _years(ThesisCall, [call.pk], "log") == {2018}

    reports = ProgressReport.objects.filter(year=107)
    assert {at.year for at in reports.values_list("submitted_at", flat=True) if at} == {2018}
    assert _years(ProgressReport, reports.values_list("pk", flat=True), "log") == {2018}
    assert _years(ProgressReport, reports.values_list("pk", flat=True)) <= {2018}

    requests = BudgetRequest.objects.filter(cycle__fiscal_year=108)
    assert {r.submitted_at.year for r in requests} == {2018}
    assert _years(BudgetRequest, requests.values_list("pk", flat=True), "log") == {2018}
    # The notices of the finished rounds (sign-offs, forwarded proposals, decided requests) are 2018's too.
    assert _years(BudgetRequest, requests.values_list("pk", flat=True)) == {2018}
    assert _years(Proposal, proposals.values_list("pk", flat=True)) == {2018}
    assert _years(ThesisApplication, applications.values_list("pk", flat=True)) <= {2018}


def _every_demo_login_is_printed(out: str):
    """Each demo user, with the password and a role, so every role can be tried from the printed list."""
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ") and DEMO_PASSWORD in line}
    demo_users = User.objects.filter(email__endswith="@demo.rdec.example")
    assert demo_users.count() > 60
    for username in demo_users.values_list("username", flat=True):
        assert username in lines, username
    assert "[研考會承辦]" in lines["rdec.officer"]
    assert "[研考會主管]" in lines["rdec.chief"]
    assert "[機關承辦人]" in lines["pwb.clerk"]
    assert "[評審委員]" in lines["reviewer.hsu"]  # made by the theses demo, missing from the old list
    assert "[評審委員]" in lines["sb.reviewer"]  # made by the proposals demo
    assert "[申請人]" in lines["thesis107.01"]
    assert "[系統管理員]" in lines["admin"]


def _this_years_work_comes_first_in_my_tasks():
    """The owed 107 adoption answers (due 2018) follow the clerk's current work, under their own heading."""
    this_year = today().year
    for username in ("pwb.clerk", "tb.clerk"):
        items = todo.items_for(User.objects.get(username=username))
        flags = [item.past_year for item in items]
        assert True in flags and False in flags, username
        assert flags == sorted(flags), username  # every current item before the first old one
        assert all(i.due_date.year < this_year for i in items if i.past_year)
        assert all(i.due_date is None or i.due_date.year >= this_year for i in items if not i.past_year)
