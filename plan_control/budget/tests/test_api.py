"""The pre-budget review API driven like its clients: a whole cycle by the people who do each step, every bad input
of issue 14 as a 400 naming the field with nothing saved, who sees what, the ledger, and the lists' query counts."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.roles import Role
from plan_control.budget import services
from plan_control.budget.tests.factories import (
    AFTER_DEADLINE,
    FISCAL_YEAR,
    MEETING_DAY,
    WAN,
    YI,
    draft,
    jpeg,
    make_cycle,
    pdf,
    reload,
    sent,
)
from plan_control.models import (
    AmountLedger,
    BudgetCeiling,
    BudgetCycle,
    BudgetDocument,
    BudgetRequest,
    ControlledPlan,
    MeetingDecision,
    ReviewMeeting,
    SiteVisit,
    SiteVisitPhoto,
)
from theses.tests.factories import make_applicant
from workflow_site.models import TransitionLog

pytestmark = pytest.mark.django_db
S = BudgetRequest.Status
CYCLES, REQUESTS = "/api/v1/budget-cycles/", "/api/v1/budget-requests/"
MEETINGS, VISITS = "/api/v1/review-meetings/", "/api/v1/site-visits/"


@pytest.fixture(autouse=True)
def _frozen(frozen_clock):
    pass


@pytest.fixture
def world(world, make_user):
    world.attendee = make_user(Role.REVIEWER, agency=None, username="attendee")
    world.applicant = make_applicant("budget.applicant")
    return world


@pytest.fixture
def api(api_client):
    """`api(user, "post", url, body)`: the answer to `user`'s call (JSON unless `format` says otherwise)."""

    def call(user, method: str, url: str, data=None, format: str = "json"):
        api_client.force_authenticate(user)
        if method == "get":
            return api_client.get(url, data)
        return getattr(api_client, method)(url, data, format=format)

    return call


def ok(response, status: int = 200) -> dict | list:
    assert response.status_code == status, response.content.decode()[:500]
    return response.json()


def request_body(cycle_id: int, **overrides) -> dict:
    """A new annual plan of 6,000 萬 public budget, as a client sends it."""
    return {
        "cycle": cycle_id,
        "title": "捷運延伸線周邊人行環境改善",
        "kind": "new_annual",
        "amounts": {"public": 6000 * WAN},
        "total": 6000 * WAN,
        "justification": "改善步行安全與轉乘。",
        **overrides,
    }


def saved() -> tuple:
    """What a refused write must leave as it was."""
    return (
        BudgetCycle.objects.count(),
        BudgetCeiling.objects.count(),
        BudgetRequest.objects.count(),
        list(BudgetRequest.objects.order_by("pk").values()),
        BudgetDocument.objects.count(),
        AmountLedger.objects.count(),
        ReviewMeeting.objects.count(),
        MeetingDecision.objects.count(),
        SiteVisit.objects.count(),
        SiteVisitPhoto.objects.count(),
        ControlledPlan.objects.count(),
        TransitionLog.objects.count(),
    )


# ---------------------------------------------------------------------------------------------- a whole cycle


def test_a_whole_cycle_by_the_people_who_do_it(api, world):
    w = world
    # RDEC sets up the fiscal year: the seed's ceilings, PWB's own public ceiling, the timeline in ROC or ISO dates.
    body = {
        "fiscal_year": FISCAL_YEAR,
        "public_ceiling": 9_164_000_000,
        "fund_ceiling": 1_847_000_000,
        "request_deadline": "115/03/31",
        "meeting_start": "2026-05-01",
        "meeting_end": "2026-06-30",
        "balancing_date": "115/07/15",
    }
    cycle = ok(api(w.officer, "post", CYCLES, body), 201)
    assert (cycle["status"], cycle["request_deadline"], cycle["new_plan_threshold"], cycle["ceilings"]) == (
        "planning",
        "2026-03-31",
        50_000_000,
        [],
    )
    url = f"{CYCLES}{cycle['id']}/"
    ceilings = ok(api(w.officer, "post", f"{url}ceilings/", {"agency": w.pwb.pk, "public": 5 * YI}))
    assert ceilings == [
        {"agency": w.pwb.pk, "agency_code": "PWB", "agency_name": "PWB局", "public": 5 * YI, "fund": None}
    ]
    assert ok(api(w.officer, "post", f"{url}open/"))["status"] == "collecting"
    changed = ok(api(w.officer, "patch", url, {"continuing_threshold": 20_000_000}))
    assert (changed["continuing_threshold"], changed["ceilings"][0]["public"]) == (20_000_000, 5 * YI)

    # The clerk drafts a road (central review: 15億 over its years), uploads its plan and sends it to the head.
    road_body = request_body(
        cycle["id"],
        title="東西向快速道路",
        kind="new_medium_term",
        amounts={"public": 8 * YI, "central": 2 * YI},
        total=10 * YI,
        years={"117": 5 * YI},
    )
    road = ok(api(w.clerk, "post", REQUESTS, road_body), 201)
    assert road["amounts"] == {"public": 8 * YI, "fund": 0, "central": 2 * YI, "other": 0}
    assert (road["status"], road["agency"], road["plan_total"], road["central_review"]) == (
        "draft",
        w.pwb.pk,
        15 * YI,
        True,
    )
    assert (road["years"], road["fiscal_year"]) == ({"116": 10 * YI, "117": 5 * YI}, FISCAL_YEAR)
    assert road["recommended"] == road["approved"] == dict.fromkeys(("public", "fund", "central", "other"))
    road_url = f"{REQUESTS}{road['id']}/"
    document = ok(api(w.clerk, "post", f"{road_url}documents/", {"file": pdf("計畫書.pdf")}, format="multipart"), 201)
    assert (document["name"], document["format"]) == ("計畫書.pdf", "pdf")
    assert ok(api(w.clerk, "post", f"{road_url}submit/"))["status"] == "pending_approval"
    # The head sends it back once; the clerk lowers the public part; the head signs it off.
    returned = ok(api(w.head, "post", f"{road_url}return/", {"reason": "請再檢討經費"}))
    assert (returned["status"], returned["return_reason"]) == ("returned", "請再檢討經費")
    edited = ok(api(w.clerk, "patch", road_url, {"amounts": {"public": 7 * YI, "central": 2 * YI}, "total": 9 * YI}))
    assert (edited["total"], edited["years"]["116"], edited["documents"][0]["id"]) == (9 * YI, 9 * YI, document["id"])
    assert ok(api(w.clerk, "post", f"{road_url}submit/"))["status"] == "pending_approval"
    signed = ok(api(w.head, "post", f"{road_url}approve/"))
    assert (signed["status"], signed["return_reason"], signed["submitted_at"] is not None) == ("submitted", "", True)

    cycle_row = BudgetCycle.objects.get(pk=cycle["id"])
    park = sent(w.clerk, w.head, cycle_row, title="河濱公園", public=9000 * WAN)
    port = sent(w.tb_clerk, w.tb_head, cycle_row, title="港區綠能", kind="continuing", public=0, fund=5000 * WAN)
    # An officer takes one up early; the cycle's review takes up the rest.
    assert ok(api(w.officer, "post", f"{REQUESTS}{park.pk}/start-review/"))["status"] == "in_review"
    assert ok(api(w.officer, "post", f"{url}start-review/"))["status"] == "reviewing"
    assert reload(port).status == S.IN_REVIEW

    # A review meeting recommends the road's amounts; written reviews the others'; a site visit with a photo.
    meeting = ok(
        api(
            w.officer,
            "post",
            MEETINGS,
            {
                "cycle": cycle["id"],
                "date": "115/05/12",
                "place": "研考會第一會議室",
                "request_ids": [road["id"]],
                "attendee_ids": [w.attendee.pk],
            },
        ),
        201,
    )
    assert (meeting["agency_ids"], meeting["status"], meeting["date"]) == ([w.pwb.pk], "scheduled", "2026-05-12")
    meeting_url = f"{MEETINGS}{meeting['id']}/"
    moved = ok(api(w.officer, "patch", meeting_url, {"place": "研考會第二會議室"}))
    assert (moved["place"], moved["request_ids"], moved["attendee_ids"]) == (
        "研考會第二會議室",
        [road["id"]],
        [w.attendee.pk],
    )
    decision = ok(
        api(
            w.officer,
            "post",
            f"{meeting_url}decisions/",
            {"request": road["id"], "amounts": {"public": 7 * YI, "central": 2 * YI}, "note": "分年辦理"},
        )
    )
    assert decision == {
        "request": road["id"],
        "amounts": {"public": 7 * YI, "fund": 0, "central": 2 * YI, "other": 0},
        "total": 9 * YI,
        "note": "分年辦理",
        "recorded_by": w.officer.pk,
        "recorded_at": decision["recorded_at"],
    }
    held = ok(api(w.officer, "post", f"{meeting_url}hold/", {"minutes": "一、道路案分年辦理。"}))
    assert (held["status"], held["minutes"], [d["request"] for d in held["decisions"]]) == (
        "held",
        "一、道路案分年辦理。",
        [road["id"]],
    )
    ok(api(w.officer, "post", f"{REQUESTS}{park.pk}/recommend/", {"amounts": {"public": 8000 * WAN}}))
    ok(api(w.officer, "post", f"{REQUESTS}{port.pk}/recommend/", {"amounts": {"fund": 4000 * WAN}, "note": "書面"}))
    visit_body = {"cycle": cycle["id"], "date": "2026-06-03", "request_ids": [road["id"]], "findings": "用地已取得。"}
    visit = ok(api(w.officer, "post", VISITS, visit_body), 201)
    photo = ok(api(w.officer, "post", f"{VISITS}{visit['id']}/photos/", {"file": jpeg()}, format="multipart"), 201)
    assert photo["format"] == "jpeg"
    assert [p["id"] for p in ok(api(w.clerk, "get", f"{VISITS}{visit['id']}/"))["photos"]] == [photo["id"]]
    assert ok(api(w.officer, "post", f"{url}start-balancing/"))["status"] == "balancing"

    # Approving the road as recommended (7億 public) takes PWB past its own ceiling of 5億: a supervisor's reason.
    before = saved()
    refused = api(w.officer, "post", f"{road_url}decide/", {"decision": "approved"})
    assert refused.status_code == 400
    assert list(refused.json()) == ["amounts"]
    assert "PWB局公務預算核定總額將達 7億元，超過額度 5億元" in refused.json()["amounts"][0]
    override = {"decision": "approved", "override_reason": "重大建設優先"}
    assert api(w.officer, "post", f"{road_url}decide/", override).status_code == 403
    assert saved() == before
    approved = ok(api(w.supervisor, "post", f"{road_url}decide/", override))
    assert (approved["status"], approved["approved"]) == (
        "approved",
        {"public": 7 * YI, "fund": 0, "central": 2 * YI, "other": 0},
    )
    cut = {"decision": "cut", "amounts": {"fund": 3000 * WAN}, "reason": "分年編列"}
    assert ok(api(w.officer, "post", f"{REQUESTS}{port.pk}/decide/", cut))["decision_note"] == "分年編列"
    rejected = {"decision": "rejected", "reason": "效益不明"}
    assert ok(api(w.officer, "post", f"{REQUESTS}{park.pk}/decide/", rejected))["status"] == "rejected"

    # The balancing board: requested / recommended / approved per source, PWB over its own public ceiling.
    totals = ok(api(w.officer, "get", f"{url}totals/"))
    assert totals["overall"]["count"] == 3
    assert totals["overall"]["requested"] == {
        "public": 7 * YI + 9000 * WAN,
        "fund": 5000 * WAN,
        "central": 2 * YI,
        "other": 0,
        "total": 9 * YI + 9000 * WAN + 5000 * WAN,
    }
    assert totals["overall"]["approved"]["total"] == 9 * YI + 3000 * WAN
    assert totals["overall"]["over_ceiling"] == []
    by_code = {row["code"]: row for row in totals["agencies"]}
    assert (by_code["PWB"]["ceiling"], by_code["PWB"]["over_ceiling"]) == ({"public": 5 * YI, "fund": None}, ["public"])
    assert (by_code["TB"]["approved"]["fund"], by_code["TB"]["recommended"]["fund"]) == (3000 * WAN, 4000 * WAN)

    # The supervisor approves the cycle: next year's controlled plans exist; a second approval is a 409.
    assert api(w.officer, "post", f"{url}approve/").status_code == 403
    closed = ok(api(w.supervisor, "post", f"{url}approve/"))
    assert (closed["status"], closed["approved_at"] is not None) == ("approved", True)
    plans = {p.title: p for p in ControlledPlan.objects.all()}
    assert {title: p.budget for title, p in plans.items()} == {"東西向快速道路": 9 * YI, "港區綠能": 3000 * WAN}
    assert {(p.year, p.status) for p in plans.values()} == {(FISCAL_YEAR, "registered")}
    assert ok(api(w.clerk, "get", road_url))["controlled_plan"] == plans["東西向快速道路"].pk
    again = api(w.supervisor, "post", f"{url}approve/")
    assert again.status_code == 409 and again.json()["code"]
    assert ControlledPlan.objects.count() == 2
    assert api(w.officer, "patch", url, {"public_ceiling": 1}).status_code == 409  # cycle_locked
    assert ok(api(w.officer, "post", f"{url}close/"))["status"] == "closed"


# ---------------------------------------------------------------------------------------------- the ledger


def test_the_ledger_shows_every_amount_change_oldest_first(api, world, cycle):
    w = world
    request = draft(w.clerk, cycle, public=9000 * WAN)
    services.request_update(actor=w.clerk, request_id=request.pk, amounts={"public": 8000 * WAN}, total=8000 * WAN)
    entries = ok(api(w.clerk, "get", f"{REQUESTS}{request.pk}/ledger/"))
    assert [
        (e["field"], e["stage"], e["source"], e["from_amount"], e["to_amount"], e["actor"], e["reason"])
        for e in entries
    ] == [
        ("requested_public", "requested", "public", None, 9000 * WAN, w.clerk.pk, "提出申請"),
        ("requested_fund", "requested", "fund", None, 0, w.clerk.pk, "提出申請"),
        ("requested_central", "requested", "central", None, 0, w.clerk.pk, "提出申請"),
        ("requested_other", "requested", "other", None, 0, w.clerk.pk, "提出申請"),
        ("requested_public", "requested", "public", 9000 * WAN, 8000 * WAN, w.clerk.pk, "修正申請"),
    ]
    assert entries[0]["actor_name"] == str(w.clerk) and entries[0]["at"].startswith("2026-03-02T")
    # The other agency, and RDEC before the request reached it, do not see it.
    for viewer in (w.tb_clerk, w.officer, w.reviewer):
        assert api(viewer, "get", f"{REQUESTS}{request.pk}/ledger/").status_code == 404


def test_the_ledger_is_read_only(api, world, cycle):
    request = draft(world.clerk, cycle)
    for method in ("post", "put", "patch", "delete"):
        assert api(world.clerk, method, f"{REQUESTS}{request.pk}/ledger/", {}).status_code == 405


# ---------------------------------------------------------------------------------------------- bad input


BAD_REQUESTS = [
    ({"amounts": {"public": -60_000_000}, "total": -60_000_000}, "amounts", "不得為負數"),
    ({"amounts": {"public": 60_000_000.5}, "total": 60_000_000}, "amounts", "須為整數"),
    ({"amounts": {"public": 60_000_000.0}, "total": 60_000_000}, "amounts", "須為整數"),
    ({"amounts": {"public": "60000000"}, "total": 60_000_000}, "amounts", "須為整數"),
    ({"amounts": {"public": True}, "total": 1}, "amounts", "須為整數"),
    ({"amounts": {"public": None}, "total": 0}, "amounts", "須為整數"),
    ({"amounts": {"public": 60_000_000, "fund": 10_000_000}, "total": 60_000_000}, "amounts", "不等於申請總額"),
    ({"amounts": {"public": 2**63}, "total": 2**63}, "amounts", "超過上限"),
    ({"amounts": {"public": 10**40}, "total": 10**40}, "amounts", "超過上限"),
    ({"amounts": {"public": 10**13 + 1}, "total": 10**13 + 1}, "total", "超過上限"),
    ({"amounts": {"loan": 60_000_000}, "total": 60_000_000}, "amounts", "未知的經費來源"),
    ({"amounts": [60_000_000], "total": 60_000_000}, "amounts", "分列"),
    ({"amounts": "60000000", "total": 60_000_000}, "amounts", "分列"),
    ({"total": "60000000"}, "total", "須為整數"),
    ({"total": 60_000_000.0}, "total", "須為整數"),
    ({"total": -1}, "total", "不得為負數"),
    ({"years": {"200": 1}}, "years", "民國年"),
    ({"years": {"²": 1}}, "years", "民國年"),
    ({"years": {"9" * 5000: 1}}, "years", "民國年"),
    ({"years": {"117": -1}}, "years", "不得為負數"),
    ({"years": {"117": "1"}}, "years", "須為整數"),
    ({"years": {"117": 2**64}}, "years", "超過上限"),
    ({"years": {str(FISCAL_YEAR): 1}}, "years", "須等於本年度申請總額"),
    ({"years": ["117"]}, "years", "對照"),
    ({"kind": "routine"}, "kind", ""),
    ({"justification": "長" * 20_001}, "justification", ""),
    ({"title": ""}, "title", ""),
    ({"title": "x" * 301}, "title", ""),
    ({"cycle": 2**70}, "cycle", ""),
    ({"cycle": "abc"}, "cycle", ""),
]


@pytest.mark.parametrize(("fields", "field", "words"), BAD_REQUESTS)
def test_a_bad_request_is_400_naming_the_field_and_saves_nothing(api, world, cycle, fields, field, words):
    before = saved()
    response = api(world.clerk, "post", REQUESTS, request_body(cycle.pk, **fields))
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert words in " ".join(response.json()[field])
    assert saved() == before


@pytest.mark.parametrize(("fields", "field", "words"), BAD_REQUESTS[:24])
def test_a_bad_edit_is_400_naming_the_field_and_saves_nothing(api, world, cycle, fields, field, words):
    request = draft(world.clerk, cycle)
    before = saved()
    response = api(world.clerk, "patch", f"{REQUESTS}{request.pk}/", fields)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert words in " ".join(response.json()[field])
    assert saved() == before


def test_under_the_threshold_the_threshold_is_named(api, world, cycle):
    before = saved()
    small = request_body(cycle.pk, amounts={"public": 3000 * WAN}, total=3000 * WAN)
    response = api(world.clerk, "post", REQUESTS, small)
    assert response.status_code == 400
    assert response.json() == {"total": ["新興計畫總經費須達 5,000萬元以上（本案 3,000萬元）。"]}
    continuing = request_body(cycle.pk, kind="continuing", amounts={"fund": 900 * WAN}, total=900 * WAN)
    response = api(world.clerk, "post", REQUESTS, continuing)
    assert response.json() == {"total": ["延續性計畫年度經費須達 1,000萬元以上（本案 900萬元）。"]}
    assert saved() == before


def test_after_the_deadline_a_request_is_refused(api, world, cycle):
    draft_ = draft(world.clerk, cycle)
    services.request_document_add(actor=world.clerk, request_id=draft_.pk, upload=pdf())
    before = saved()
    with time_machine.travel(AFTER_DEADLINE, tick=False):
        created = api(world.clerk, "post", REQUESTS, request_body(cycle.pk))
        submitted = api(world.clerk, "post", f"{REQUESTS}{draft_.pk}/submit/")
        edited = api(world.clerk, "patch", f"{REQUESTS}{draft_.pk}/", {"title": "改名"})
    for response in (created, submitted, edited):
        assert response.status_code == 400, response.content
        assert response.json() == {"cycle": ["已超過申請截止日（民國115年3月31日）。"]}
    assert saved() == before


BAD_DECISIONS = [
    ({"decision": "approved", "amounts": {"public": -1}}, "amounts"),
    ({"decision": "approved", "amounts": {"public": "7000"}}, "amounts"),
    ({"decision": "approved", "amounts": {"public": 7000.0}}, "amounts"),
    ({"decision": "approved", "amounts": {"public": 2**63}}, "amounts"),
    ({"decision": "approved", "amounts": {"public": 7000 * WAN}}, "amounts"),  # more than requested
    ({"decision": "approved", "amounts": {"public": 0}}, "amounts"),
    ({"decision": "cut", "amounts": {"public": 5000 * WAN}}, "reason"),
    ({"decision": "cut", "amounts": {"public": 6000 * WAN}, "reason": "x"}, "amounts"),  # not less than requested
    ({"decision": "rejected", "amounts": {"public": 1}, "reason": "x"}, "amounts"),
    ({"decision": "granted"}, "decision"),
    ({"decision": "approved", "reason": "x" * 2001}, "reason"),
    ({}, "decision"),
]


@pytest.fixture
def balancing(world, cycle):
    """A PWB request of 6,000 萬 recommended at 5,000 萬, the cycle balancing."""
    request = sent(world.clerk, world.head, cycle)
    services.cycle_start_review(actor=world.officer, cycle_id=cycle.pk)
    services.request_recommend(actor=world.officer, request_id=request.pk, amounts={"public": 5000 * WAN})
    services.cycle_start_balancing(actor=world.officer, cycle_id=cycle.pk)
    return request


@pytest.mark.parametrize(("body", "field"), BAD_DECISIONS)
def test_a_bad_decision_is_400_naming_the_field_and_saves_nothing(api, world, balancing, body, field):
    before = saved()
    response = api(world.supervisor, "post", f"{REQUESTS}{balancing.pk}/decide/", body)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert saved() == before


def test_above_the_cycle_ceiling_without_override_is_refused_naming_it(api, world, make_user):
    cycle = make_cycle(world.officer, public_ceiling=5000 * WAN)
    request = sent(world.clerk, world.head, cycle)
    services.cycle_start_review(actor=world.officer, cycle_id=cycle.pk)
    services.request_recommend(actor=world.officer, request_id=request.pk, amounts={"public": 6000 * WAN})
    services.cycle_start_balancing(actor=world.officer, cycle_id=cycle.pk)
    before = saved()
    response = api(world.supervisor, "post", f"{REQUESTS}{request.pk}/decide/", {"decision": "approved"})
    assert response.status_code == 400
    assert response.json() == {
        "amounts": ["本年度公務預算核定總額將達 6,000萬元，超過額度 5,000萬元，須由研考會主管填寫理由核可。"]
    }
    blank = {"decision": "approved", "override_reason": "   "}
    assert api(world.supervisor, "post", f"{REQUESTS}{request.pk}/decide/", blank).status_code == 400
    assert saved() == before
    body = {"decision": "approved", "override_reason": "市長政見"}
    assert ok(api(world.supervisor, "post", f"{REQUESTS}{request.pk}/decide/", body))["status"] == "approved"
    entries = ok(api(world.officer, "get", f"{REQUESTS}{request.pk}/ledger/"))
    entry = next(e for e in entries if e["field"] == "approved_public")
    assert (entry["from_amount"], entry["to_amount"], entry["actor"]) == (None, 6000 * WAN, world.supervisor.pk)
    assert "超過額度，主管核可：市長政見" in entry["reason"]


BAD_CYCLES = [
    ({"public_ceiling": "9164000000"}, "public_ceiling"),
    ({"public_ceiling": 9.164e9}, "public_ceiling"),
    ({"public_ceiling": -1}, "public_ceiling"),
    ({"fund_ceiling": 2**63}, "fund_ceiling"),
    ({"fund_ceiling": None}, "fund_ceiling"),
    ({"new_plan_threshold": -5}, "new_plan_threshold"),
    ({"continuing_threshold": "1e7"}, "continuing_threshold"),
    ({"central_review_threshold": 10**30}, "central_review_threshold"),
    ({"fiscal_year": 0}, "fiscal_year"),
    ({"fiscal_year": 10**30}, "fiscal_year"),
    ({"request_deadline": "115/02/30"}, "request_deadline"),
    ({"meeting_end": "2026-04-30"}, "meeting_end"),  # before the meeting start
    ({"meeting_start": "2026-03-01"}, "meeting_start"),  # before the request deadline
]


@pytest.mark.parametrize(("fields", "field"), BAD_CYCLES)
def test_a_bad_cycle_is_400_naming_the_field_and_saves_nothing(api, world, fields, field):
    body = {
        "fiscal_year": 117,
        "public_ceiling": 9_164_000_000,
        "fund_ceiling": 1_847_000_000,
        "request_deadline": "2026-03-31",
        "meeting_start": "2026-05-01",
        "meeting_end": "2026-06-30",
        "balancing_date": "2026-07-15",
        **fields,
    }
    before = saved()
    response = api(world.officer, "post", CYCLES, body)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert saved() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"public": -1}, "public"),
        ({"public": "1"}, "public"),
        ({"fund": 1.5}, "fund"),
        ({"fund": 2**63}, "fund"),
        ({"agency": 2**70, "public": 1}, "agency"),
    ],
)
def test_a_bad_ceiling_is_400_naming_the_field_and_saves_nothing(api, world, cycle, body, field):
    before = saved()
    response = api(world.officer, "post", f"{CYCLES}{cycle.pk}/ceilings/", {"agency": world.pwb.pk, **body})
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert saved() == before


def test_a_bad_recommendation_or_meeting_decision_is_400_and_saves_nothing(api, world, cycle):
    request = sent(world.clerk, world.head, cycle)
    services.cycle_start_review(actor=world.officer, cycle_id=cycle.pk)
    meeting = services.meeting_create(
        actor=world.officer, cycle_id=cycle.pk, date=MEETING_DAY, place="研考會", request_ids=[request.pk]
    )
    before = saved()
    for amounts in ({"public": -1}, {"public": "1"}, {"public": 1.0}, {"public": 2**63}, {"public": 7000 * WAN}):
        recommend = api(world.officer, "post", f"{REQUESTS}{request.pk}/recommend/", {"amounts": amounts})
        assert (recommend.status_code, list(recommend.json())) == (400, ["amounts"]), amounts
        body = {"request": request.pk, "amounts": amounts}
        decided = api(world.officer, "post", f"{MEETINGS}{meeting.pk}/decisions/", body)
        assert (decided.status_code, list(decided.json())) == (400, ["amounts"]), amounts
    other = api(world.officer, "post", f"{MEETINGS}{meeting.pk}/decisions/", {"request": 2**70, "amounts": {}})
    assert list(other.json()) == ["request"]
    outside = {"cycle": cycle.pk, "date": "2026-04-01", "place": "研考會", "request_ids": [request.pk]}
    assert list(api(world.officer, "post", MEETINGS, outside).json()) == ["date"]
    empty = api(world.officer, "post", f"{MEETINGS}{meeting.pk}/hold/", {"minutes": ""})
    assert list(empty.json()) == ["minutes"]
    assert saved() == before


def test_uploads_are_recognised_by_content(api, world, cycle):
    request = draft(world.clerk, cycle)
    before = saved()
    fake = SimpleUploadedFile("plan.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    response = api(world.clerk, "post", f"{REQUESTS}{request.pk}/documents/", {"file": fake}, format="multipart")
    assert (response.status_code, list(response.json())) == (400, ["file"])
    assert api(world.clerk, "post", f"{REQUESTS}{request.pk}/documents/", {}, format="multipart").status_code == 400
    sent_request = sent(world.tb_clerk, world.tb_head, cycle)
    services.cycle_start_review(actor=world.officer, cycle_id=cycle.pk)
    visit = services.site_visit_create(
        actor=world.officer, cycle_id=cycle.pk, date=MEETING_DAY, request_ids=[sent_request.pk]
    )
    before = saved()
    text = SimpleUploadedFile("site.jpg", b"just text", content_type="image/jpeg")
    response = api(world.officer, "post", f"{VISITS}{visit.pk}/photos/", {"file": text}, format="multipart")
    assert (response.status_code, list(response.json())) == (400, ["photos"])
    assert saved() == before


def test_a_form_body_is_refused_where_amounts_are_json(api, world, cycle):
    before = saved()
    response = api(world.clerk, "post", REQUESTS, {"cycle": cycle.pk, "title": "x"}, format="multipart")
    assert response.status_code == 415
    assert saved() == before


# ---------------------------------------------------------------------------------------------- who sees, who may


def test_an_agency_sees_only_its_own_requests(api, world, cycle):
    w = world
    mine = [draft(w.clerk, cycle, title="甲"), sent(w.clerk, w.head, cycle, title="乙")]
    theirs = [draft(w.tb_clerk, cycle, title="丙"), sent(w.tb_clerk, w.tb_head, cycle, title="丁")]
    for viewer, own, other in ((w.clerk, mine, theirs), (w.head, mine, theirs), (w.tb_clerk, theirs, mine)):
        listed = ok(api(viewer, "get", REQUESTS))
        assert sorted(r["id"] for r in listed["results"]) == sorted(r.pk for r in own)
        for request in other:
            for path in ("", "ledger/"):
                assert api(viewer, "get", f"{REQUESTS}{request.pk}/{path}").status_code == 404
            assert api(viewer, "post", f"{REQUESTS}{request.pk}/submit/").status_code == 404
            assert api(viewer, "patch", f"{REQUESTS}{request.pk}/", {"title": "搶"}).status_code == 404
    # Filters narrow what one may see; they never widen it.
    assert ok(api(w.clerk, "get", REQUESTS, {"agency": w.tb.pk}))["results"] == []
    assert [r["id"] for r in ok(api(w.clerk, "get", REQUESTS, {"status": "draft"}))["results"]] == [mine[0].pk]
    assert api(w.clerk, "get", REQUESTS, {"status": "bogus"}).status_code == 400
    # RDEC sees what reached it, never a draft.
    listed = ok(api(w.officer, "get", REQUESTS, {"cycle": cycle.pk}))
    assert sorted(r["id"] for r in listed["results"]) == sorted([mine[1].pk, theirs[1].pk])
    assert api(w.officer, "get", f"{REQUESTS}{mine[0].pk}/").status_code == 404


def test_reviewers_see_what_their_meetings_discuss_and_nothing_else(api, world, cycle):
    w = world
    road, port = sent(w.clerk, w.head, cycle, title="道路"), sent(w.tb_clerk, w.tb_head, cycle, title="港區")
    services.cycle_start_review(actor=w.officer, cycle_id=cycle.pk)
    meeting = services.meeting_create(
        actor=w.officer,
        cycle_id=cycle.pk,
        date=MEETING_DAY,
        place="研考會",
        request_ids=[road.pk, port.pk],
        attendee_ids=[w.attendee.pk],
    )
    for request in (road, port):
        services.meeting_record_decision(
            actor=w.officer, meeting_id=meeting.pk, request_id=request.pk, amounts=request.amounts("requested")
        )
    # The attendee reads the agenda and its decisions; a reviewer of no meeting and an applicant see nothing.
    assert sorted(r["id"] for r in ok(api(w.attendee, "get", REQUESTS))["results"]) == [road.pk, port.pk]
    shown = ok(api(w.attendee, "get", f"{MEETINGS}{meeting.pk}/"))
    assert (shown["request_ids"], len(shown["decisions"])) == ([road.pk, port.pk], 2)
    for outsider in (w.reviewer, w.applicant):
        assert ok(api(outsider, "get", REQUESTS))["results"] == []
        assert ok(api(outsider, "get", MEETINGS))["results"] == []
        assert api(outsider, "get", f"{REQUESTS}{road.pk}/").status_code == 404
        assert api(outsider, "get", f"{MEETINGS}{meeting.pk}/").status_code == 404
    # An agency concerned in the meeting sees its own part of the agenda and its own decision only.
    for viewer, own in ((w.clerk, road), (w.tb_head, port)):
        part = ok(api(viewer, "get", f"{MEETINGS}{meeting.pk}/"))
        assert part["request_ids"] == [own.pk]
        assert [d["request"] for d in part["decisions"]] == [own.pk]
    # Attending is reading, not deciding: the attendee is refused the officer's actions.
    before = saved()
    assert api(w.attendee, "post", f"{REQUESTS}{road.pk}/recommend/", {"amounts": {"public": 1}}).status_code == 403
    decision = {"request": road.pk, "amounts": {"public": 1}}
    assert api(w.attendee, "post", f"{MEETINGS}{meeting.pk}/decisions/", decision).status_code == 403
    assert api(w.attendee, "post", f"{MEETINGS}{meeting.pk}/hold/", {"minutes": "x"}).status_code == 403
    assert saved() == before


def test_each_step_is_refused_to_those_it_is_not_theirs(api, world, cycle):
    w = world
    body = request_body(cycle.pk)
    before = saved()
    for stranger in (w.head, w.officer, w.supervisor, w.reviewer, w.applicant):
        assert api(stranger, "post", REQUESTS, body).status_code == 403
    assert saved() == before
    mine = draft(w.clerk, cycle)
    services.request_document_add(actor=w.clerk, request_id=mine.pk, upload=pdf())
    before = saved()
    assert api(w.head, "post", f"{REQUESTS}{mine.pk}/submit/").status_code == 403  # the clerk sends
    assert api(w.head, "patch", f"{REQUESTS}{mine.pk}/", {"title": "主管改"}).status_code == 403
    assert (
        api(w.head, "post", f"{REQUESTS}{mine.pk}/documents/", {"file": pdf()}, format="multipart").status_code == 403
    )
    assert api(w.clerk, "post", f"{REQUESTS}{mine.pk}/approve/").status_code == 409  # not awaiting the head yet
    assert saved() == before
    services.request_submit(actor=w.clerk, request_id=mine.pk)
    before = saved()
    assert api(w.clerk, "post", f"{REQUESTS}{mine.pk}/approve/").status_code == 403  # the head signs off
    assert api(w.tb_head, "post", f"{REQUESTS}{mine.pk}/approve/").status_code == 404  # another agency's head
    assert api(w.clerk, "patch", f"{REQUESTS}{mine.pk}/", {"title": "送出後改"}).status_code == 409
    assert api(w.clerk, "post", f"{REQUESTS}{mine.pk}/withdraw/", {"reason": "x"}).status_code == 409
    assert saved() == before
    services.request_approve(actor=w.head, request_id=mine.pk)
    before = saved()
    assert api(w.clerk, "post", f"{REQUESTS}{mine.pk}/start-review/").status_code == 403
    assert api(w.supervisor, "post", f"{REQUESTS}{mine.pk}/start-review/").status_code == 403  # officers run it
    assert api(w.clerk, "post", f"{REQUESTS}{mine.pk}/return/", {"reason": "x"}).status_code == 403
    recommend = {"amounts": {"public": 1}}
    assert api(w.officer, "post", f"{REQUESTS}{mine.pk}/recommend/", recommend).status_code == 409  # not in review
    decide = {"decision": "approved", "amounts": {"public": 1}}
    assert api(w.officer, "post", f"{REQUESTS}{mine.pk}/decide/", decide).status_code == 409  # not balancing
    # Running the cycle is RDEC's officers'; the board is RDEC's.
    for stranger in (w.clerk, w.head, w.reviewer, w.applicant):
        assert api(stranger, "post", f"{CYCLES}{cycle.pk}/start-review/").status_code == 403
        assert api(stranger, "patch", f"{CYCLES}{cycle.pk}/", {"public_ceiling": 1}).status_code == 403
        ceiling = {"agency": w.pwb.pk, "public": 1}
        assert api(stranger, "post", f"{CYCLES}{cycle.pk}/ceilings/", ceiling).status_code == 403
        assert api(stranger, "get", f"{CYCLES}{cycle.pk}/totals/").status_code == 403
        meeting = {"cycle": cycle.pk, "date": "2026-05-12", "place": "x", "request_ids": [mine.pk]}
        assert api(stranger, "post", MEETINGS, meeting).status_code == 403
        visit = {"cycle": cycle.pk, "date": "2026-05-12", "request_ids": [mine.pk]}
        assert api(stranger, "post", VISITS, visit).status_code == 403
    assert saved() == before
    # Everyone signed in reads the cycles; nobody anonymous reads anything.
    assert ok(api(w.applicant, "get", CYCLES))["results"][0]["id"] == cycle.pk
    assert api(None, "get", CYCLES).status_code == 401


def test_site_visits_are_seen_by_rdec_and_the_agencies_visited(api, world, cycle):
    w = world
    road, port = sent(w.clerk, w.head, cycle, title="道路"), sent(w.tb_clerk, w.tb_head, cycle, title="港區")
    services.cycle_start_review(actor=w.officer, cycle_id=cycle.pk)
    visit = services.site_visit_create(
        actor=w.officer, cycle_id=cycle.pk, date=MEETING_DAY, request_ids=[road.pk, port.pk], findings="用地已取得。"
    )
    only_road = services.site_visit_create(actor=w.officer, cycle_id=cycle.pk, date=MEETING_DAY, request_ids=[road.pk])
    assert sorted(v["id"] for v in ok(api(w.officer, "get", VISITS))["results"]) == [visit.pk, only_road.pk]
    assert [v["id"] for v in ok(api(w.tb_clerk, "get", VISITS))["results"]] == [visit.pk]
    assert ok(api(w.tb_clerk, "get", f"{VISITS}{visit.pk}/"))["request_ids"] == [port.pk]
    assert api(w.tb_clerk, "get", f"{VISITS}{only_road.pk}/").status_code == 404
    assert ok(api(w.reviewer, "get", VISITS))["results"] == []
    before = saved()
    assert api(w.clerk, "patch", f"{VISITS}{visit.pk}/", {"findings": "改"}).status_code == 403
    photo = {"file": jpeg()}
    assert api(w.clerk, "post", f"{VISITS}{visit.pk}/photos/", photo, format="multipart").status_code == 403
    assert saved() == before
    assert ok(api(w.officer, "patch", f"{VISITS}{visit.pk}/", {"findings": "補充。"}))["findings"] == "補充。"


# ---------------------------------------------------------------------------------------------- query counts


def count_queries(api, user, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        ok(api(user, "get", url))
    return len(queries)


def test_request_list_takes_as_many_queries_for_one_row_as_for_twenty(api, world, cycle, django_assert_max_num_queries):
    w = world
    sent(w.clerk, w.head, cycle, title="第1案")
    one = {who: count_queries(api, who, REQUESTS) for who in (w.clerk, w.officer)}
    for n in range(2, 21):  # each with two plan documents
        request = draft(w.clerk, cycle, title=f"第{n}案")
        for _ in range(2):
            services.request_document_add(actor=w.clerk, request_id=request.pk, upload=pdf())
        services.request_submit(actor=w.clerk, request_id=request.pk)
        services.request_approve(actor=w.head, request_id=request.pk)
    for who in (w.clerk, w.officer):
        with django_assert_max_num_queries(one[who]):
            assert len(ok(api(who, "get", REQUESTS))["results"]) == 20


def test_meeting_visit_and_cycle_lists_take_constant_queries(api, world, cycle, django_assert_max_num_queries):
    w = world
    requests = [sent(w.clerk, w.head, cycle, title=f"第{n}案") for n in range(20)]
    services.cycle_start_review(actor=w.officer, cycle_id=cycle.pk)

    def meeting_and_visit(request) -> None:
        meeting = services.meeting_create(
            actor=w.officer,
            cycle_id=cycle.pk,
            date=MEETING_DAY,
            place="研考會",
            request_ids=[request.pk],
            attendee_ids=[w.attendee.pk],
        )
        services.meeting_record_decision(
            actor=w.officer, meeting_id=meeting.pk, request_id=request.pk, amounts={"public": 1}
        )
        visit = services.site_visit_create(
            actor=w.officer, cycle_id=cycle.pk, date=MEETING_DAY, request_ids=[request.pk]
        )
        services.site_visit_add_photo(actor=w.officer, visit_id=visit.pk, upload=jpeg())
        services.cycle_ceiling_set(actor=w.officer, cycle_id=cycle.pk, agency_id=request.agency_id, public=1)

    meeting_and_visit(requests[0])
    urls = (MEETINGS, VISITS, CYCLES)
    one = {(who, url): count_queries(api, who, url) for who in (w.officer, w.clerk, w.attendee) for url in urls}
    for request in requests[1:]:
        meeting_and_visit(request)
    for n in range(2, 21):
        make_cycle(w.officer, fiscal_year=FISCAL_YEAR + n, open_=False)
    for (who, url), queries in one.items():
        with django_assert_max_num_queries(queries):
            ok(api(who, "get", url))
    assert len(ok(api(w.clerk, "get", MEETINGS))["results"]) == 20


def test_the_totals_take_constant_queries(api, world, cycle, django_assert_max_num_queries):
    w = world
    sent(w.clerk, w.head, cycle)
    one = count_queries(api, w.officer, f"{CYCLES}{cycle.pk}/totals/")
    for n in range(19):
        sent(w.tb_clerk if n % 2 else w.clerk, w.tb_head if n % 2 else w.head, cycle, title=f"第{n}案")
    with django_assert_max_num_queries(one):
        totals = ok(api(w.officer, "get", f"{CYCLES}{cycle.pk}/totals/"))
    assert totals["overall"]["count"] == 20


def test_a_date_moves_the_meeting_only_inside_the_window(api, world, cycle):
    request = sent(world.clerk, world.head, cycle)
    meeting = services.meeting_create(
        actor=world.officer, cycle_id=cycle.pk, date=MEETING_DAY, place="研考會", request_ids=[request.pk]
    )
    moved = ok(api(world.officer, "patch", f"{MEETINGS}{meeting.pk}/", {"date": "115/06/30"}))
    assert moved["date"] == "2026-06-30"
    late = api(world.officer, "patch", f"{MEETINGS}{meeting.pk}/", {"date": str(datetime.date(2026, 7, 1))})
    assert list(late.json()) == ["date"]
