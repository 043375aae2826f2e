"""The 2018 round through the API: 20 agencies, 69 proposals, 7 reviewers, quotas 4/17/13/11."""

import random
from decimal import Decimal

import pytest

from accounts.roles import Role
from accounts.tests.factories import AgencyFactory
from proposals.models import Proposal
from reviews.models import ReviewItem, ScoreSheet
from reviews.scoring import CriterionSpec, weighted_total

pytestmark = pytest.mark.django_db

RUBRIC = [
    {"code": "innovation", "name": "創新性", "weight": 30, "max_score": 30},
    {"code": "feasibility", "name": "可行性", "weight": 25, "max_score": 25},
    {"code": "benefit", "name": "效益", "weight": 25, "max_score": 25},
    {"code": "scope", "name": "擴散性", "weight": 20, "max_score": 20},
]
QUOTAS = [
    {"grade": "excellent", "count": 4},
    {"grade": "a", "count": 17},
    {"grade": "b", "count": 13},
    {"grade": "merit", "count": 11},
]


def as_user(client, user):
    client.force_authenticate(user)
    return client


def ok(response, status=200):
    assert response.status_code == status, response.content.decode()
    return response.json()


def test_a_2018_round_through_the_api(api_client, make_user):
    rng = random.Random(107)
    rdec = AgencyFactory(code="RDEC", name="研考會")
    officer = make_user(Role.RDEC_OFFICER, agency=rdec)
    agencies = [AgencyFactory(code=f"A{n:02d}", name=f"高雄市政府第{n}局") for n in range(20)]
    clerks = [make_user(Role.AGENCY_CLERK, agency=a) for a in agencies]
    heads = [make_user(Role.AGENCY_HEAD, agency=a) for a in agencies]
    reviewers = [make_user(Role.REVIEWER, agency=None) for _ in range(5)]
    # Two internal reviewers from agencies that submit proposals: they must be recused from their own.
    reviewers += [make_user(Role.REVIEWER, agency=agencies[0]), make_user(Role.REVIEWER, agency=agencies[1])]

    api = as_user(api_client, officer)
    round_ = ok(
        api.post(
            "/api/v1/proposal-rounds/",
            {
                "year": 107,
                "title": "107年度市政創新提案",
                "submission_deadline": "107/05/31",
                "scoring_deadline": "2018-07-31",
                "response_days": 20,
                "rubric": RUBRIC,
                "aggregation": "trimmed_mean",
                "grade_quotas": QUOTAS,
            },
            format="json",
        ),
        201,
    )
    assert round_["rubric"][0] == {"code": "innovation", "name": "創新性", "weight": 30.0, "max_score": 30.0}
    assert round_["grade_quotas"] == QUOTAS
    rid = round_["id"]
    for index, reviewer in enumerate(reviewers):
        kind = "external" if index < 5 else "internal"
        ok(
            api.post(
                f"/api/v1/proposal-rounds/{rid}/panel-members/",
                {"user": reviewer.pk, "kind": kind, "chair": index == 0},
                format="json",
            ),
            201,
        )
    ok(api.post(f"/api/v1/proposal-rounds/{rid}/open/"))

    proposal_ids = []
    for n in range(69):
        agency_index = n % 20
        clerk, head = clerks[agency_index], heads[agency_index]
        created = ok(
            as_user(api_client, clerk).post(
                "/api/v1/proposals/",
                {
                    "round": rid,
                    "title": f"提案{n:02d}",
                    "summary": "摘要",
                    "problem": "問題",
                    "approach": "作法",
                    "benefits": "效益",
                },
                format="json",
            ),
            201,
        )
        assert created["agency"] == agencies[agency_index].pk
        ok(as_user(api_client, clerk).post(f"/api/v1/proposals/{created['id']}/submit/"))
        ok(as_user(api_client, head).post(f"/api/v1/proposals/{created['id']}/approve/"))
        proposal_ids.append(created["id"])

    api = as_user(api_client, officer)
    ok(api.post(f"/api/v1/proposal-rounds/{rid}/close-submissions/"))
    for pid in proposal_ids:
        ok(api.post(f"/api/v1/proposals/{pid}/screen/", {"passed": True, "reason": "符合格式"}, format="json"))
    assert ok(api.post(f"/api/v1/proposal-rounds/{rid}/start-scoring/"))["status"] == "scoring"

    # The internal reviewers are recused from their own agency's proposals (4 each: n % 20 in {0, 1}).
    for internal, agency in ((reviewers[5], agencies[0]), (reviewers[6], agencies[1])):
        sheets = ok(as_user(api_client, internal).get("/api/v1/score-sheets/?limit=500"))["results"]
        recused = [s for s in sheets if s["status"] == "recused"]
        assert len(sheets) == 69
        assert len(recused) == 4
        assert {ReviewItem.objects.get(pk=s["item"]).agency_id for s in recused} == {agency.pk}

    specs = [CriterionSpec(c["code"], Decimal(c["weight"]), Decimal(c["max_score"])) for c in RUBRIC]
    totals: dict[int, list[Decimal]] = {}
    for reviewer in reviewers:
        client = as_user(api_client, reviewer)
        for sheet in ok(client.get("/api/v1/score-sheets/?limit=500"))["results"]:
            if sheet["status"] == "recused":
                continue
            scores = {c["code"]: rng.randint(c["max_score"] // 2, c["max_score"]) for c in RUBRIC}
            ok(client.patch(f"/api/v1/score-sheets/{sheet['id']}/", {"scores": scores}, format="json"))
            ok(client.post(f"/api/v1/score-sheets/{sheet['id']}/submit/"))
            totals.setdefault(sheet["item"], []).append(
                weighted_total({k: Decimal(v) for k, v in scores.items()}, specs)
            )

    api = as_user(api_client, officer)
    assert ok(api.post(f"/api/v1/proposal-rounds/{rid}/close-scoring/"))["status"] == "grading"
    preview = ok(api.get(f"/api/v1/proposal-rounds/{rid}/preview/"))
    while preview["ties"]:  # resolve any boundary tie as the chair would, then look again
        tie = preview["ties"][0]
        ok(
            as_user(api_client, reviewers[0]).post(
                f"/api/v1/panels/{round_['panel']}/resolve-tie/",
                {"item_ids": tie["items"], "reason": "依創新性討論"},
                format="json",
            )
        )
        preview = ok(as_user(api_client, officer).get(f"/api/v1/proposal-rounds/{rid}/preview/"))
    api = as_user(api_client, officer)
    ok(api.post(f"/api/v1/proposal-rounds/{rid}/finalize/"))
    results = ok(api.get(f"/api/v1/proposal-rounds/{rid}/results/"))

    grades = [r["grade"] for r in results]
    assert [grades.count(g) for g in ("excellent", "a", "b", "merit", "")] == [4, 17, 13, 11, 69 - 45]
    # Ranked by trimmed mean (7 sheets -> drop highest and lowest; 6 for recused items -> also trimmed).
    expected_scores = {}
    for item_id, values in totals.items():
        values = sorted(values)
        trimmed = values[1:-1] if len(values) >= 5 else values
        expected_scores[item_id] = (sum(trimmed) / len(trimmed)).quantize(Decimal("0.01"))
    scores = [Decimal(r["score"]) for r in results]
    assert scores == sorted(scores, reverse=True)
    assert sorted(scores) == sorted(expected_scores.values())
    assert [r["rank"] for r in results][:1] == [1]
    assert Proposal.objects.filter(status="graded").count() == 69
    assert ScoreSheet.objects.filter(status="submitted").count() == 69 * 7 - 8
