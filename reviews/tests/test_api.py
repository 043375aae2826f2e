"""Reviews API: a reviewer's own sheets, blind access, panel actions and their refusals."""

import threading
import time
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import AgencyFactory
from reviews import services
from reviews.models import Panel, PanelMember, ReviewItem, ScoreSheet
from workflow_site.errors import ApplicationError

CRITERIA = [
    {"code": "innovation", "name": "創新性", "weight": 40, "max_score": 10, "guidance": "構想是否新穎"},
    {"code": "feasibility", "name": "可行性", "weight": 60, "max_score": 20},
]
FULL = {"innovation": 8, "feasibility": 15}  # 8/10x40 + 15/20x60 = 77.00


@dataclass
class Setup:
    panel: Panel
    officer: object
    members: list[PanelMember]
    items: list[ReviewItem]

    @property
    def chair(self):
        return self.members[0].user

    @property
    def reviewer(self):
        return self.members[1].user

    def sheet(self, user, item_index: int = 0) -> ScoreSheet:
        return ScoreSheet.objects.get(member__user=user, item=self.items[item_index])


def build_panel(
    make_user, *, reviewers=3, items=2, start=True, hide_agency=False, bands=None, min_members=None, criteria=None
):
    """A panel of `reviewers` external members (the first chairs) scoring `items` items, each from its own agency."""
    officer = make_user("rdec_officer")
    rubric = services.rubric_create(actor=officer, name="創新提案評分表", criteria=criteria or CRITERIA)
    panel = services.panel_create(
        actor=officer,
        round_obj=AgencyFactory(),
        title="107年度市政創新提案審查會",
        rubric_id=rubric.pk,
        min_members=reviewers if min_members is None else min_members,
        hide_agency=hide_agency,
        bands=bands,
    )
    members = [
        services.panel_member_add(
            panel_id=panel.pk, actor=officer, user_id=make_user("reviewer").pk, kind="external", is_chair=index == 0
        )
        for index in range(reviewers)
    ]
    agencies = [AgencyFactory() for _ in range(items)]
    services.review_items_sync(
        panel_id=panel.pk, actor=officer, subjects=[(a, f"提案{n}：{a.name}", a.pk) for n, a in enumerate(agencies)]
    )
    if start:
        services.panel_start_scoring(panel_id=panel.pk, actor=officer)
    panel.refresh_from_db()
    return Setup(panel, officer, members, list(panel.items.order_by("pk")))


def submit_all(setup: Setup, scores=FULL) -> None:
    for member in setup.members:
        for sheet in ScoreSheet.objects.filter(member=member, status=ScoreSheet.Status.NOT_STARTED):
            services.sheet_submit(sheet_id=sheet.pk, actor=member.user, scores=scores)


def as_user(api_client, user):
    api_client.force_authenticate(user)
    return api_client


# ---------------------------------------------------------------------------------------------- score sheets


@pytest.mark.django_db
def test_list_holds_only_my_own_sheets_with_the_contract_fields(api_client, make_user):
    setup = build_panel(make_user)
    response = as_user(api_client, setup.reviewer).get("/api/v1/score-sheets/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert {r["id"] for r in rows} == set(
        ScoreSheet.objects.filter(member__user=setup.reviewer).values_list("pk", flat=True)
    )
    first = rows[0]
    assert first["item"] == setup.items[0].pk
    assert first["round"] == setup.panel.round_id
    assert first["panel"] == setup.panel.pk
    assert first["status"] == "not_started"
    assert first["scores"] == {}
    assert first["comment"] == ""
    assert first["total"] is None
    assert first["item_title"] == setup.items[0].title
    assert first["agency"] == setup.items[0].agency.name
    assert {"recusal_reason", "submitted_at"} <= set(first)


@pytest.mark.django_db
def test_hidden_agency_is_null(api_client, make_user):
    setup = build_panel(make_user, hide_agency=True)
    rows = as_user(api_client, setup.reviewer).get("/api/v1/score-sheets/").json()["results"]
    assert rows and all(r["agency"] is None for r in rows)


@pytest.mark.django_db
def test_list_filters_by_panel(api_client, make_user):
    setup = build_panel(make_user)
    client = as_user(api_client, setup.reviewer)
    assert client.get(f"/api/v1/score-sheets/?panel={setup.panel.pk}").json()["count"] == 2
    assert client.get(f"/api/v1/score-sheets/?panel={setup.panel.pk + 1000}").json()["count"] == 0


@pytest.mark.django_db
def test_someone_elses_sheet_is_404_on_get_patch_and_submit(api_client, make_user):
    setup = build_panel(make_user)
    theirs = setup.sheet(setup.chair)
    client = as_user(api_client, setup.reviewer)
    assert client.get(f"/api/v1/score-sheets/{theirs.pk}/").status_code == 404
    assert client.patch(f"/api/v1/score-sheets/{theirs.pk}/", {"scores": FULL}, format="json").status_code == 404
    assert client.post(f"/api/v1/score-sheets/{theirs.pk}/submit/", {"scores": FULL}, format="json").status_code == 404
    assert client.post(f"/api/v1/score-sheets/{theirs.pk}/declare-conflict/", {"reason": "x"}).status_code == 404
    theirs.refresh_from_db()
    assert (theirs.status, theirs.scores) == ("not_started", {})


@pytest.mark.django_db
def test_patch_saves_a_partial_draft_and_answers_numbers(api_client, make_user):
    setup = build_panel(make_user)
    sheet = setup.sheet(setup.reviewer)
    client = as_user(api_client, setup.reviewer)
    response = client.patch(
        f"/api/v1/score-sheets/{sheet.pk}/", {"scores": {"innovation": 7.5}, "comment": "具體可行"}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["scores"], body["total"], body["comment"]) == (
        "draft",
        {"innovation": 7.5},
        None,
        "具體可行",
    )
    response = client.patch(f"/api/v1/score-sheets/{sheet.pk}/", {"scores": {"feasibility": "15"}}, format="json")
    assert response.json()["scores"] == {"innovation": 7.5, "feasibility": 15.0}
    assert response.json()["total"] == 75.0  # 7.5/10x40 + 15/20x60
    assert client.get(f"/api/v1/score-sheets/{sheet.pk}/").json()["comment"] == "具體可行"


@pytest.mark.django_db
def test_a_bad_value_in_a_draft_is_named_and_the_rest_is_saved(api_client, make_user):
    setup = build_panel(make_user)
    sheet = setup.sheet(setup.reviewer)
    client = as_user(api_client, setup.reviewer)
    response = client.patch(
        f"/api/v1/score-sheets/{sheet.pk}/",
        {"scores": {"innovation": 11, "feasibility": 15}, "comment": "可行性高"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["errors"] == {"innovation": ["「創新性」的分數須介於 0 到 10.00。"]}
    assert (body["status"], body["scores"], body["total"], body["comment"]) == (
        "draft",
        {"feasibility": 15.0},
        None,
        "可行性高",
    )
    again = client.get(f"/api/v1/score-sheets/{sheet.pk}/").json()
    assert (again["scores"], again["comment"]) == ({"feasibility": 15.0}, "可行性高")
    assert "errors" not in again  # a read has nothing refused to report
    fixed = client.patch(f"/api/v1/score-sheets/{sheet.pk}/", {"scores": {"innovation": 8}}, format="json").json()
    assert (fixed["errors"], fixed["total"]) == ({}, 77.0)


@pytest.mark.django_db
def test_a_bad_value_in_a_submit_is_a_400_keyed_by_the_criterion_code(api_client, make_user):
    setup = build_panel(make_user)
    sheet = setup.sheet(setup.reviewer)
    client = as_user(api_client, setup.reviewer)
    response = client.post(
        f"/api/v1/score-sheets/{sheet.pk}/submit/", {"scores": {"innovation": 11, "feasibility": 15}}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"innovation": ["「創新性」的分數須介於 0 到 10.00。"]}
    response = client.post(f"/api/v1/score-sheets/{sheet.pk}/submit/", {"scores": {"innovation": 5}}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["feasibility"]  # not scored yet
    sheet.refresh_from_db()
    assert (sheet.status, sheet.scores) == ("not_started", {})


@pytest.mark.django_db
def test_scores_that_are_not_an_object_are_a_400(api_client, make_user):
    setup = build_panel(make_user)
    sheet = setup.sheet(setup.reviewer)
    client = as_user(api_client, setup.reviewer)
    response = client.patch(f"/api/v1/score-sheets/{sheet.pk}/", {"scores": [8], "comment": "x"}, format="json")
    assert response.status_code == 400
    assert "scores" in response.json()


@pytest.mark.django_db
def test_submit_then_submit_again_is_a_409(api_client, make_user):
    setup = build_panel(make_user)
    sheet = setup.sheet(setup.reviewer)
    client = as_user(api_client, setup.reviewer)
    response = client.post(f"/api/v1/score-sheets/{sheet.pk}/submit/", {"scores": FULL, "comment": "佳"}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["total"]) == ("submitted", 77.0)
    assert response.json()["submitted_at"]
    again = client.post(f"/api/v1/score-sheets/{sheet.pk}/submit/", {}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "transition_not_allowed"
    draft = client.patch(f"/api/v1/score-sheets/{sheet.pk}/", {"scores": {"innovation": 1}}, format="json")
    assert draft.status_code == 409


@pytest.mark.django_db
def test_declare_conflict_needs_a_reason_and_clears_the_sheet(api_client, make_user):
    setup = build_panel(make_user)
    sheet = setup.sheet(setup.reviewer)
    client = as_user(api_client, setup.reviewer)
    client.patch(f"/api/v1/score-sheets/{sheet.pk}/", {"scores": {"innovation": 5}}, format="json")
    assert client.post(f"/api/v1/score-sheets/{sheet.pk}/declare-conflict/", {"reason": " "}).status_code == 400
    response = client.post(f"/api/v1/score-sheets/{sheet.pk}/declare-conflict/", {"reason": "曾擔任該案顧問"})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["recusal_reason"], response.json()["scores"]) == (
        "recused",
        "曾擔任該案顧問",
        {},
    )


@pytest.mark.django_db
def test_the_list_costs_the_same_queries_for_3_or_30_sheets(api_client, make_user):
    small = build_panel(make_user, reviewers=2, items=3)
    large = build_panel(make_user, reviewers=2, items=30)

    def count(user) -> int:
        client = as_user(api_client, user)
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/score-sheets/")
        assert response.status_code == 200
        return len(queries)

    assert len(as_user(api_client, large.reviewer).get("/api/v1/score-sheets/").json()["results"]) == 30
    assert count(small.reviewer) == count(large.reviewer) <= 3


@pytest.mark.django_db(transaction=True)
def test_two_submits_racing_on_postgresql_exactly_one_wins(make_user):
    """Two connections submit the same sheet at the same moment: the row lock queues the second, which then 409s."""
    setup = build_panel(make_user)
    sheet = setup.sheet(setup.reviewer)
    user = setup.reviewer
    both_ready = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            both_ready.wait(timeout=10)
            with transaction.atomic():
                services.sheet_submit(sheet_id=sheet.pk, actor=user, scores=FULL)
                time.sleep(0.3)  # hold the lock so the rival really waits for our commit
            outcomes.append("ok")
        except ApplicationError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(outcomes) == 2
    assert outcomes.count("ok") == 1
    assert set(outcomes) - {"ok"} <= {"transition_not_allowed", "concurrent_update"}
    sheet.refresh_from_db()
    assert (sheet.status, sheet.total) == ("submitted", Decimal("77.00"))


# ---------------------------------------------------------------------------------------------- panels


@pytest.mark.django_db
def test_a_user_with_no_relation_to_the_panel_gets_404_everywhere(api_client, make_user):
    setup = build_panel(make_user)
    client = as_user(api_client, make_user("reviewer"))
    base = f"/api/v1/panels/{setup.panel.pk}/"
    for path in ("", "progress/", "preview/", "results/", "sheets/"):
        assert client.get(base + path).status_code == 404, path
    for path in ("reopen-sheet/", "resolve-tie/", "start-scoring/", "close/", "finalize/"):
        assert client.post(base + path, {}).status_code == 404, path


@pytest.mark.django_db
def test_staff_and_chair_see_member_names_a_plain_member_sees_counts(api_client, make_user):
    setup = build_panel(make_user)
    url = f"/api/v1/panels/{setup.panel.pk}/"
    member_view = as_user(api_client, setup.reviewer).get(url).json()
    assert member_view["members"] is None
    assert member_view["member_counts"] == {"total": 3, "external": 3, "internal": 0, "reserve": 0}
    assert member_view["status"] == "scoring"
    assert [c["code"] for c in member_view["criteria"]] == ["innovation", "feasibility"]
    assert member_view["progress"] == {"sheets": 6, "submitted": 0, "recused": 0, "remaining": 6}
    chair_view = as_user(api_client, setup.chair).get(url).json()
    assert [m["name"] for m in chair_view["members"]] == [str(m.user) for m in setup.members]
    assert chair_view["viewer_is_chair"] is True
    staff_view = as_user(api_client, make_user("rdec_supervisor")).get(url).json()
    assert len(staff_view["members"]) == 3


@pytest.mark.django_db
def test_a_plain_member_gets_403_on_progress_and_chair_actions(api_client, make_user):
    setup = build_panel(make_user)
    sheet = setup.sheet(setup.chair)
    client = as_user(api_client, setup.reviewer)
    base = f"/api/v1/panels/{setup.panel.pk}/"
    assert client.get(base + "progress/").status_code == 403
    assert client.get(base + "sheets/").status_code == 403
    for path, body in [
        ("reopen-sheet/", {"sheet": sheet.pk, "reason": "x"}),
        ("reinstate-sheet/", {"sheet": sheet.pk, "reason": "x"}),
        ("reassign-sheet/", {"sheet": sheet.pk, "member": setup.members[2].pk, "reason": "x"}),
        ("resolve-tie/", {"item_ids": [i.pk for i in setup.items], "reason": "x"}),
    ]:
        assert client.post(base + path, body, format="json").status_code == 403, path
    for path in ("start-scoring/", "close/", "finalize/"):
        assert client.post(base + path).status_code == 403, path


@pytest.mark.django_db
def test_progress_for_the_chair(api_client, make_user):
    setup = build_panel(make_user)
    services.sheet_submit(sheet_id=setup.sheet(setup.reviewer).pk, actor=setup.reviewer, scores=FULL)
    response = as_user(api_client, setup.chair).get(f"/api/v1/panels/{setup.panel.pk}/progress/")
    assert response.status_code == 200
    rows = {r["member"]: r for r in response.json()}
    row = rows[str(setup.reviewer)]
    assert {k: row[k] for k in ("kind", "is_chair", "submitted", "total", "recused", "remaining", "overdue")} == {
        "kind": "external",
        "is_chair": False,
        "submitted": 1,
        "total": 2,
        "recused": 0,
        "remaining": 1,
        "overdue": False,
    }
    assert rows[str(setup.chair)]["is_chair"] is True


@pytest.mark.django_db
def test_nobody_sees_scores_before_the_panel_closes(api_client, make_user):
    setup = build_panel(make_user)
    submit_all(setup)
    officer = as_user(api_client, setup.officer)
    response = officer.get(f"/api/v1/panels/{setup.panel.pk}/preview/")
    assert response.status_code == 409
    assert response.json()["code"] == "panel_not_closed"
    assert officer.get(f"/api/v1/panels/{setup.panel.pk}/results/").json()["code"] == "panel_not_finalised"
    assert officer.post(f"/api/v1/panels/{setup.panel.pk}/close/").status_code == 200
    preview = officer.get(f"/api/v1/panels/{setup.panel.pk}/preview/").json()
    assert sorted((row["item"], row["score"], row["rank"]) for row in preview["items"]) == [
        (setup.items[0].pk, 77.0, 1),
        (setup.items[1].pk, 77.0, 1),
    ]
    assert preview["ties"] == []
    assert as_user(api_client, setup.reviewer).get(f"/api/v1/panels/{setup.panel.pk}/preview/").status_code == 403


@pytest.mark.django_db
def test_start_scoring_refused_with_the_composition_problems(api_client, make_user):
    setup = build_panel(make_user, reviewers=2, start=False, min_members=7)
    response = as_user(api_client, setup.officer).post(f"/api/v1/panels/{setup.panel.pk}/start-scoring/")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "panel_composition"
    assert body["problems"] == ["委員人數 2 人，少於規定的 7 人。"]
    setup.panel.refresh_from_db()
    assert setup.panel.status == "forming"


@pytest.mark.django_db
def test_start_scoring_opens_the_sheets(api_client, make_user):
    setup = build_panel(make_user, start=False)
    response = as_user(api_client, setup.officer).post(f"/api/v1/panels/{setup.panel.pk}/start-scoring/")
    assert response.status_code == 200
    assert response.json()["status"] == "scoring"
    assert ScoreSheet.objects.filter(panel=setup.panel).count() == 6


@pytest.mark.django_db
def test_finalize_needs_the_chair_to_order_a_boundary_tie(api_client, make_user):
    setup = build_panel(make_user, bands=[{"grade": "excellent", "label": "優等", "quota_count": 1}])
    submit_all(setup)
    officer = as_user(api_client, setup.officer)
    base = f"/api/v1/panels/{setup.panel.pk}/"
    officer.post(base + "close/")
    refused = officer.post(base + "finalize/")
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "unresolved_ties"
    tied = sorted(i.pk for i in setup.items)
    assert body["ties"] == [{"grade": "excellent", "seats": 1, "items": tied}]

    chair = as_user(api_client, setup.chair)
    order = [setup.items[0].pk, setup.items[1].pk]
    resolved = chair.post(base + "resolve-tie/", {"item_ids": order, "reason": "創新性較具體"}, format="json")
    assert resolved.status_code == 201, resolved.json()
    assert resolved.json()["item_ids"] == order

    done = as_user(api_client, setup.officer).post(base + "finalize/")
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "finalised"
    results = as_user(api_client, setup.reviewer).get(base + "results/").json()
    assert [(r["item"], r["rank"], r["grade"]) for r in results] == [
        (setup.items[0].pk, 1, "excellent"),
        (setup.items[1].pk, 2, ""),
    ]
    assert results[0]["reviewer_totals"] == [
        {"reviewer": "委員A", "total": 77.0},
        {"reviewer": "委員B", "total": 77.0},
        {"reviewer": "委員C", "total": 77.0},
    ]


@pytest.mark.django_db
def test_the_chair_reopens_and_reinstates_sheets(api_client, make_user):
    setup = build_panel(make_user)
    submitted = setup.sheet(setup.reviewer, 0)
    services.sheet_submit(sheet_id=submitted.pk, actor=setup.reviewer, scores=FULL)
    recused = setup.sheet(setup.reviewer, 1)
    services.sheet_declare_conflict(sheet_id=recused.pk, actor=setup.reviewer, reason="親屬任職該機關")
    chair = as_user(api_client, setup.chair)
    base = f"/api/v1/panels/{setup.panel.pk}/"

    sheets = chair.get(base + "sheets/").json()
    assert {s["id"]: s["status"] for s in sheets}[recused.pk] == "recused"
    assert "scores" not in sheets[0]

    response = chair.post(base + "reopen-sheet/", {"sheet": submitted.pk, "reason": "分數誤植"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "draft"
    response = chair.post(base + "reinstate-sheet/", {"sheet": recused.pk, "reason": "查無利益衝突"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "not_started"
    assert chair.post(base + "reopen-sheet/", {"sheet": 10**9, "reason": "x"}, format="json").status_code == 404


@pytest.mark.django_db
def test_the_chair_reassigns_a_recused_item_to_a_reserve_member(api_client, make_user):
    setup = build_panel(make_user)
    reserve = services.panel_member_add(
        panel_id=setup.panel.pk, actor=setup.officer, user_id=make_user("reviewer").pk, kind="internal", reserve=True
    )
    recused = setup.sheet(setup.reviewer)
    services.sheet_declare_conflict(sheet_id=recused.pk, actor=setup.reviewer, reason="曾參與規劃")
    response = as_user(api_client, setup.chair).post(
        f"/api/v1/panels/{setup.panel.pk}/reassign-sheet/",
        {"sheet": recused.pk, "member": reserve.pk, "reason": "改由備位委員評分"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["member"] == reserve.pk
    rows = as_user(api_client, reserve.user).get("/api/v1/score-sheets/").json()["results"]
    assert [r["item"] for r in rows] == [setup.items[0].pk]


@pytest.mark.django_db
def test_the_schema_documents_what_an_autosave_answers(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    patch = schema["paths"]["/api/v1/score-sheets/{id}/"]["patch"]
    ref = patch["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    draft = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(draft["properties"]) >= {"id", "status", "scores", "total", "comment", "errors"}
    assert draft["properties"]["errors"]["additionalProperties"] == {"type": "array", "items": {"type": "string"}}
    # Reads and submits answer the sheet as before, without `errors`.
    get = schema["paths"]["/api/v1/score-sheets/{id}/"]["get"]["responses"]["200"]["content"]["application/json"]
    sheet = schema["components"]["schemas"][get["schema"]["$ref"].rsplit("/", 1)[1]]
    assert "errors" not in sheet["properties"]
