"""The plans' appraisal pages: the list (who sees what, constant queries) and one plan's page (the components,
the agency's self-assessment and RDEC's review through the services, refusals shown, never a 500)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import Role
from plan_control.appraisal import formula
from plan_control.models import Appraisal, AppraisalRound, ControlledPlan
from plan_control.tests.factories import LINEAR, YEAR, agency_people
from workflow_site.models import TransitionLog

pytestmark = pytest.mark.django_db

PARTS = formula.components(
    counted=11, lag_sum=Decimal("22"), months_lagging=3, months_late=2, final_actual=Decimal("95"),
    budget_executed=800_000, budget=1_000_000,
)  # fmt: skip


def make_plan(agency, code: str) -> ControlledPlan:
    return ControlledPlan.objects.create(
        year=YEAR,
        code=code,
        agency=agency,
        title=f"計畫{code}",
        budget=1_000_000,
        planned_progress=LINEAR,
        status=ControlledPlan.Status.IN_EXECUTION,
    )


def set_round(round_: AppraisalRound, status: str) -> None:
    AppraisalRound.objects.filter(pk=round_.pk).update(status=status)


class World:
    pass


@pytest.fixture
def world(make_user) -> World:
    """A round in self-assessment; TR's plan T1 and ED's plan E1 each with a suggested score."""
    w = World()
    w.officer = make_user(Role.RDEC_OFFICER, username="officer")
    w.tr, w.tr_clerk, w.tr_head = agency_people("TR")
    w.ed, w.ed_clerk, _ = agency_people("ED")
    w.round = AppraisalRound.objects.create(year=YEAR, status=AppraisalRound.Status.SELF_ASSESSMENT)
    w.t1 = Appraisal.objects.create(
        round=w.round,
        plan=make_plan(w.tr, "T1"),
        agency=w.tr,
        components=PARTS,
        suggested_score=formula.suggested_score(PARTS, w.round.weights),
    )
    w.e1 = Appraisal.objects.create(
        round=w.round, plan=make_plan(w.ed, "E1"), agency=w.ed, components=PARTS, suggested_score=Decimal("88.00")
    )
    return w


def url(item: Appraisal) -> str:
    return reverse("plan_control:appraisal", args=[item.pk])


def html_of(response) -> str:
    return response.content.decode()


def test_urls_and_the_reminder_link(world):
    from plan_control.appraisal import deadlines

    assert reverse("plan_control:appraisals") == "/plan-control/appraisals/"
    assert url(world.t1) == f"/plan-control/appraisals/{world.t1.pk}/"
    items = list(deadlines._self_items(Appraisal.objects.filter(pk=world.t1.pk)))
    assert [i.url for i in items] == [url(world.t1)]


def test_agency_sees_only_its_own(client, world):
    client.force_login(world.tr_clerk)
    response = client.get(reverse("plan_control:appraisals"), {"year": YEAR})
    assert response.status_code == 200
    assert [a.pk for a in response.context["appraisals"]] == [world.t1.pk]
    html = html_of(response)
    assert "計畫T1" in html and "計畫E1" not in html
    assert client.get(url(world.e1)).status_code == 404
    assert (
        client.post(url(world.e1), {"action": "self_assess", "self_score": "80", "self_assessment": "x"}).status_code
        == 404
    )
    assert client.get(url(world.t1)).status_code == 200


def test_officer_sees_every_agency(client, world):
    client.force_login(world.officer)
    response = client.get(reverse("plan_control:appraisals"))  # no year: the latest round's
    assert response.context["year"] == YEAR
    assert [a.plan.code for a in response.context["appraisals"]] == ["E1", "T1"]
    assert "ED局" in html_of(response) and "TR局" in html_of(response)
    assert client.get(reverse("plan_control:appraisals"), {"year": "abc"}).status_code == 400


def test_item_page_shows_the_components(client, world):
    client.force_login(world.tr_clerk)
    response = client.get(url(world.t1))
    html = html_of(response)
    assert response.status_code == 200
    assert str(world.t1.suggested_score) in html
    components = response.context["components"]
    figures = {row["key"]: row["value"] for row in components["figures"]}
    assert figures == {
        "mean_lag": 2.0,
        "months_lagging": 3,
        "months_late": 2,
        "months_missing": 1,
        "final_completion": 95.0,
        "budget_execution_rate": 80.0,
    }
    assert components["budget_flag"] is True
    assert "預算執行率未達 90%" in html
    assert "處理歷程" in html  # the transition history include


def test_agency_submits_a_self_assessment(client, world):
    client.force_login(world.tr_clerk)
    page = client.get(url(world.t1))
    assert page.context["action"] == "self_assess" and 'data-form="self_assess"' in html_of(page)
    response = client.post(
        url(world.t1), {"action": "self_assess", "self_score": "86.5", "self_assessment": "進度大致符合"}, follow=True
    )
    assert response.redirect_chain == [(url(world.t1), 302)]
    world.t1.refresh_from_db()
    assert world.t1.self_score == Decimal("86.50")
    assert world.t1.self_assessment == "進度大致符合"
    assert world.t1.status == Appraisal.Status.SELF_ASSESSED
    html = html_of(response)
    assert "已送出自評" in html
    assert TransitionLog.objects.filter(object_id=world.t1.pk, target=Appraisal.Status.SELF_ASSESSED).exists()
    assert "機關已自評" in html  # in the history


def test_agency_head_may_assess_too(client, world):
    client.force_login(world.tr_head)
    response = client.post(url(world.t1), {"action": "self_assess", "self_score": "70", "self_assessment": "說明"})
    assert response.status_code == 302
    world.t1.refresh_from_db()
    assert world.t1.self_score == Decimal("70.00")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"self_score": "150", "self_assessment": "說明"}, "分數須介於 0 到 100。"),
        ({"self_score": "-1", "self_assessment": "說明"}, "分數須介於 0 到 100。"),
        ({"self_score": "80", "self_assessment": "   "}, "請填寫自評說明。"),
    ],
)
def test_bad_self_assessment_shows_the_error_and_changes_nothing(client, world, data, error):
    client.force_login(world.tr_clerk)
    response = client.post(url(world.t1), {"action": "self_assess", **data})
    assert response.status_code == 200
    assert error in html_of(response)
    assert response.context["form"].errors
    assert 'role="alert"' in html_of(response)
    world.t1.refresh_from_db()
    assert world.t1.self_score is None and world.t1.self_assessment == ""
    assert world.t1.status == Appraisal.Status.SUGGESTED


def test_non_numeric_score_is_a_form_error(client, world):
    client.force_login(world.tr_clerk)
    response = client.post(url(world.t1), {"action": "self_assess", "self_score": "abc", "self_assessment": "說明"})
    assert response.status_code == 200 and response.context["form"].errors["self_score"]
    world.t1.refresh_from_db()
    assert world.t1.self_score is None


def test_outside_self_assessment_the_form_is_absent_and_a_forged_post_changes_nothing(client, world):
    set_round(world.round, AppraisalRound.Status.REVIEW)
    client.force_login(world.tr_clerk)
    page = client.get(url(world.t1))
    assert page.status_code == 200
    assert page.context["form"] is None and "data-form=" not in html_of(page)
    response = client.post(url(world.t1), {"action": "self_assess", "self_score": "90", "self_assessment": "偽造"})
    assert response.status_code == 409
    assert "目前不在機關自評階段。" in html_of(response)
    world.t1.refresh_from_db()
    assert world.t1.self_score is None and world.t1.status == Appraisal.Status.SUGGESTED
    # An agency forging RDEC's review: not its stage's form, refused without change.
    response = client.post(url(world.t1), {"action": "review", "review_score": "100", "review_comment": "x"})
    assert response.status_code in (403, 409)
    world.t1.refresh_from_db()
    assert world.t1.review_score is None
    # Unknown action: a 400, not a 500.
    assert client.post(url(world.t1), {"action": "finalise"}).status_code == 400


def test_forged_post_with_bad_data_outside_the_stage_is_a_message(client, world):
    set_round(world.round, AppraisalRound.Status.FINALISED)
    client.force_login(world.tr_clerk)
    response = client.post(url(world.t1), {"action": "self_assess", "self_score": "abc", "self_assessment": "x"})
    assert response.status_code == 200
    assert response.context["form"] is None
    assert "rdec-message--error" in html_of(response)


def test_officer_has_no_form_during_self_assessment(client, world):
    client.force_login(world.officer)
    page = client.get(url(world.t1))
    assert page.context["form"] is None
    response = client.post(url(world.t1), {"action": "review", "review_score": "80", "review_comment": "提前複核"})
    assert response.status_code == 409 and "目前不在研考會複核階段。" in html_of(response)
    world.t1.refresh_from_db()
    assert world.t1.review_score is None


def test_officer_reviews_during_review(client, world):
    set_round(world.round, AppraisalRound.Status.REVIEW)
    client.force_login(world.officer)
    page = client.get(url(world.e1))
    assert page.context["action"] == "review" and 'data-form="review"' in html_of(page)
    bad = client.post(url(world.e1), {"action": "review", "review_score": "101", "review_comment": ""})
    assert "分數須介於 0 到 100。" in html_of(bad)
    world.e1.refresh_from_db()
    assert world.e1.review_score is None
    response = client.post(
        url(world.e1), {"action": "review", "review_score": "84.25", "review_comment": "預算執行偏低"}, follow=True
    )
    assert response.redirect_chain == [(url(world.e1), 302)]
    world.e1.refresh_from_db()
    assert world.e1.review_score == Decimal("84.25") and world.e1.final_score == Decimal("84.25")
    assert world.e1.review_comment == "預算執行偏低" and world.e1.reviewed_by == world.officer
    assert world.e1.status == Appraisal.Status.REVIEWED
    assert "已完成複核。" in html_of(response)
    # The agency sees the result, without a form.
    client.force_login(world.ed_clerk)
    page = client.get(url(world.e1))
    assert page.context["form"] is None and "預算執行偏低" in html_of(page)


def _count_list_queries(client, user) -> tuple[int, int]:
    client.force_login(user)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("plan_control:appraisals"), {"year": YEAR})
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.context["appraisals"])


def _add_appraisals(world, agency, prefix: str, n: int) -> None:
    plans = ControlledPlan.objects.bulk_create(
        [
            ControlledPlan(
                year=YEAR,
                code=f"{prefix}{i:02d}",
                agency=agency,
                title=f"計畫{prefix}{i:02d}",
                budget=1_000_000,
                planned_progress=LINEAR,
                status=ControlledPlan.Status.IN_EXECUTION,
            )
            for i in range(n)
        ]
    )
    Appraisal.objects.bulk_create(
        [
            Appraisal(round=world.round, plan=p, agency=agency, components=PARTS, suggested_score=Decimal("80"))
            for p in plans
        ]
    )


def test_list_runs_a_constant_number_of_queries(client, world):
    _add_appraisals(world, world.tr, "A", 3)  # TR: T1 + 3 = 4, ED: E1; 5 in all
    few, rows = _count_list_queries(client, world.officer)
    assert rows == 5
    few_agency, rows = _count_list_queries(client, world.tr_clerk)
    assert rows == 4
    _add_appraisals(world, world.tr, "B", 15)
    _add_appraisals(world, world.ed, "C", 10)
    many, rows = _count_list_queries(client, world.officer)
    assert rows == 30
    assert many == few
    many_agency, rows = _count_list_queries(client, world.tr_clerk)
    assert rows == 19
    assert many_agency == few_agency


def test_list_is_paginated_by_50(client, world):
    _add_appraisals(world, world.tr, "P", 55)
    client.force_login(world.officer)
    response = client.get(reverse("plan_control:appraisals"), {"year": YEAR})
    assert len(response.context["appraisals"]) == 50
    assert response.context["paginator"].count == 57
    second = client.get(reverse("plan_control:appraisals"), {"year": YEAR, "page": 2})
    assert len(second.context["appraisals"]) == 7
