"""The year-end appraisal's formula, grades and distribution, computed by hand."""

from decimal import Decimal

import pytest

from accounts.roles import Role
from plan_control.appraisal import formula
from plan_control.appraisal import services as appraisal_services
from plan_control.appraisal.selectors import grades_for, round_results
from plan_control.models import Appraisal, AppraisalRound
from plan_control.monitoring.selectors import largest_remainder

WEIGHTS = {"progress": 40, "timeliness": 20, "completion": 25, "budget": 15}


def test_a_perfect_year_scores_100():
    parts = formula.components(
        counted=12, lag_sum=0, months_lagging=0, months_late=0, final_actual=100, budget_executed=95, budget=100
    )
    assert (parts["progress"], parts["timeliness"], parts["completion"], parts["budget"]) == (100, 100, 100, 100)
    assert parts["budget_flag"] is False
    assert formula.suggested_score(parts, WEIGHTS) == Decimal("100.00")


def test_a_lagging_late_underspent_year_by_hand():
    # 11 reports counted (1 missing), 3 late; lag points summing to 33 -> mean lag 3.00; 4 months lagging;
    # final actual 82%; budget 7,200,000 of 10,000,000 = 72% (flagged: below 90%).
    parts = formula.components(
        counted=11,
        lag_sum=Decimal(33),
        months_lagging=4,
        months_late=3,
        final_actual=Decimal(82),
        budget_executed=7_200_000,
        budget=10_000_000,
    )
    # progress   = 100 - 5 x 3.00 - 2 x 4 = 77
    # timeliness = 100 x (12 - 1 - 0.5 x 3) / 12 = 100 x 9.5 / 12 = 79.166... -> 79.17
    # completion = 82
    # budget     = 72 / 90 x 100 = 80
    assert parts == {
        "mean_lag": 3.0,
        "months_lagging": 4,
        "months_late": 3,
        "months_missing": 1,
        "final_completion": 82.0,
        "budget_execution_rate": 72.0,
        "budget_flag": True,
        "progress": 77.0,
        "timeliness": 79.17,
        "completion": 82.0,
        "budget": 80.0,
    }
    # 0.40 x 77 + 0.20 x 79.17 + 0.25 x 82 + 0.15 x 80 = 30.8 + 15.834 + 20.5 + 12 = 79.134 -> 79.13
    assert formula.suggested_score(parts, WEIGHTS) == Decimal("79.13")


def test_nothing_reported_scores_only_what_it_earned():
    parts = formula.components(
        counted=0, lag_sum=None, months_lagging=0, months_late=0, final_actual=None, budget_executed=None, budget=500
    )
    assert (parts["progress"], parts["timeliness"], parts["completion"], parts["budget"]) == (100, 0, 0, 0)
    assert formula.suggested_score(parts, WEIGHTS) == Decimal("40.00")


def test_the_2017_distribution_to_two_decimals():
    # 2 / 52 / 105 of 159: 1.2578.. / 32.7044.. / 66.0377.. -> floors 1.25 / 32.70 / 66.03 (99.98), the two
    # largest remainders (0.0078 and 0.0077) get the missing 0.02: 1.26 / 32.70 / 66.04.
    assert largest_remainder([2, 52, 105, 0], places=2) == [
        Decimal("1.26"),
        Decimal("32.70"),
        Decimal("66.04"),
        Decimal("0.00"),
    ]
    assert sum(largest_remainder([2, 52, 105], places=2)) == Decimal("100.00")


@pytest.fixture
def reviewed_round(db, make_user):
    from plan_control.tests.factories import agency_people, make_plans, plan_dict

    officer = make_user(Role.RDEC_OFFICER)
    agency, _clerk, _head = agency_people("PWB")
    plans = make_plans(officer, [plan_dict(f"P{n:02d}", agency.code) for n in range(10)], start=False)
    round_ = appraisal_services.appraisal_round_create(actor=officer, year=plans[0].year)
    scores = [95, 91, 90, 89.99, 85, 80, 79, 70, 69.99, 40]
    from django.utils import timezone

    Appraisal.objects.bulk_create(
        Appraisal(
            round=round_,
            plan=plan,
            agency=agency,
            suggested_score=Decimal(str(score)),
            final_score=Decimal(str(score)),
            status=Appraisal.Status.REVIEWED,
            computed_at=timezone.now(),
        )
        for plan, score in zip(plans, scores, strict=True)
    )
    return officer, round_


def test_grades_follow_the_minimum_scores(reviewed_round):
    _officer, round_ = reviewed_round
    by_score = {
        a.final_score: grade for a in round_.appraisals.all() for pk, grade in grades_for(round_).items() if pk == a.pk
    }
    assert [by_score[Decimal(str(s))] for s in (95, 91, 90, 89.99, 85, 80, 79, 70, 69.99, 40)] == (
        ["excellent"] * 3 + ["a"] * 3 + ["b"] * 2 + ["c"] * 2
    )


def test_a_quota_sends_the_rest_to_the_next_band(reviewed_round):
    _officer, round_ = reviewed_round
    bands = round_.grade_bands
    bands[0]["quota_percent"] = 20  # 20% of 10 = 2 seats for 優等
    AppraisalRound.objects.filter(pk=round_.pk).update(grade_bands=bands)
    round_.refresh_from_db()
    grades = grades_for(round_)
    counts = {g: list(grades.values()).count(g) for g in ("excellent", "a", "b", "c")}
    assert counts == {"excellent": 2, "a": 4, "b": 2, "c": 2}


def test_finalising_grades_every_plan_and_logs_it(reviewed_round):
    from django.db import transaction

    from workflow_site.models import TransitionLog

    officer, round_ = reviewed_round
    AppraisalRound.objects.filter(pk=round_.pk).update(status=AppraisalRound.Status.REVIEW)
    with transaction.atomic():
        appraisal_services.appraisal_round_finalise(round_id=round_.pk, actor=officer)
    results = round_results(round_)
    assert results["distribution"] == [
        {"grade": "excellent", "count": 3, "percent": Decimal("30.00")},
        {"grade": "a", "count": 3, "percent": Decimal("30.00")},
        {"grade": "b", "count": 2, "percent": Decimal("20.00")},
        {"grade": "c", "count": 2, "percent": Decimal("20.00")},
    ]
    assert set(Appraisal.objects.values_list("status", flat=True)) == {"finalised"}
    assert TransitionLog.objects.filter(transition="set_grade").count() == 10


def test_an_acting_substitute_self_assesses_for_the_agency(reviewed_round, make_user):
    import datetime

    from accounts.tests.factories import DelegationFactory
    from workflow_site.models import TransitionLog

    _officer, round_ = reviewed_round
    AppraisalRound.objects.filter(pk=round_.pk).update(status=AppraisalRound.Status.SELF_ASSESSMENT)
    Appraisal.objects.filter(round=round_).update(status=Appraisal.Status.SUGGESTED)
    item = round_.appraisals.first()
    clerk = make_user(Role.AGENCY_CLERK, agency=item.agency)
    deputy = make_user(Role.REVIEWER, agency=None)  # no rights of their own here
    DelegationFactory(user=clerk, substitute=deputy, starts=datetime.date(2000, 1, 1), ends=datetime.date(2100, 1, 1))
    appraisal_services.appraisal_submit_self_assessment(
        actor=deputy, appraisal_id=item.pk, score=88, text="代理自評：進度如期"
    )
    item.refresh_from_db()
    assert (item.status, item.self_score) == ("self_assessed", Decimal("88.00"))
    log = TransitionLog.objects.get(object_id=item.pk, transition="submit_self_assessment")
    assert (log.actor, log.acting_for) == (deputy, clerk)
