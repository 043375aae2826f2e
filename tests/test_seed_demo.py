"""`make run` loads the demo: it must work on a fresh database and be harmless the second time."""

import pytest
from django.core.management import call_command

from plan_control.models import ControlledPlan, ProgressReport
from plan_control.monitoring.selectors import monthly_analysis
from proposals.models import Proposal, ProposalRound
from theses.models import ThesisApplication, ThesisCall


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
    before = Proposal.objects.count()
    plans, reports = ControlledPlan.objects.count(), ProgressReport.objects.count()
    theses = (ThesisCall.objects.count(), ThesisApplication.objects.count())
    call_command("seed_demo")
    assert Proposal.objects.count() == before
    assert (ThesisCall.objects.count(), ThesisApplication.objects.count()) == theses
    assert (ControlledPlan.objects.count(), ProgressReport.objects.count()) == (plans, reports)
