"""The agencies' annual summary (機關年度概況): the figures on a small hand-built year, who sees which rows, the
query count, the page with its ODS / XLSX download; and RDEC's appraisal round page."""

from __future__ import annotations

import datetime
import io
import zipfile
from decimal import Decimal
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts.roles import Role
from accounts.tests.factories import AgencyFactory
from plan_control.appraisal import selectors as appraisal_selectors
from plan_control.models import Appraisal, AppraisalRound, ControlledPlan, ProgressReport
from plan_control.tests.factories import LINEAR, YEAR, agency_people
from proposals.models import Proposal, ProposalRound

pytestmark = pytest.mark.django_db

SUMMARIES = "/api/v1/agency-summaries/"
TAIPEI = ZoneInfo("Asia/Taipei")
ODS_TYPE = "application/vnd.oasis.opendocument.spreadsheet"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EVIL_NAME = '=HYPERLINK("http://x","y")'
S = ControlledPlan.Status
R = ProgressReport.Status
P = Proposal.Status


def at(y, m, d, hh, mm) -> datetime.datetime:
    return datetime.datetime(y, m, d, hh, mm, tzinfo=TAIPEI)


def plan(agency, code: str, status: str, *, year: int = YEAR) -> ControlledPlan:
    return ControlledPlan.objects.create(
        year=year,
        code=code,
        agency=agency,
        title=f"計畫{code}",
        budget=1_000_000,
        planned_progress=LINEAR,
        status=status,
    )


def report(plan_, month: int, status: str, *, due: datetime.date, submitted=None, lagging=False) -> ProgressReport:
    return ProgressReport.objects.create(
        plan=plan_,
        year=plan_.year,
        month=month,
        agency_id=plan_.agency_id,
        due_date=due,
        planned_percent=Decimal(LINEAR[month - 1]),
        actual_percent=Decimal(LINEAR[month - 1]) - (10 if lagging else 0),
        lagging=lagging,
        status=status,
        submitted_at=submitted,
    )


def proposal(round_, agency, user, status: str, grade: str = "") -> Proposal:
    return Proposal.objects.create(
        round=round_, agency=agency, title="提案", summary="摘要", created_by=user, status=status, grade=grade
    )


class World:
    pass


@pytest.fixture
def world(make_user) -> World:
    """TR: plans T1 (in execution), T2 (completed), T3 (terminated), T4 (registered); ED: plan E1; OT: nothing."""
    w = World()
    w.officer = make_user(Role.RDEC_OFFICER, username="officer")
    w.tr, w.tr_clerk, _ = agency_people("TR")
    w.ed, w.ed_clerk, _ = agency_people("ED")
    w.ot, w.ot_clerk, _ = agency_people("OT")

    this_round = ProposalRound.objects.create(
        year=YEAR,
        title="115年度市政創新提案",
        submission_deadline=datetime.date(2026, 5, 31),
        scoring_deadline=datetime.date(2026, 7, 31),
    )
    last_round = ProposalRound.objects.create(
        year=YEAR - 1,
        title="114年度市政創新提案",
        submission_deadline=datetime.date(2025, 5, 31),
        scoring_deadline=datetime.date(2025, 7, 31),
    )
    for status in (P.DRAFT, P.PENDING_APPROVAL, P.WITHDRAWN):  # never reached RDEC
        proposal(this_round, w.tr, w.tr_clerk, status)
    for status in (P.SUBMITTED, P.SCREENED_OUT, P.IN_REVIEW):
        proposal(this_round, w.tr, w.tr_clerk, status)
    proposal(this_round, w.tr, w.tr_clerk, P.GRADED, "a")
    proposal(this_round, w.tr, w.tr_clerk, P.FORWARDED, "excellent")
    proposal(this_round, w.ed, w.ed_clerk, P.CLOSED, "merit")
    proposal(last_round, w.tr, w.tr_clerk, P.GRADED, "excellent")  # another year

    w.t1 = plan(w.tr, "T1", S.IN_EXECUTION)
    w.t2 = plan(w.tr, "T2", S.COMPLETED)
    t3 = plan(w.tr, "T3", S.TERMINATED)
    plan(w.tr, "T4", S.REGISTERED)
    w.e1 = plan(w.ed, "E1", S.IN_EXECUTION)
    old = plan(w.ed, "E0", S.COMPLETED, year=YEAR - 1)

    feb10, mar10, jan11 = datetime.date(2026, 2, 10), datetime.date(2026, 3, 10), datetime.date(2027, 1, 11)
    # On time: 23:30 Taipei on the deadline day (15:30 UTC).
    report(w.t1, 1, R.SUBMITTED, due=feb10, submitted=at(2026, 2, 10, 23, 30))
    # Late: 00:30 Taipei the day after, though still the deadline day in UTC.
    report(w.t1, 2, R.ACCEPTED, due=mar10, submitted=at(2026, 3, 11, 0, 30))
    report(w.t1, 3, R.RETURNED, due=datetime.date(2026, 4, 10), submitted=at(2026, 4, 1, 9, 0))  # not counted
    report(w.t1, 4, R.PENDING, due=datetime.date(2026, 5, 11))  # not counted
    report(w.t1, 12, R.SUBMITTED, due=jan11, submitted=at(2027, 1, 5, 10, 0), lagging=True)
    report(w.t2, 11, R.ACCEPTED, due=datetime.date(2026, 12, 10), submitted=at(2026, 12, 1, 9, 0), lagging=True)
    report(w.t2, 12, R.ACCEPTED, due=jan11, submitted=at(2027, 1, 11, 17, 0))
    report(t3, 1, R.SUBMITTED, due=feb10, submitted=at(2026, 2, 1, 9, 0))  # a terminated plan: not in control
    report(w.e1, 12, R.SUBMITTED, due=jan11, submitted=at(2027, 1, 12, 8, 0), lagging=True)
    report(old, 12, R.ACCEPTED, due=datetime.date(2026, 1, 12), submitted=at(2026, 1, 2, 8, 0))  # last year

    w.round = AppraisalRound.objects.create(year=YEAR, status=AppraisalRound.Status.REVIEW)
    now = timezone.now()
    Appraisal.objects.bulk_create(
        Appraisal(
            round=w.round,
            plan=p,
            agency_id=p.agency_id,
            suggested_score=score,
            final_score=score,
            review_score=score,
            status=Appraisal.Status.REVIEWED,
            computed_at=now,
        )
        for p, score in ((w.t1, Decimal(92)), (w.t2, Decimal(75)), (w.e1, Decimal(60)))
    )
    return w


def finalise(w: World) -> None:
    grades = {w.t1.pk: "excellent", w.t2.pk: "b", w.e1.pk: "c"}
    for plan_id, grade in grades.items():
        Appraisal.objects.filter(round=w.round, plan_id=plan_id).update(grade=grade, status=Appraisal.Status.FINALISED)
    AppraisalRound.objects.filter(pk=w.round.pk).update(status=AppraisalRound.Status.FINALISED)


TR_ROW = {
    "agency_code": "TR",
    "agency_name": "TR局",
    "proposals_submitted": 5,
    "proposals_awarded": 2,
    "plans_in_control": 2,
    "reports_expected": 24,
    "reports_on_time": 4,
    "reports_late": 1,
    "reports_missing": 19,
    "plans_lagging_year_end": 1,
}
ED_ROW = {
    "agency_code": "ED",
    "agency_name": "ED局",
    "proposals_submitted": 1,
    "proposals_awarded": 1,
    "plans_in_control": 1,
    "reports_expected": 12,
    "reports_on_time": 0,
    "reports_late": 1,
    "reports_missing": 11,
    "plans_lagging_year_end": 1,
}


def without_ids(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in ("agency", "appraisal_grades")} for row in rows]


def test_figures_for_rdec_before_and_after_the_appraisal_is_final(api_client, world):
    api_client.force_authenticate(world.officer)
    response = api_client.get(SUMMARIES, {"year": YEAR})
    assert response.status_code == 200, response.content
    rows = response.json()
    assert without_ids(rows) == [ED_ROW, TR_ROW]  # by agency code; OT has no figure
    assert [row["agency"] for row in rows] == [world.ed.pk, world.tr.pk]
    assert all(row["appraisal_grades"] is None for row in rows)  # the round is still in review

    finalise(world)
    rows = api_client.get(SUMMARIES, {"year": YEAR}).json()
    assert without_ids(rows) == [ED_ROW, TR_ROW]
    assert rows[0]["appraisal_grades"] == {"excellent": 0, "a": 0, "b": 0, "c": 1}
    assert rows[1]["appraisal_grades"] == {"excellent": 1, "a": 0, "b": 1, "c": 0}

    # Another year: only what belongs to it.
    rows = api_client.get(SUMMARIES, {"year": YEAR - 1}).json()
    assert [(r["agency_code"], r["proposals_awarded"], r["plans_in_control"]) for r in rows] == [
        ("ED", 0, 1),
        ("TR", 1, 0),
    ]
    assert rows[0]["reports_on_time"] == 1 and rows[0]["reports_missing"] == 11
    assert rows[0]["appraisal_grades"] is None  # no round that year


def test_an_agency_sees_only_its_own_row(api_client, world):
    finalise(world)
    api_client.force_authenticate(world.ed_clerk)
    rows = api_client.get(SUMMARIES, {"year": YEAR}).json()
    assert without_ids(rows) == [ED_ROW]
    assert rows[0]["appraisal_grades"] == {"excellent": 0, "a": 0, "b": 0, "c": 1}
    # An agency with nothing that year still gets its own (empty) row, and nobody else's.
    api_client.force_authenticate(world.ot_clerk)
    rows = api_client.get(SUMMARIES, {"year": YEAR}).json()
    assert len(rows) == 1 and rows[0]["agency_code"] == "OT"
    assert rows[0]["proposals_submitted"] == 0 and rows[0]["reports_expected"] == 0
    assert rows[0]["appraisal_grades"] == {"excellent": 0, "a": 0, "b": 0, "c": 0}


def test_bad_year_and_anonymous(api_client, world):
    api_client.force_authenticate(world.officer)
    assert api_client.get(SUMMARIES).status_code == 400
    assert "year" in api_client.get(SUMMARIES, {"year": "abc"}).json()
    api_client.force_authenticate(None)
    assert api_client.get(SUMMARIES, {"year": YEAR}).status_code in (401, 403)


def test_constant_number_of_queries(world):
    def count(viewer) -> int:
        appraisal_selectors.agency_summaries(year=YEAR, viewer=viewer)  # warm the per-user caches
        with CaptureQueriesContext(connection) as ctx:
            appraisal_selectors.agency_summaries(year=YEAR, viewer=viewer)
        return len(ctx.captured_queries)

    finalise(world)
    before = (count(world.officer), count(world.tr_clerk))
    assert before[0] <= 6
    last_round = ProposalRound.objects.get(year=YEAR)
    for n in range(8):
        agency = AgencyFactory(code=f"X{n}", name=f"X{n}局")
        p = plan(agency, f"X{n}", S.IN_EXECUTION)
        report(p, 12, R.SUBMITTED, due=datetime.date(2027, 1, 11), submitted=at(2027, 1, 4, 9, 0), lagging=n % 2 == 0)
        proposal(last_round, agency, world.officer, P.GRADED, "b")
        Appraisal.objects.create(
            round=world.round,
            plan=p,
            agency=agency,
            suggested_score=80,
            final_score=80,
            grade="a",
            computed_at=timezone.now(),
        )
    assert (count(world.officer), count(world.tr_clerk)) == before
    rows = appraisal_selectors.agency_summaries(year=YEAR, viewer=world.officer)
    assert len(rows) == 10
    x0 = next(r for r in rows if r["agency_code"] == "X0")
    assert (x0["plans_lagging_year_end"], x0["proposals_awarded"], x0["appraisal_grades"]["a"]) == (1, 1, 1)


# ---------------------------------------------------------------- the page and its download


def test_summary_page_for_rdec_and_for_an_agency(client, world):
    finalise(world)
    client.force_login(world.officer)
    response = client.get(reverse("plan_control:agency-summaries"), {"year": YEAR})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-agency="TR"' in html and 'data-agency="ED"' in html
    assert "優等" in html and "format=ods" in html and "format=xlsx" in html
    assert html.index("format=ods") < html.index("format=xlsx")  # ODF first
    client.force_login(world.ed_clerk)
    html = client.get(reverse("plan_control:agency-summaries"), {"year": YEAR}).content.decode()
    assert 'data-agency="ED"' in html and 'data-agency="TR"' not in html
    assert client.get(reverse("plan_control:agency-summaries"), {"year": "abc"}).status_code == 400


def test_summary_page_needs_sign_in(client, world):
    response = client.get(reverse("plan_control:agency-summaries"))
    assert response.status_code == 302


def ods_rows(content: bytes) -> list[list[tuple[str | None, str]]]:
    ns = {
        "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
        "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    }
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.read("mimetype") == ODS_TYPE.encode()
        xml = archive.read("content.xml")
    assert b"table:formula" not in xml
    root = ElementTree.fromstring(xml)
    value_type, value = f"{{{ns['office']}}}value-type", f"{{{ns['office']}}}value"
    return [
        [
            (cell.get(value_type), cell.get(value) or "".join(cell.itertext()))
            for cell in row.findall("table:table-cell", ns)
        ]
        for row in root.iter(f"{{{ns['table']}}}table-row")
    ]


def test_downloads_ods_by_default_and_xlsx_with_text_never_a_formula(client, world):
    finalise(world)
    world.ed.name = EVIL_NAME
    world.ed.save()
    client.force_login(world.officer)
    url = reverse("plan_control:agency-summaries-export")

    response = client.get(url, {"year": YEAR})
    assert response.status_code == 200
    assert response["Content-Type"] == ODS_TYPE
    assert 'filename="agency-summary-115.ods"' in response["Content-Disposition"]
    rows = ods_rows(response.content)
    assert rows[0][0] == ("string", "機關代碼")
    ed = next(row for row in rows if row and row[0] == ("string", "ED"))
    assert ed[1] == ("string", EVIL_NAME)
    assert ed[2] == ("float", "1")  # proposals submitted

    response = client.get(url, {"year": YEAR, "format": "xlsx"})
    assert response["Content-Type"] == XLSX_TYPE
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [cell.value for cell in sheet[1]]
    assert header[:3] == ["機關代碼", "機關", "提案送件數"] and header[-4:] == ["優等", "甲等", "乙等", "丙等"]
    by_code = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    assert by_code["ED"][1].value == EVIL_NAME and by_code["ED"][1].data_type == "s"
    assert [c.value for c in by_code["TR"][2:]] == [5, 2, 2, 24, 4, 1, 19, 1, 1, 0, 1, 0]

    assert client.get(url, {"year": YEAR, "format": "pdf"}).status_code == 400

    # An agency downloads its own row only.
    client.force_login(world.tr_clerk)
    sheet = load_workbook(io.BytesIO(client.get(url, {"year": YEAR, "format": "xlsx"}).content)).active
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == ["TR"]


# ---------------------------------------------------------------- RDEC's appraisal round page


def test_round_page_progress_actions_and_distribution(client, world, django_capture_on_commit_callbacks):
    url = reverse("plan_control:appraisal-round", args=[world.round.pk])
    client.force_login(world.tr_clerk)
    assert client.get(url).status_code == 403
    assert (
        client.post(reverse("plan_control:appraisal-round-action", args=[world.round.pk, "finalize"])).status_code
        == 403
    )

    client.force_login(world.officer)
    html = client.get(url).content.decode()
    assert 'data-status="review"' in html and 'data-action="finalize"' in html and 'data-action="rollup"' not in html

    # Finalising asks first, saying how many plans and agencies it settles and that it cannot be undone.
    action = reverse("plan_control:appraisal-round-action", args=[world.round.pk, "finalize"])
    question = client.post(action)
    assert question.status_code == 200
    text = question.content.decode()
    assert "確定考核定案" in text and "無法復原" in text and "3 項計畫（2 個機關）" in text
    assert AppraisalRound.objects.get(pk=world.round.pk).status == AppraisalRound.Status.REVIEW
    response = client.post(action, {"confirmed": "1"})
    assert response.status_code == 302
    html = client.get(url).content.decode()
    assert 'data-status="finalised"' in html
    assert (
        'data-grade="excellent"><th scope="row">優等</th><td class="pc-num">1</td><td class="pc-num">33.34</td>' in html
    )
    assert client.get(reverse("plan_control:appraisal-round", args=[world.round.pk + 999])).status_code == 404
    assert client.post(reverse("plan_control:appraisal-round-action", args=[world.round.pk, "nope"])).status_code == 404

    # A new round: the rollup button starts the rollup (the Celery group waits for the commit; not run here).
    fresh = AppraisalRound.objects.create(year=YEAR + 1)
    plan(world.tr, "N1", S.IN_EXECUTION, year=YEAR + 1)
    html = client.get(reverse("plan_control:appraisal-round", args=[fresh.pk])).content.decode()
    assert 'data-action="rollup"' in html
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("plan_control:appraisal-round-action", args=[fresh.pk, "rollup"]))
    assert response.status_code == 302
    html = client.get(reverse("plan_control:appraisal-round", args=[fresh.pk])).content.decode()
    assert 'data-status="rolling_up"' in html and 'data-done="0" data-total="1"' in html
