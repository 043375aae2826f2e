"""The year-end appraisal API: the contract, the rollup (run synchronously here), self-assessment, review,
finalisation, the distribution math, grade quotas, denials and query counts."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.roles import Role
from plan_control.appraisal import services as appraisal_services
from plan_control.models import Appraisal, AppraisalRound, ControlledPlan
from plan_control.monitoring import services
from plan_control.tests.factories import LINEAR, YEAR, agency_people, fill_and_submit, make_plans, plan_dict, report_for

pytestmark = pytest.mark.django_db

ROUNDS = "/api/v1/appraisal-rounds/"
APPRAISALS = "/api/v1/appraisals/"


@pytest.fixture
def officer(make_user):
    return make_user(Role.RDEC_OFFICER, username="officer")


@pytest.fixture
def supervisor(make_user):
    return make_user(Role.RDEC_SUPERVISOR, username="supervisor")


@pytest.fixture
def year_of_plans(officer):
    """Two agencies: TR has plans T1 and T2, ED has E1; T1 reports January on plan, E1 lags in January."""
    tr, tr_clerk, tr_head = agency_people("TR")
    ed, ed_clerk, _ed_head = agency_people("ED")
    plans = make_plans(officer, [plan_dict("T1", "TR"), plan_dict("T2", "TR"), plan_dict("E1", "ED")])
    services.reports_open_for_month(year=YEAR, month=1)
    by_code = {p.code: p for p in plans}
    fill_and_submit(tr_clerk, report_for(by_code["T1"], 1), LINEAR[0])
    fill_and_submit(ed_clerk, report_for(by_code["E1"], 1), 0, reason="用地取得延宕", remedy="協調地主")
    return {"tr": tr, "tr_clerk": tr_clerk, "tr_head": tr_head, "ed": ed, "ed_clerk": ed_clerk, "plans": by_code}


def _rollup(client, round_id: int, django_capture_on_commit_callbacks) -> dict:
    """POST rollup/ without running the Celery group, then each agency's share synchronously."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(f"{ROUNDS}{round_id}/rollup/")
    assert response.status_code == 202, response.content
    assert callbacks  # the group of per-agency tasks, scheduled after commit (not run here)
    return response.json()


def _create_round(client, **extra) -> dict:
    response = client.post(ROUNDS, {"year": YEAR, **extra}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_whole_round_through_the_api(
    api_client, officer, supervisor, year_of_plans, django_capture_on_commit_callbacks
):
    world = year_of_plans
    api_client.force_authenticate(officer)
    created = _create_round(api_client)
    assert {"id", "year", "status", "weights", "grade_bands"} <= set(created)
    assert created["status"] == "open"
    assert created["weights"] == {"progress": 40, "timeliness": 20, "completion": 25, "budget": 15}
    assert created["grade_bands"][0] == {"grade": "excellent", "min_score": 90, "quota_percent": None}
    round_id = created["id"]

    started = _rollup(api_client, round_id, django_capture_on_commit_callbacks)
    round_ = AppraisalRound.objects.get(pk=round_id)
    assert started == {"task_id": round_.rollup_task_id, "status": "rolling_up"}
    assert len(started["task_id"]) == 32
    progress = api_client.get(f"{ROUNDS}{round_id}/progress/").json()
    assert progress == {"done": 0, "total": 3, "status": "rolling_up"}

    assert appraisal_services.appraisal_rollup_agencies(round_id=round_id, agency_ids=[world["tr"].pk]) == 2
    assert api_client.get(f"{ROUNDS}{round_id}/progress/").json() == {"done": 2, "total": 3, "status": "rolling_up"}
    assert appraisal_services.appraisal_rollup_agencies(round_id=round_id, agency_ids=[world["ed"].pk]) == 1
    assert api_client.get(f"{ROUNDS}{round_id}/progress/").json() == {
        "done": 3,
        "total": 3,
        "status": "self_assessment",
    }
    assert api_client.get(f"{ROUNDS}{round_id}/").json()["status"] == "self_assessment"

    # The officer sees all three appraisals with the contract's fields.
    listed = api_client.get(APPRAISALS, {"round": round_id}).json()["results"]
    assert len(listed) == 3
    fields = {"id", "plan", "suggested_score", "components", "self_score", "self_assessment"}
    fields |= {"review_score", "final_score", "grade", "status"}
    assert fields <= set(listed[0])
    by_plan = {row["plan"]: row for row in listed}
    t1 = by_plan[world["plans"]["T1"].pk]
    e1 = by_plan[world["plans"]["E1"].pk]
    assert t1["status"] == "suggested" and t1["grade"] == "" and t1["final_score"] is None
    assert set(t1["components"]) >= {"progress", "timeliness", "completion", "budget"}
    assert t1["components"]["months_missing"] == 11
    assert e1["components"]["months_lagging"] == 1
    assert t1["suggested_score"] > e1["suggested_score"]

    # The agency sees and assesses only its own.
    api_client.force_authenticate(world["tr_clerk"])
    own = api_client.get(APPRAISALS).json()["results"]
    assert {row["plan"] for row in own} == {world["plans"]["T1"].pk, world["plans"]["T2"].pk}
    response = api_client.post(
        f"{APPRAISALS}{t1['id']}/submit-self-assessment/", {"score": 88.5, "text": "如期推動"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["self_score"] == 88.5
    assert response.json()["self_assessment"] == "如期推動"
    assert response.json()["status"] == "self_assessed"
    t2_id = by_plan[world["plans"]["T2"].pk]["id"]
    response = api_client.post(
        f"{APPRAISALS}{t2_id}/submit-self-assessment/",
        {"self_score": "70", "self_assessment": "尚未填報月報"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["self_score"] == 70.0
    # Bad input: 400 with the field.
    response = api_client.post(f"{APPRAISALS}{t2_id}/submit-self-assessment/", {"score": 101, "text": "x"})
    assert response.status_code == 400 and "score" in response.json()
    response = api_client.post(f"{APPRAISALS}{t2_id}/submit-self-assessment/", {"score": 80, "text": "  "})
    assert response.status_code == 400 and "self_assessment" in response.json()
    # Another agency's appraisal: 404, for reading and for writing.
    assert api_client.get(f"{APPRAISALS}{e1['id']}/").status_code == 404
    response = api_client.post(f"{APPRAISALS}{e1['id']}/submit-self-assessment/", {"score": 80, "text": "越權"})
    assert response.status_code == 404
    # The agency may not review nor run the round.
    assert api_client.post(f"{APPRAISALS}{t1['id']}/review/", {"score": 90}).status_code == 409  # not in review yet
    assert api_client.post(f"{ROUNDS}{round_id}/open-review/").status_code == 403
    assert api_client.post(f"{ROUNDS}{round_id}/finalize/").status_code == 403

    # RDEC may not self-assess for an agency: 403.
    api_client.force_authenticate(officer)
    response = api_client.post(f"{APPRAISALS}{e1['id']}/submit-self-assessment/", {"score": 80, "text": "代填"})
    assert response.status_code == 403
    # Reviewing before the review stage: 409.
    response = api_client.post(f"{APPRAISALS}{t1['id']}/review/", {"score": 90})
    assert response.status_code == 409 and response.json()["code"] == "not_review"

    response = api_client.post(f"{ROUNDS}{round_id}/open-review/")
    assert response.status_code == 200 and response.json()["status"] == "review"

    # Self-assessment is closed now: 409 for the agency.
    api_client.force_authenticate(world["tr_clerk"])
    response = api_client.post(f"{APPRAISALS}{t1['id']}/submit-self-assessment/", {"score": 90, "text": "補充"})
    assert response.status_code == 409 and response.json()["code"] == "not_self_assessment"
    # ...and reviewing is RDEC's: 403.
    assert api_client.post(f"{APPRAISALS}{t1['id']}/review/", {"score": 99}).status_code == 403

    api_client.force_authenticate(officer)
    response = api_client.post(f"{APPRAISALS}{t1['id']}/review/", {"score": 91, "comment": "執行良好"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["review_score"], body["final_score"], body["status"]) == (91.0, 91.0, "reviewed")
    response = api_client.post(
        f"{APPRAISALS}{t2_id}/review/", {"review_score": 72, "review_comment": "月報缺漏"}, format="json"
    )
    assert response.status_code == 200 and response.json()["review_comment"] == "月報缺漏"

    # One plan still unreviewed: 409 `unreviewed` with the count.
    response = api_client.post(f"{ROUNDS}{round_id}/finalize/")
    assert response.status_code == 409
    assert response.json()["code"] == "unreviewed" and response.json()["unreviewed"] == 1
    assert api_client.post(f"{APPRAISALS}{e1['id']}/review/", {"score": 65}).status_code == 200

    api_client.force_authenticate(supervisor)  # a supervisor finalises too
    response = api_client.post(f"{ROUNDS}{round_id}/finalize/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "finalised" and response.json()["finalised_at"]

    results = api_client.get(f"{ROUNDS}{round_id}/results/").json()
    assert results["distribution"] == [
        {"grade": "excellent", "count": 1, "percent": 33.34},
        {"grade": "a", "count": 0, "percent": 0.0},
        {"grade": "b", "count": 1, "percent": 33.33},
        {"grade": "c", "count": 1, "percent": 33.33},
    ]
    assert results["items"] == [
        {"plan": world["plans"]["T1"].pk, "final_score": 91.0, "grade": "excellent"},
        {"plan": world["plans"]["T2"].pk, "final_score": 72.0, "grade": "b"},
        {"plan": world["plans"]["E1"].pk, "final_score": 65.0, "grade": "c"},
    ]
    # An agency reads the distribution but only its own plans among the items.
    api_client.force_authenticate(world["ed_clerk"])
    results = api_client.get(f"{ROUNDS}{round_id}/results/").json()
    assert [row["count"] for row in results["distribution"]] == [1, 0, 1, 1]
    assert results["items"] == [{"plan": world["plans"]["E1"].pk, "final_score": 65.0, "grade": "c"}]
    assert api_client.get(f"{APPRAISALS}{e1['id']}/").json()["grade"] == "c"


def test_rollup_with_no_plans_finishes_on_commit(api_client, officer, django_capture_on_commit_callbacks):
    api_client.force_authenticate(officer)
    round_id = _create_round(api_client)["id"]
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(f"{ROUNDS}{round_id}/rollup/")
    assert response.status_code == 202
    assert api_client.get(f"{ROUNDS}{round_id}/progress/").json() == {
        "done": 0,
        "total": 0,
        "status": "self_assessment",
    }


def test_round_create_validation_and_denials(api_client, officer, make_user):
    clerk = make_user(Role.AGENCY_CLERK)
    api_client.force_authenticate(clerk)
    assert api_client.post(ROUNDS, {"year": YEAR}, format="json").status_code == 403
    api_client.force_authenticate(officer)
    bad_weights = {"progress": 50, "timeliness": 20, "completion": 25, "budget": 15}
    response = api_client.post(ROUNDS, {"year": YEAR, "weights": bad_weights}, format="json")
    assert response.status_code == 400 and "weights" in response.json()
    bands = [
        {"grade": "excellent", "min_score": 90},
        {"grade": "a", "min_score": 95},
        {"grade": "b", "min_score": 70},
        {"grade": "c", "min_score": 0},
    ]
    response = api_client.post(ROUNDS, {"year": YEAR, "grade_bands": bands}, format="json")
    assert response.status_code == 400 and "grade_bands" in response.json()
    _create_round(api_client)
    assert api_client.post(ROUNDS, {"year": YEAR}, format="json").status_code == 400  # one round a year
    # Anyone signed in reads the rounds; nobody anonymous.
    api_client.force_authenticate(clerk)
    assert api_client.get(ROUNDS).json()["results"][0]["year"] == YEAR
    api_client.force_authenticate(None)
    assert api_client.get(ROUNDS).status_code in (401, 403)


def _plans(agency, n: int, *, prefix: str) -> list[ControlledPlan]:
    return ControlledPlan.objects.bulk_create(
        ControlledPlan(
            year=YEAR,
            code=f"{prefix}{i:03d}",
            agency=agency,
            title=f"計畫{prefix}{i}",
            budget=1_000_000,
            planned_progress=LINEAR,
            status=ControlledPlan.Status.COMPLETED,
        )
        for i in range(n)
    )


def _reviewed_round(scores: list[Decimal], agency, **round_fields) -> AppraisalRound:
    """A round in review whose plans are all reviewed with `scores` (built in the DB directly)."""
    round_ = AppraisalRound.objects.create(year=YEAR, status=AppraisalRound.Status.REVIEW, **round_fields)
    now = timezone.now()
    plans = _plans(agency, len(scores), prefix="P")
    Appraisal.objects.bulk_create(
        Appraisal(
            round=round_,
            plan=plan,
            agency=agency,
            suggested_score=score,
            review_score=score,
            final_score=score,
            status=Appraisal.Status.REVIEWED,
            computed_at=now,
        )
        for plan, score in zip(plans, scores, strict=True)
    )
    return round_


def test_distribution_of_the_2017_appraisal(api_client, officer, supervisor):
    """2 / 52 / 105 / 0 of 159 plans: 1.26 / 32.70 / 66.04 / 0.00 (largest remainder, summing to 100.00)."""
    agency, _clerk, _head = agency_people("KH")
    scores = [Decimal("95.5"), Decimal("90")] + [Decimal("80") + Decimal(i % 10) for i in range(52)]
    scores += [Decimal("70") + Decimal(i % 100) / 10 for i in range(105)]  # 70.0 .. 79.9
    round_ = _reviewed_round(scores, agency)
    api_client.force_authenticate(supervisor)
    response = api_client.post(f"{ROUNDS}{round_.pk}/finalize/")
    assert response.status_code == 200, response.content
    results = api_client.get(f"{ROUNDS}{round_.pk}/results/").json()
    assert results["distribution"] == [
        {"grade": "excellent", "count": 2, "percent": 1.26},
        {"grade": "a", "count": 52, "percent": 32.70},
        {"grade": "b", "count": 105, "percent": 66.04},
        {"grade": "c", "count": 0, "percent": 0.00},
    ]
    assert sum(Decimal(str(row["percent"])) for row in results["distribution"]) == Decimal("100.00")
    assert len(results["items"]) == 159
    assert results["items"][0]["final_score"] == 95.5 and results["items"][0]["grade"] == "excellent"
    assert Appraisal.objects.filter(round=round_, status=Appraisal.Status.FINALISED).count() == 159
    # Finalised is final: a second finalize is refused.
    assert api_client.post(f"{ROUNDS}{round_.pk}/finalize/").status_code == 409


def test_grade_bands_with_a_quota(api_client, officer):
    """優等 at 90 or more but at most 20% of the plans (2 of 10): the third 90+ plan falls to 甲等."""
    agency, _clerk, _head = agency_people("KH")
    api_client.force_authenticate(officer)
    bands = [
        {"grade": "excellent", "min_score": 90, "quota_percent": 20},
        {"grade": "a", "min_score": 80, "quota_percent": None},
        {"grade": "b", "min_score": 70.5},
        {"grade": "c", "min_score": 0},
    ]
    created = _create_round(api_client, grade_bands=bands)
    assert created["grade_bands"] == [
        {"grade": "excellent", "min_score": 90.0, "quota_percent": 20.0},
        {"grade": "a", "min_score": 80.0, "quota_percent": None},
        {"grade": "b", "min_score": 70.5, "quota_percent": None},
        {"grade": "c", "min_score": 0.0, "quota_percent": None},
    ]
    stored = AppraisalRound.objects.get(pk=created["id"])
    assert stored.grade_bands[0] == {"grade": "excellent", "min_score": 90, "quota_percent": 20}
    stored.delete()
    scores = [Decimal(s) for s in ("95", "94", "93", "92", "85", "84", "83", "75", "70.49", "60")]
    round_ = _reviewed_round(scores, agency, grade_bands=stored.grade_bands)
    response = api_client.post(f"{ROUNDS}{round_.pk}/finalize/")
    assert response.status_code == 200, response.content
    results = api_client.get(f"{ROUNDS}{round_.pk}/results/").json()
    assert [(row["grade"], row["count"]) for row in results["distribution"]] == [
        ("excellent", 2),
        ("a", 5),
        ("b", 1),
        ("c", 2),
    ]
    assert [row["percent"] for row in results["distribution"]] == [20.0, 50.0, 10.0, 20.0]
    assert [row["grade"] for row in results["items"]][:3] == ["excellent", "excellent", "a"]


def test_list_query_counts_do_not_grow(api_client, officer, django_assert_max_num_queries):
    agency, clerk, _head = agency_people("KH")
    round_ = _reviewed_round([Decimal(80 + i % 20) for i in range(5)], agency)

    def count(url, user) -> int:
        api_client.force_authenticate(user)
        with CaptureQueriesContext(connection) as ctx:
            response = api_client.get(url)
        assert response.status_code == 200
        return len(ctx.captured_queries)

    pairs = [(url, user) for url in (APPRAISALS, ROUNDS) for user in (officer, clerk)]
    for url, user in pairs:  # warm the per-user caches (roles, substitutes)
        count(url, user)
    small = {(url, user.pk): count(url, user) for url, user in pairs}
    now = timezone.now()
    more = _plans(agency, 40, prefix="Q")
    Appraisal.objects.bulk_create(
        Appraisal(round=round_, plan=p, agency=agency, suggested_score=Decimal(75), computed_at=now) for p in more
    )
    for year in range(100, 110):
        AppraisalRound.objects.create(year=year)
    large = {(url, user.pk): count(url, user) for url, user in pairs}
    assert large == small
    assert api_client.get(APPRAISALS).json()["count"] == 45
    with django_assert_max_num_queries(8):
        api_client.get(f"{ROUNDS}{round_.pk}/results/")
