"""The plan-control back office: the monthly board (who sees what, traffic lights, filters, analysis, chart,
constant queries), the printable report, and the monthly report page (form errors, submit, accept, return)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import Role
from accounts.tests.factories import AgencyFactory
from plan_control.models import ControlledPlan, ProgressReport
from plan_control.monitoring import selectors, services

pytestmark = pytest.mark.django_db

YEAR, MONTH = 115, 10
CURVE = [5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100]  # planned 90% at the end of October


@dataclass
class World:
    officer: object
    supervisor: object
    clerk: object
    other_clerk: object
    works: object
    water: object
    plans: dict = field(default_factory=dict)  # code -> ControlledPlan

    def report(self, code: str, month: int = MONTH) -> ProgressReport:
        return ProgressReport.objects.get(plan=self.plans[code], month=month)


def import_plans(officer, rows: list[tuple[str, str, str]], *, year: int = YEAR, curve=CURVE) -> dict:
    """Import (code, agency_code, title) rows through the CSV import, start them all; {code: plan}."""
    header = "code,agency_code,title,budget," + ",".join(f"m{m}" for m in range(1, 13))
    lines = [header] + [
        ",".join([code, agency_code, '"' + title.replace('"', '""') + '"', "1000000", *map(str, curve)])
        for code, agency_code, title in rows
    ]
    upload = SimpleUploadedFile("plans.csv", "\n".join(lines).encode("utf-8"), content_type="text/csv")
    services.plans_import(actor=officer, year=year, upload=upload)
    plans = {p.code: p for p in ControlledPlan.objects.filter(year=year, code__in=[r[0] for r in rows])}
    for plan in plans.values():
        services.plan_start(plan_id=plan.pk, actor=officer)
    return {code: ControlledPlan.objects.get(pk=plan.pk) for code, plan in plans.items()}


def file_report(clerk, report: ProgressReport, actual, *, reason: str = "", remedy: str = "", submit=True):
    services.report_update(
        actor=clerk,
        report_id=report.pk,
        actual_percent=actual,
        budget_executed=500000,
        narrative="依進度執行",
        lag_reason=reason,
        remedy=remedy,
    )
    if submit:
        services.report_submit(actor=clerk, report_id=report.pk)


def build_world(make_user) -> World:
    """工務局: A01 on track, A02 lagging, A03 not reported (pending); 水利局: B01 on track, B02 returned."""
    works = AgencyFactory(code="PWB", name="工務局")
    water = AgencyFactory(code="WRB", name="水利局")
    world = World(
        officer=make_user(Role.RDEC_OFFICER, agency=AgencyFactory(code="RDEC", name="研考會")),
        supervisor=make_user(Role.RDEC_SUPERVISOR, agency=AgencyFactory(code="RDEC")),
        clerk=make_user(Role.AGENCY_CLERK, agency=works),
        other_clerk=make_user(Role.AGENCY_CLERK, agency=water),
        works=works,
        water=water,
    )
    world.plans = import_plans(
        world.officer,
        [
            ("A01", "PWB", "鳳山溪整治工程"),
            ("A02", "PWB", "捷運延伸線土建工程"),
            ("A03", "PWB", "市民運動中心新建"),
            ("B01", "WRB", "滯洪池擴建"),
            ("B02", "WRB", "雨水下水道普查"),
        ],
    )
    services.reports_open_for_month(year=YEAR, month=MONTH)
    file_report(world.clerk, world.report("A01"), 88)
    file_report(world.clerk, world.report("A02"), 70, reason="用地徵收延宕", remedy="協調地主加速取得用地")
    file_report(world.other_clerk, world.report("B01"), 95)
    file_report(world.other_clerk, world.report("B02"), 89)
    services.report_return(actor=world.officer, report_id=world.report("B02").pk, reason="數字與附件不符")
    return world


@pytest.fixture
def world(make_user) -> World:
    return build_world(make_user)


def board(client, user, **params):
    client.force_login(user)
    return client.get(reverse("plan_control:board"), {"year": YEAR, "month": MONTH, **params})


def plan_codes(response) -> list[str]:
    return [row.plan.code for row in response.context["rows"]]


# ---------------------------------------------------------------- the board


def test_rdec_sees_every_plan_with_its_traffic_light_and_text(client, world):
    response = board(client, world.officer)
    assert response.status_code == 200
    lights = {row.plan.code: (row.light, row.light_label) for row in response.context["rows"]}
    assert lights == {
        "A01": ("green", "正常"),
        "A02": ("red", "落後"),
        "A03": ("grey", "未填報"),
        "B01": ("green", "正常"),
        "B02": ("grey", "未填報"),  # returned: counts as not reported until resubmitted
    }
    html = response.content.decode()
    assert "115年10月列管計畫進度" in html
    assert '<span class="pc-dot pc-dot--red" aria-hidden="true"></span>落後' in html
    assert "捷運延伸線土建工程" in html and "水利局" in html
    a02 = next(r for r in response.context["rows"] if r.plan.code == "A02")
    assert (str(a02.planned), str(a02.actual), str(a02.lag_points)) == ("90.00", "70.00", "20.00")


def test_agency_sees_only_its_own_plans_and_no_city_analysis(client, world):
    response = board(client, world.clerk)
    assert response.status_code == 200
    assert plan_codes(response) == ["A01", "A02", "A03"]
    assert "analysis" not in response.context and "chart" not in response.context
    html = response.content.decode()
    assert "水利局" not in html and "滯洪池擴建" not in html
    assert reverse("plan_control:board-export") not in html
    assert [a.code for a in response.context["form"].fields["agency"].queryset] == ["PWB"]


def test_filters_by_agency_and_lagging_only(client, world):
    assert plan_codes(board(client, world.officer, agency=world.water.pk)) == ["B01", "B02"]
    assert plan_codes(board(client, world.officer, lagging_only="on")) == ["A02"]
    assert plan_codes(board(client, world.officer, agency=world.water.pk, lagging_only="on")) == []
    html = board(client, world.officer).content.decode()
    assert '<label for="id_agency">機關</label>' in html
    assert 'for="id_lagging_only"' in html and "只顯示落後計畫" in html


def test_analysis_numbers_and_chart_for_rdec(client, world):
    response = board(client, world.supervisor)
    analysis = response.context["analysis"]
    assert (analysis["total"], analysis["on_track"]["count"], analysis["lagging"]["count"]) == (5, 2, 1)
    assert analysis["not_reported"]["count"] == 2
    html = response.content.decode()
    summary = html[html.index("data-summary") :]
    assert "40.0%" in summary and "20.0%" in summary
    assert (
        '<svg class="pc-chart" data-chart' in html and '<title id="chart-title">115年各月落後計畫比率</title>' in html
    )
    assert 'aria-labelledby="chart-title chart-desc"' in html
    # The numbers are also in a table for screen readers: October, 1 of 5 lagging.
    table = html[html.index('<table class="rdec-sr-only">') :]
    assert "<td>1</td><td>5</td><td>20.0%</td>" in table
    assert "<script" not in html[html.index("data-chart") : html.index("</svg>")]
    assert f"{reverse('plan_control:board-export')}?year=115&amp;month=10&amp;format=ods" in html
    assert f"{reverse('plan_control:board-print')}?year=115&amp;month=10" in html


def test_bad_month_is_a_400(client, world):
    assert board(client, world.officer, month=13).status_code == 400
    assert board(client, world.officer, year="abc").status_code == 400


def test_board_needs_sign_in(client, world):
    response = client.get(reverse("plan_control:board"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def _count_board_queries(client, user) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("plan_control:board"), {"year": 116, "month": 3})
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.context["rows"])


def test_board_runs_a_constant_number_of_queries(client, make_user):
    agency = AgencyFactory(code="PWB", name="工務局")
    officer = make_user(Role.RDEC_OFFICER, agency=AgencyFactory(code="RDEC"))
    clerk = make_user(Role.AGENCY_CLERK, agency=agency)
    import_plans(officer, [(f"P{n:03d}", "PWB", f"計畫{n}") for n in range(5)], year=116)
    services.reports_open_for_month(year=116, month=3)
    few, rows = _count_board_queries(client, officer)
    few_agency, _rows = _count_board_queries(client, clerk)
    assert rows == 5
    import_plans(officer, [(f"Q{n:03d}", "PWB", f"計畫{n}") for n in range(45)], year=116)
    services.reports_open_for_month(year=116, month=3)
    for report in ProgressReport.objects.filter(year=116, month=3)[:10]:
        file_report(clerk, report, 10, reason="颱風停工", remedy="增派人力趕工")
    many, rows = _count_board_queries(client, officer)
    assert rows == 50
    assert many == few
    assert _count_board_queries(client, clerk)[0] == few_agency


def test_print_view_has_the_analysis_report(client, world):
    client.force_login(world.officer)
    response = client.get(reverse("plan_control:board-print"), {"year": YEAR, "month": MONTH})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-Hant-TW">' in html and "@media print" in html
    assert "115年10月列管計畫執行進度分析" in html
    assert "用地徵收延宕" in html and "協調地主加速取得用地" in html
    assert "工務局" in html and "水利局" in html
    assert "viewflow" not in html  # its own minimal page, not the back office's


def test_print_view_is_for_rdec_only(client, world):
    client.force_login(world.clerk)
    assert client.get(reverse("plan_control:board-print"), {"year": YEAR, "month": MONTH}).status_code == 403


# ---------------------------------------------------------------- monthly reports


def test_agency_gets_404_for_another_agencys_report(client, world):
    client.force_login(world.clerk)
    url = reverse("plan_control:report", args=[world.report("B01").pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"actual_percent": "50", "budget_executed": "1"}).status_code == 404
    accept = reverse("plan_control:report-transition", args=[world.report("B01").pk, "accept"])
    assert client.post(accept).status_code == 404


def test_reminder_links_point_to_the_report_page(world):
    report = world.report("A03")
    assert reverse("plan_control:report", args=[report.pk]) == f"/plan-control/reports/{report.pk}/"


def test_clerk_saves_then_submits_a_pending_report(client, world):
    report = world.report("A03")
    url = reverse("plan_control:report", args=[report.pk])
    client.force_login(world.clerk)
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "市民運動中心新建" in html and "送出月報" in html and "90.00%" in html
    assert "審核通過" not in html
    data = {
        "actual_percent": "87.5",
        "budget_executed": "300000",
        "narrative": "主體結構完成",
        "lag_reason": "",
        "remedy": "",
    }
    response = client.post(url, data)
    assert response.status_code == 302
    report.refresh_from_db()
    assert (report.actual_percent, report.status) == (87.5, ProgressReport.Status.PENDING)
    response = client.post(url, {**data, "submit": ""}, follow=True)
    assert "已送出月報，待研考會審核。" in response.content.decode()
    report.refresh_from_db()
    assert report.status == ProgressReport.Status.SUBMITTED and not report.lagging


def test_service_errors_show_on_the_form_fields(client, world):
    report = world.report("A03")
    url = reverse("plan_control:report", args=[report.pk])
    client.force_login(world.clerk)
    # Lagging 30 points without a reason: the service refuses to submit and says so under 落後原因.
    response = client.post(url, {"actual_percent": "60", "budget_executed": "1000", "submit": ""})
    assert response.status_code == 200
    form = response.context["form"]
    assert "請填寫落後原因與因應對策" in " ".join(form.errors["lag_reason"])
    assert 'data-error="lag_reason"' in response.content.decode()
    report.refresh_from_db()
    assert report.status == ProgressReport.Status.PENDING
    # Out of range: the form says so before any service runs.
    response = client.post(url, {"actual_percent": "120", "budget_executed": "1000"})
    assert response.context["form"].errors["actual_percent"]


def test_actual_below_last_month_needs_a_reason(client, world):
    services.reports_open_for_month(year=YEAR, month=MONTH + 1)
    november = world.report("A01", MONTH + 1)
    client.force_login(world.clerk)
    response = client.post(
        reverse("plan_control:report", args=[november.pk]), {"actual_percent": "80", "budget_executed": "1"}
    )
    assert response.status_code == 200
    assert "低於上月的 88.00%" in " ".join(response.context["form"].errors["actual_percent"])


def test_officer_accepts_or_returns_a_submitted_report(client, world):
    client.force_login(world.officer)
    a01, a02 = world.report("A01"), world.report("A02")
    html = client.get(reverse("plan_control:report", args=[a01.pk])).content.decode()
    assert "審核通過" in html and "退回" in html and "送出月報" not in html
    # Money reads in 萬/億 with separators: the plan's budget and what it has spent.
    assert "<dd>100萬元</dd>" in html and "<dd>50萬元</dd>" in html
    response = client.post(reverse("plan_control:report-transition", args=[a01.pk, "accept"]), follow=True)
    assert "已審核通過月報。" in response.content.decode()
    assert ProgressReport.objects.get(pk=a01.pk).status == ProgressReport.Status.ACCEPTED
    # A return needs its reason.
    url = reverse("plan_control:report-transition", args=[a02.pk, "return_for_correction"])
    response = client.post(url, {"reason": " "}, follow=True)
    assert "請說明退回理由。" in response.content.decode()
    assert ProgressReport.objects.get(pk=a02.pk).status == ProgressReport.Status.SUBMITTED
    response = client.post(url, {"reason": "請補充用地取得進度"}, follow=True)
    html = response.content.decode()
    assert ProgressReport.objects.get(pk=a02.pk).status == ProgressReport.Status.RETURNED
    assert "請補充用地取得進度" in html and "已填報 → 退回修正" in html


def test_clerk_cannot_accept_and_sees_no_review_buttons(client, world):
    client.force_login(world.clerk)
    a01 = world.report("A01")
    assert "審核通過" not in client.get(reverse("plan_control:report", args=[a01.pk])).content.decode()
    assert client.post(reverse("plan_control:report-transition", args=[a01.pk, "accept"])).status_code == 403


def test_returned_report_can_be_corrected_and_resubmitted(client, world):
    b02 = world.report("B02")
    client.force_login(world.other_clerk)
    html = client.get(reverse("plan_control:report", args=[b02.pk])).content.decode()
    assert "數字與附件不符" in html and "送出月報" in html
    client.post(
        reverse("plan_control:report", args=[b02.pk]), {"actual_percent": "89", "budget_executed": "2", "submit": ""}
    )
    assert ProgressReport.objects.get(pk=b02.pk).status == ProgressReport.Status.SUBMITTED


def test_report_list_mine_or_all_filtered(client, world):
    url = reverse("plan_control:reports")
    client.force_login(world.clerk)
    mine = client.get(url)
    assert sorted(r.plan.code for r in mine.context["reports"]) == ["A01", "A02", "A03"]
    client.force_login(world.officer)
    assert len(client.get(url).context["reports"]) == 5
    pending = client.get(url, {"year": YEAR, "month": MONTH, "status": "returned"})
    assert [r.plan.code for r in pending.context["reports"]] == ["B02"]
    assert client.get(url, {"month": 3}).context["reports"].__len__() == 0


def test_report_list_runs_a_constant_number_of_queries(client, world):
    client.force_login(world.officer)
    url = reverse("plan_control:reports")
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    import_plans(world.officer, [(f"C{n:02d}", "PWB", f"計畫{n}") for n in range(30)])
    services.reports_open_for_month(year=YEAR, month=MONTH)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert len(response.context["reports"]) == 35
    assert len(many.captured_queries) == len(few.captured_queries)


def test_menu_entry_leads_to_the_board(client, world):
    client.force_login(world.officer)
    response = client.get("/control/")
    assert response.status_code == 302 and response["Location"].endswith(reverse("plan_control:board"))


def test_admin_pages(client, world, make_user):
    admin = make_user(Role.ADMIN, is_staff=True, is_superuser=True)
    client.force_login(admin)
    for name in ("controlyear", "controlledplan", "progressreport"):
        assert client.get(reverse(f"admin:plan_control_{name}_changelist")).status_code == 200
    plan = world.plans["A01"]
    assert client.get(reverse("admin:plan_control_controlledplan_changelist"), {"q": "A01"}).status_code == 200
    page = client.get(reverse("admin:plan_control_controlledplan_change", args=[plan.pk])).content.decode()
    assert 'name="title"' in page and 'name="status"' not in page
    report = client.get(reverse("admin:plan_control_progressreport_change", args=[world.report("A01").pk]))
    assert report.status_code == 200 and 'name="actual_percent"' not in report.content.decode()
    year = client.get(reverse("admin:plan_control_controlyear_change", args=[plan_year_pk(world)])).content.decode()
    assert 'name="lag_threshold"' in year and 'name="report_day"' in year and 'name="alert_after_months"' in year


def plan_year_pk(world) -> int:
    return selectors.control_year(YEAR).pk


def test_the_report_form_takes_money_as_people_type_it(client, world):
    report = world.report("A03")  # pending: the 工務局 clerk fills it in
    client.force_login(world.clerk)
    data = {"actual_percent": "30", "budget_executed": "３５９,５３３,０００", "narrative": "依進度", "save": "1"}
    response = client.post(reverse("plan_control:report", args=[report.pk]), data)
    assert response.status_code == 302
    assert ProgressReport.objects.get(pk=report.pk).budget_executed == 359_533_000
    html = client.get(reverse("plan_control:report", args=[report.pk])).content.decode()
    assert "3億5,953萬3,000元" in html
    data["budget_executed"] = "-5"
    html = client.post(reverse("plan_control:report", args=[report.pk]), data).content.decode()
    assert 'data-error="budget_executed"' in html and "金額不可小於 0 元" in html
