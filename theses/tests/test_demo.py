"""The demo's thesis calls: 107年 as reported (7 subsidies, 4 awards), this year's open; seeding twice adds nothing."""

import pytest

from accounts import demo as account_demo
from reviews.models import Panel
from theses import demo, selectors
from theses.models import ApplicantProfile, ThesisApplication, ThesisCall, ThesisDocument
from workflow_site.roc_calendar.calendar import today

pytestmark = pytest.mark.django_db
S = ThesisApplication.Status


def test_the_107_call_is_closed_with_the_reported_figures_and_this_years_call_is_open():
    account_demo.seed()
    lines = demo.seed()

    assert lines[0] == (
        "107年度學位論文獎補助：補助撰寫論文研究經費共 7 位；評獲優良學位論文獎勵者 4 位"
        "（未獲選 6 件、資格不符 1 件），已結案"
    )
    call = ThesisCall.objects.get(year=107)
    assert call.status == ThesisCall.Status.CLOSED
    assert (call.application_deadline.year, call.decided_at.year) == (2018, 2018)
    by_state = {
        (kind, status): n
        for kind, status, n in [
            (k, s, call.applications.filter(kind=k, status=s).count())
            for k in ("subsidy", "award")
            for s in (S.CLOSED, S.APPROVED, S.REJECTED, S.INELIGIBLE)
        ]
        if n
    }
    assert by_state == {
        ("subsidy", S.CLOSED): 7,
        ("subsidy", S.REJECTED): 3,
        ("subsidy", S.INELIGIBLE): 1,
        ("award", S.APPROVED): 4,
        ("award", S.REJECTED): 3,
    }
    # Within each track's quota, at the track's amount, with their finished theses.
    assert (
        sorted(call.applications.filter(kind="subsidy", status=S.CLOSED).values_list("amount", flat=True))
        == [40_000] * 5 + [80_000] * 2
    )
    assert ThesisDocument.objects.filter(application__call=call, role="final").count() == 7
    assert {p.scoring_deadline.year for p in Panel.objects.filter(pk__in=call.tracks.values("panel_id"))} == {2018}
    assert selectors.awarded_theses(year=107).count() == 4

    current = ThesisCall.objects.get(year=today().year - 1911)
    assert current.status == ThesisCall.Status.OPEN
    assert current.application_deadline > today()
    assert sorted(current.applications.values_list("status", flat=True)) == ["draft", "draft", "submitted", "submitted"]
    assert any("student.chen" in line and "草稿" in line for line in lines)
    assert ApplicantProfile.objects.filter(user__username="student.chen", email_verified_at__isnull=False).exists()

    counts = (ThesisCall.objects.count(), ThesisApplication.objects.count(), ThesisDocument.objects.count())
    assert demo.seed() == []
    assert (ThesisCall.objects.count(), ThesisApplication.objects.count(), ThesisDocument.objects.count()) == counts
