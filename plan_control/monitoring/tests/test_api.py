"""The plan control API: the whole month's journey, the import contract, bad input, denials, query counts."""

from collections import Counter
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.roles import Role
from notifications.models import Notification, ReminderRule
from notifications.services import deadline_scan
from plan_control.models import ControlledPlan, ProgressReport
from plan_control.monitoring import deadlines, services
from plan_control.monitoring.tasks import open_monthly_report_slots
from plan_control.tests.factories import (
    YEAR,
    agency_people,
    csv_upload,
    fill_and_submit,
    make_plans,
    plan_dict,
    report_for,
    sheet_rows,
    sheet_upload,
)

pytestmark = pytest.mark.django_db

PLANS = "/api/v1/plans/"
REPORTS = "/api/v1/progress-reports/"
ANALYSIS = "/api/v1/monthly-analysis/"

STEADY = [10.5, 20.5, 30.5, 40.5, 50.5, 60.5, 70.5, 80.5, 90.5, 95, 100, 100]  # March: 30.5
EARLY = [40, 80, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100]  # March: 100
MODEST = [20, 40, 60, 70, 80, 85, 90, 95, 100, 100, 100, 100]  # March: 60


def kind_of(i: int) -> str:
    """What plan number `i` (0..162) reports for March."""
    if i == 0:
        return "lagging_3_months"
    if i < 50:
        return "lagging"  # exactly 5.0 points behind
    if i < 90:
        return "near"  # 4.9 points behind
    if i < 105:
        return "done"  # planned 100, actual 100
    if i < 120:
        return "ahead"  # actual 100 where 60 was planned
    if i < 143:
        return "on_plan"
    if i < 158:
        return "missing"
    return "returned"


MARCH = {
    "lagging_3_months": ("15.5", STEADY),
    "lagging": ("25.5", STEADY),
    "near": ("25.6", STEADY),
    "done": ("100", EARLY),
    "ahead": ("100", MODEST),
    "on_plan": ("30.5", STEADY),
    "missing": (None, STEADY),
    "returned": ("30.5", STEADY),
}


def as_client(api_client, user):
    api_client.force_authenticate(user)
    return api_client


def post_import(api_client, upload, year=YEAR):
    return api_client.post(f"{PLANS}import/", {"file": upload, "year": year}, format="multipart")


def test_a_months_journey_through_the_api(api_client, make_user):
    officer = make_user(Role.RDEC_OFFICER, agency=None)
    supervisor = make_user(Role.RDEC_SUPERVISOR, agency=None)
    people = [agency_people(f"A{n:02d}") for n in range(1, 16)]
    ReminderRule.objects.get_or_create(
        kind=deadlines.LAG_ALERT, defaults={"name": "計畫連續落後通知", "offsets": [0], "channels": ["in_app"]}
    )

    # 1. RDEC imports the year's 163 plans from a UTF-8 CSV with a BOM and starts them all.
    plans = [
        plan_dict(f"115-{i:03d}", people[i % 15][0].code, MARCH[kind_of(i)][1], budget=f"{(i + 1) * 1_000_000:,}")
        for i in range(163)
    ]
    upload = csv_upload(sheet_rows(plans))
    assert upload.read(3) == b"\xef\xbb\xbf"
    response = post_import(as_client(api_client, officer), upload)
    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 163}
    listed = api_client.get(PLANS, {"year": YEAR, "limit": 500}).json()
    assert listed["count"] == 163
    first = listed["results"][0]
    assert {"id", "year", "code", "agency", "title", "budget", "planned_progress", "status"} <= set(first)
    assert first["code"] == "115-000" and first["budget"] == 1_000_000 and first["status"] == "registered"
    assert first["planned_progress"] == STEADY
    ids = {row["code"]: row["id"] for row in listed["results"]}
    for plan_id in ids.values():
        response = api_client.post(f"{PLANS}{plan_id}/start/")
        assert response.status_code == 200, response.json()
    assert set(ControlledPlan.objects.values_list("status", flat=True)) == {"in_execution"}

    # 2. The beat task opens every plan's slot, once however often it runs.
    for month in (1, 2, 3):
        assert open_monthly_report_slots(YEAR, month) == 163
    assert open_monthly_report_slots(YEAR, 3) == 0
    assert ProgressReport.objects.filter(month=3).count() == 163
    per_plan = Counter(ProgressReport.objects.filter(month=3).values_list("plan_id", flat=True))
    assert set(per_plan.values()) == {1} and len(per_plan) == 163

    def plan_of(i: int) -> ControlledPlan:
        return ControlledPlan.objects.get(code=f"115-{i:03d}")

    def report(i: int, month: int) -> ProgressReport:
        return report_for(plan_of(i), month)

    def clerk_reports(i: int, month: int, actual: str, *, lagging: bool) -> dict:
        clerk = people[i % 15][1]
        target = report(i, month)
        body = {"actual_percent": actual, "budget_executed": 123_000, "narrative": "依進度施工"}
        if lagging:
            body |= {"lag_reason": "用地取得延宕", "remedy": "召開協調會並趕工"}
        response = as_client(api_client, clerk).patch(f"{REPORTS}{target.pk}/", body, format="json")
        assert response.status_code == 200, response.json()
        response = api_client.post(f"{REPORTS}{target.pk}/submit/")
        assert response.status_code == 200, response.json()
        return response.json()

    # 3. Plan 0 lags January, February and March; its agency head hears of it when the third month is in.
    head_0 = people[0][2]
    for month, actual in ((1, "5"), (2, "10")):
        clerk_reports(0, month, actual, lagging=True)
    as_client(api_client, officer).post(f"{REPORTS}{report(0, 1).pk}/accept/")
    deadline_scan(now=timezone.now())
    assert not Notification.objects.filter(kind=deadlines.LAG_ALERT).exists()
    march_0 = clerk_reports(0, 3, "15.5", lagging=True)
    assert march_0["consecutive_lagging"] == 3
    assert march_0["lag_points"] == 15.0 and march_0["lagging"] is True
    deadline_scan(now=timezone.now())
    alerts = Notification.objects.filter(kind=deadlines.LAG_ALERT)
    assert set(alerts.values_list("recipient_id", "object_id")) == {(head_0.pk, march_0["id"])}
    deadline_scan(now=timezone.now())
    assert Notification.objects.filter(kind=deadlines.LAG_ALERT).count() == alerts.count()

    # 4. Everyone else reports March (or not).
    for i in range(1, 163):
        kind = kind_of(i)
        actual = MARCH[kind][0]
        if kind == "missing":
            continue
        data = clerk_reports(i, 3, actual, lagging=kind == "lagging")
        assert data["lagging"] is (kind == "lagging"), (i, kind, data)
        assert data["planned_percent"] == {"done": 100, "ahead": 60}.get(kind, 30.5)
        expected_lag = {"lagging": 5.0, "near": 4.9, "done": 0.0, "ahead": -40.0}.get(kind, 0.0)
        assert data["lag_points"] == expected_lag
        if kind == "returned":
            response = as_client(api_client, officer).post(
                f"{REPORTS}{data['id']}/return/", {"reason": "預算執行數與會計月報不符"}, format="json"
            )
            assert response.status_code == 200 and response.json()["status"] == "returned"
        elif i % 7 == 0:
            assert as_client(api_client, officer).post(f"{REPORTS}{data['id']}/accept/").json()["status"] == "accepted"

    # 5. The monthly analysis.
    response = as_client(api_client, supervisor).get(ANALYSIS, {"year": YEAR, "month": 3})
    assert response.status_code == 200, response.json()
    analysis = response.json()
    assert (analysis["year"], analysis["month"], analysis["total"]) == (YEAR, 3, 163)
    assert analysis["on_track"] == {"count": 93, "percent": 57.0}
    assert analysis["lagging"] == {"count": 50, "percent": 30.7}  # 30.67: gets the largest remainder's 0.1
    assert analysis["not_reported"] == {"count": 20, "percent": 12.3}
    assert sum(Decimal(str(analysis[k]["percent"])) for k in ("on_track", "lagging", "not_reported")) == 100
    kinds = [kind_of(i) for i in range(163)]
    expected_rows = {
        people[k][0].pk: {
            "total": sum(1 for i in range(163) if i % 15 == k),
            "lagging": sum(1 for i in range(163) if i % 15 == k and kinds[i].startswith("lagging")),
            "not_reported": sum(1 for i in range(163) if i % 15 == k and kinds[i] in ("missing", "returned")),
        }
        for k in range(15)
    }
    rows = {row["agency"]: row for row in analysis["by_agency"]}
    assert set(rows) == set(expected_rows)
    for agency_id, expected in expected_rows.items():
        assert {k: rows[agency_id][k] for k in expected} == expected, agency_id
        assert rows[agency_id]["on_track"] == expected["total"] - expected["lagging"] - expected["not_reported"]
    assert sum(row["total"] for row in analysis["by_agency"]) == 163
    lagging_plans = analysis["lagging_plans"]
    assert len(lagging_plans) == 50
    assert lagging_plans[0] == lagging_plans[0] | {
        "plan": ids["115-000"],
        "agency": people[0][0].pk,
        "lag_points": 15.0,
        "lag_reason": "用地取得延宕",
        "consecutive_months": 3,
    }
    assert {p["consecutive_months"] for p in lagging_plans[1:]} == {1}
    assert {p["lag_points"] for p in lagging_plans[1:]} == {5.0}
    assert {p["plan"] for p in lagging_plans} == {ids[f"115-{i:03d}"] for i in range(50)}

    # 6. Agencies see their own plans and reports only, and never the analysis.
    clerk_1 = people[1][1]
    mine = as_client(api_client, clerk_1).get(PLANS, {"limit": 500}).json()
    assert mine["count"] == expected_rows[people[1][0].pk]["total"]
    assert {row["agency"] for row in mine["results"]} == {people[1][0].pk}
    assert api_client.get(f"{PLANS}{ids['115-000']}/").status_code == 404
    theirs = api_client.get(REPORTS, {"month": 3, "limit": 500}).json()
    assert {row["agency"] for row in theirs["results"]} == {people[1][0].pk}
    assert api_client.get(ANALYSIS, {"year": YEAR, "month": 3}).status_code == 403


# --- the import contract -----------------------------------------------------------------------------------------


@pytest.fixture
def importing(make_user):
    officer = make_user(Role.RDEC_OFFICER, agency=None)
    agency, clerk, _head = agency_people("PWB")
    make_plans(officer, [plan_dict("115-EXIST", "PWB")], start=False)
    return officer, clerk


BAD_ROWS = {
    "unknown agency": (plan_dict("N1", "NOPE"), "未知的機關代碼"),
    "duplicate of an existing plan": (plan_dict("115-EXIST", "PWB"), "已存在"),
    "decreasing curve": (plan_dict("N2", "PWB", [10, 20, 15, 30, 40, 50, 60, 70, 80, 90, 95, 100]), "逐月不減"),
    "value out of range": (plan_dict("N3", "PWB", [10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100, 120]), "超出"),
    "negative value": (plan_dict("N4", "PWB", [-1, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100, 100]), "超出"),
    "not a number in the curve": (
        plan_dict("N5", "PWB", ["十", 20, 30, 40, 50, 60, 70, 80, 90, 95, 100, 100]),
        "不是數字",
    ),
    "non-numeric budget": (plan_dict("N6", "PWB", budget="一百萬"), "預算"),
    "negative budget": (plan_dict("N7", "PWB", budget=-5), "預算"),
    "infinite budget": (plan_dict("N9", "PWB", budget="Infinity"), "預算"),
    "budget beyond the column": (plan_dict("N10", "PWB", budget="1e30"), "預算"),
    "fractional budget": (plan_dict("N11", "PWB", budget="12.5"), "預算"),
    "missing title": (plan_dict("N8", "PWB") | {"title": ""}, "名稱"),
}


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_each_bad_row_is_reported_with_its_row_number(api_client, importing, case):
    officer, _clerk = importing
    row, words = BAD_ROWS[case]
    before = ControlledPlan.objects.count()
    response = post_import(as_client(api_client, officer), csv_upload(sheet_rows([plan_dict("OK1", "PWB"), row])))
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [e["row"] for e in errors] == [3]
    assert words in errors[0]["message"]
    assert ControlledPlan.objects.count() == before


def test_every_bad_row_of_a_file_is_listed_and_nothing_is_saved(api_client, importing):
    officer, _clerk = importing
    rows = [plan_dict("OK1", "PWB"), *(row for row, _words in BAD_ROWS.values()), plan_dict("OK1", "PWB")]
    before = ControlledPlan.objects.count()
    response = post_import(as_client(api_client, officer), csv_upload(sheet_rows(rows)))
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert all(set(e) == {"row", "column", "message"} and e["message"] for e in errors)
    assert sorted({e["row"] for e in errors}) == list(range(3, 3 + len(BAD_ROWS) + 1))
    duplicate = [e for e in errors if e["row"] == len(rows) + 1]
    assert "第 2 列" in duplicate[0]["message"]  # a code repeated within the file names the first row
    assert ControlledPlan.objects.count() == before
    assert not ControlledPlan.objects.filter(code="OK1").exists()


def test_a_row_with_several_problems_lists_each(api_client, importing):
    officer, _clerk = importing
    row = plan_dict("115-EXIST", "NOPE", budget="abc")
    response = post_import(as_client(api_client, officer), csv_upload(sheet_rows([row])))
    assert response.status_code == 400
    assert len([e for e in response.json()["errors"] if e["row"] == 2]) == 3


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_import_reads_xlsx_and_ods(api_client, importing, fmt):
    officer, _clerk = importing
    rows = sheet_rows([plan_dict("S1", "PWB", STEADY, title="鳳山溪整治"), plan_dict("S2", "PWB", EARLY, budget=5)])
    response = post_import(as_client(api_client, officer), sheet_upload(rows, fmt))
    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 2}
    plan = ControlledPlan.objects.get(code="S1")
    assert (plan.title, plan.budget, plan.planned_progress, plan.year) == ("鳳山溪整治", 1_000_000, STEADY, YEAR)
    assert ControlledPlan.objects.get(code="S2").planned_progress == EARLY


def test_import_reports_bad_rows_of_a_spreadsheet_too(api_client, importing):
    officer, _clerk = importing
    rows = sheet_rows([plan_dict("S1", "PWB"), plan_dict("S2", "NOPE")])
    response = post_import(as_client(api_client, officer), sheet_upload(rows, "ods"))
    assert response.status_code == 400
    assert [e["row"] for e in response.json()["errors"]] == [3]


def test_import_reads_big5_csv(api_client, importing):
    officer, _clerk = importing
    upload = csv_upload(sheet_rows([plan_dict("B1", "PWB", title="高雄港區臺灣銀行舊址活化")]), encoding="cp950")
    response = post_import(as_client(api_client, officer), upload)
    assert response.status_code == 201, response.json()
    assert ControlledPlan.objects.get(code="B1").title == "高雄港區臺灣銀行舊址活化"


def test_import_rejects_a_file_that_is_not_a_plans_sheet(api_client, importing):
    officer, _clerk = importing
    before = ControlledPlan.objects.count()
    response = post_import(as_client(api_client, officer), csv_upload([["code", "title"], ["X", "Y"]]))
    assert response.status_code == 400 and "file" in response.json()
    response = api_client.post(f"{PLANS}import/", {"year": YEAR}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()
    response = post_import(api_client, csv_upload(sheet_rows([plan_dict("Z1", "PWB")])), year="x")
    assert response.status_code == 400 and "year" in response.json()
    assert ControlledPlan.objects.count() == before


def test_only_rdec_officers_import(api_client, importing, make_user):
    _officer, clerk = importing
    before = ControlledPlan.objects.count()
    for outsider in (clerk, make_user(Role.RDEC_SUPERVISOR, agency=None)):
        response = post_import(as_client(api_client, outsider), csv_upload(sheet_rows([plan_dict("C1", "PWB")])))
        assert response.status_code == 403
    api_client.force_authenticate(None)
    assert post_import(api_client, csv_upload(sheet_rows([plan_dict("C1", "PWB")]))).status_code in (401, 403)
    assert ControlledPlan.objects.count() == before


# --- reports: bad input and denials -----------------------------------------------------------------------------


@pytest.fixture
def running(make_user):
    officer = make_user(Role.RDEC_OFFICER, agency=None)
    pwb, clerk, head = agency_people("PWB")
    _tb, tb_clerk, tb_head = agency_people("TB")
    plan, other = make_plans(officer, [plan_dict("P1", "PWB", STEADY), plan_dict("P2", "PWB", STEADY)])
    january = services.report_open(actor=officer, plan_id=plan.pk, month=1)
    return {
        "officer": officer,
        "clerk": clerk,
        "head": head,
        "tb_clerk": tb_clerk,
        "tb_head": tb_head,
        "plan": plan,
        "other": other,
        "january": january,
    }


def snapshot(report: ProgressReport) -> tuple:
    report.refresh_from_db()
    return (report.status, report.actual_percent, report.budget_executed, report.lag_reason, report.lag_points)


def test_officer_opens_a_slot_and_a_duplicate_is_409(api_client, running):
    s = running
    client = as_client(api_client, s["officer"])
    response = client.post(REPORTS, {"plan": s["plan"].pk, "month": 2}, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["plan"], data["year"], data["month"], data["status"]) == (s["plan"].pk, YEAR, 2, "pending")
    assert data["planned_percent"] == 20.5 and data["actual_percent"] is None and data["lagging"] is False
    response = client.post(REPORTS, {"plan": s["plan"].pk, "month": 2}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_report" and response.json()["detail"]
    assert ProgressReport.objects.filter(plan=s["plan"], month=2).count() == 1


@pytest.mark.parametrize("month", [0, 13, -1, "五"])
def test_a_slot_outside_the_plans_year_is_400(api_client, running, month):
    s = running
    response = as_client(api_client, s["officer"]).post(REPORTS, {"plan": s["plan"].pk, "month": month}, format="json")
    assert response.status_code == 400
    assert "month" in response.json()
    assert ProgressReport.objects.count() == 1


def test_slots_only_for_plans_in_execution(api_client, running, make_user):
    s = running
    services.plan_terminate(plan_id=s["other"].pk, actor=s["officer"], reason="停辦")
    response = as_client(api_client, s["officer"]).post(REPORTS, {"plan": s["other"].pk, "month": 1}, format="json")
    assert response.status_code == 409
    response = api_client.post(REPORTS, {"plan": 999_999, "month": 1}, format="json")
    assert response.status_code in (400, 404)
    for outsider in (s["clerk"], s["head"], make_user(Role.RDEC_SUPERVISOR, agency=None)):
        response = as_client(api_client, outsider).post(REPORTS, {"plan": s["plan"].pk, "month": 5}, format="json")
        assert response.status_code == 403
    assert ProgressReport.objects.count() == 1


@pytest.mark.parametrize("actual", [-1, 100.01, 101, "abc"])
def test_actual_outside_0_to_100_is_400_and_nothing_changes(api_client, running, actual):
    s = running
    before = snapshot(s["january"])
    response = as_client(api_client, s["clerk"]).patch(
        f"{REPORTS}{s['january'].pk}/", {"actual_percent": actual, "budget_executed": 5}, format="json"
    )
    assert response.status_code == 400
    assert "actual_percent" in response.json()
    assert snapshot(s["january"]) == before


def test_negative_budget_is_400(api_client, running):
    s = running
    response = as_client(api_client, s["clerk"]).patch(
        f"{REPORTS}{s['january'].pk}/", {"budget_executed": -1}, format="json"
    )
    assert response.status_code == 400 and "budget_executed" in response.json()


def test_actual_below_last_month_without_a_reason_is_400(api_client, running):
    s = running
    fill_and_submit(s["clerk"], s["january"], "12")
    february = services.report_open(actor=s["officer"], plan_id=s["plan"].pk, month=2)
    before = snapshot(february)
    client = as_client(api_client, s["clerk"])
    response = client.patch(f"{REPORTS}{february.pk}/", {"actual_percent": "11.5"}, format="json")
    assert response.status_code == 400
    assert "actual_percent" in response.json()
    assert snapshot(february) == before
    response = client.patch(
        f"{REPORTS}{february.pk}/", {"actual_percent": "11.5", "lag_reason": "一月數字誤植"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["actual_percent"] == 11.5


def test_lagging_without_reason_and_remedy_cannot_be_submitted(api_client, running):
    s = running
    client = as_client(api_client, s["clerk"])
    url = f"{REPORTS}{s['january'].pk}/"
    assert client.patch(url, {"actual_percent": "5.5", "budget_executed": 0}, format="json").status_code == 200
    before = snapshot(s["january"])
    response = client.post(f"{url}submit/")
    assert response.status_code == 400 and "lag_reason" in response.json()
    assert snapshot(s["january"]) == before
    client.patch(url, {"lag_reason": "颱風停工", "remedy": "增派人力"}, format="json")
    response = client.post(f"{url}submit/")
    assert response.status_code == 200
    assert (response.json()["lagging"], response.json()["lag_points"]) == (True, 5.0)


def test_submit_without_figures_is_400(api_client, running):
    s = running
    response = as_client(api_client, s["clerk"]).post(f"{REPORTS}{s['january'].pk}/submit/")
    assert response.status_code == 400 and "actual_percent" in response.json()
    assert snapshot(s["january"])[0] == "pending"


def test_the_slot_itself_cannot_be_edited(api_client, running):
    s = running
    response = as_client(api_client, s["clerk"]).patch(
        f"{REPORTS}{s['january'].pk}/",
        {"month": 7, "plan": s["other"].pk, "planned_percent": 0, "lagging": True, "narrative": "順利"},
        format="json",
    )
    assert response.status_code == 200
    report = ProgressReport.objects.get(pk=s["january"].pk)
    assert (report.month, report.plan_id, report.planned_percent, report.lagging) == (
        1,
        s["plan"].pk,
        Decimal("10.5"),
        False,
    )
    assert report.narrative == "順利"


def test_another_agency_gets_404_and_nothing_changes(api_client, running):
    s = running
    fill_and_submit(s["clerk"], services.report_open(actor=s["officer"], plan_id=s["other"].pk, month=1), "10.5")
    before = snapshot(s["january"])
    url = f"{REPORTS}{s['january'].pk}/"
    for outsider in (s["tb_clerk"], s["tb_head"]):
        client = as_client(api_client, outsider)
        assert client.get(url).status_code == 404
        assert client.patch(url, {"actual_percent": 10}, format="json").status_code == 404
        assert client.post(f"{url}submit/").status_code == 404
        assert client.get(f"{PLANS}{s['plan'].pk}/").status_code == 404
        assert client.post(f"{PLANS}{s['plan'].pk}/start/").status_code == 404
        assert client.get(REPORTS).json()["count"] == 0
        assert client.get(PLANS).json()["count"] == 0
    assert snapshot(s["january"]) == before


def test_only_rdec_officers_accept_and_return(api_client, running):
    s = running
    report = fill_and_submit(s["clerk"], s["january"], "10.5")
    url = f"{REPORTS}{report.pk}/"
    before = snapshot(report)
    for insider in (s["clerk"], s["head"]):
        client = as_client(api_client, insider)
        assert client.post(f"{url}accept/").status_code == 403
        assert client.post(f"{url}return/", {"reason": "不對"}, format="json").status_code == 403
    assert snapshot(report) == before
    client = as_client(api_client, s["officer"])
    assert client.patch(url, {"narrative": "代填"}, format="json").status_code == 403
    response = client.post(f"{url}return/", {"reason": ""}, format="json")
    assert response.status_code == 400 and "reason" in response.json()
    response = client.post(f"{url}return/", {"reason": "請補附照片"}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["return_reason"]) == ("returned", "請補附照片")
    assert client.post(f"{url}accept/").status_code == 409  # returned: nothing to accept
    client = as_client(api_client, s["clerk"])
    assert client.patch(url, {"narrative": "已補附照片"}, format="json").status_code == 200
    assert client.post(f"{url}submit/").json()["status"] == "submitted"
    assert as_client(api_client, s["officer"]).post(f"{url}accept/").json()["status"] == "accepted"
    assert as_client(api_client, s["clerk"]).patch(url, {"narrative": "改"}, format="json").status_code == 409


def test_only_rdec_officers_start_plans(api_client, running, make_user):
    s = running
    plan = make_plans(s["officer"], [plan_dict("P3", "PWB")], start=False)[0]
    for outsider in (s["clerk"], s["head"], make_user(Role.RDEC_SUPERVISOR, agency=None)):
        assert as_client(api_client, outsider).post(f"{PLANS}{plan.pk}/start/").status_code == 403
    response = as_client(api_client, s["officer"]).post(f"{PLANS}{plan.pk}/start/")
    assert response.status_code == 200 and response.json()["status"] == "in_execution"
    response = api_client.post(f"{PLANS}{plan.pk}/start/")
    assert response.status_code == 409 and response.json()["code"] == "transition_not_allowed"


def test_the_monthly_analysis_is_for_rdec_staff(api_client, running, make_user):
    s = running
    for outsider in (s["clerk"], s["head"], make_user(Role.REVIEWER, agency=None)):
        assert as_client(api_client, outsider).get(ANALYSIS, {"year": YEAR, "month": 1}).status_code == 403
    api_client.force_authenticate(None)
    assert api_client.get(ANALYSIS, {"year": YEAR, "month": 1}).status_code in (401, 403)
    for staff in (s["officer"], make_user(Role.RDEC_SUPERVISOR, agency=None), make_user(Role.ADMIN, agency=None)):
        response = as_client(api_client, staff).get(ANALYSIS, {"year": YEAR, "month": 1})
        assert response.status_code == 200
        assert response.json()["total"] == 2
        assert response.json()["not_reported"] == {"count": 2, "percent": 100.0}
    for query in ({}, {"year": YEAR}, {"year": YEAR, "month": 13}, {"year": "x", "month": 1}):
        assert api_client.get(ANALYSIS, query).status_code == 400


# --- query counts -------------------------------------------------------------------------------------------------


def grow(officer, clerk, agency_code: str, start: int, n: int) -> None:
    plans = make_plans(officer, [plan_dict(f"Q{start + i:03d}", agency_code, STEADY) for i in range(n)])
    open_monthly_report_slots(YEAR, 1)
    for i, plan in enumerate(plans):
        if i % 3 == 0:
            fill_and_submit(clerk, report_for(plan, 1), "5", reason="延宕", remedy="趕工")
        elif i % 3 == 1:
            fill_and_submit(clerk, report_for(plan, 1), "10.5")


@pytest.mark.parametrize(
    ("path", "role"),
    [
        (PLANS, Role.RDEC_OFFICER),
        (PLANS, Role.AGENCY_CLERK),
        (REPORTS, Role.RDEC_OFFICER),
        (REPORTS, Role.AGENCY_CLERK),
        (ANALYSIS, Role.RDEC_SUPERVISOR),
    ],
)
def test_query_count_is_constant(api_client, make_user, django_assert_max_num_queries, path, role):
    officer = make_user(Role.RDEC_OFFICER, agency=None)
    supervisor = make_user(Role.RDEC_SUPERVISOR, agency=None)
    people = [agency_people(code) for code in ("PWB", "TB", "EPB")]
    grow(officer, people[0][1], "PWB", 0, 5)
    viewer = {Role.RDEC_OFFICER: officer, Role.AGENCY_CLERK: people[0][1], Role.RDEC_SUPERVISOR: supervisor}[role]
    query = {"year": YEAR, "month": 1} if path == ANALYSIS else {"limit": 500}
    api_client.force_authenticate(viewer)
    with django_assert_max_num_queries(15) as few:
        first = api_client.get(path, query)
    assert first.status_code == 200
    for n, (agency, clerk, _head) in enumerate(people):
        grow(officer, clerk, agency.code, 100 + n * 100, 15)  # 50 plans in all
    api_client.force_authenticate(viewer)
    with django_assert_max_num_queries(len(few)):
        second = api_client.get(path, query)
    if path == ANALYSIS:
        assert (first.json()["total"], second.json()["total"]) == (5, 50)
        assert len(second.json()["by_agency"]) == 3 and len(second.json()["lagging_plans"]) == 17
    else:
        assert second.json()["count"] > first.json()["count"] >= 5
