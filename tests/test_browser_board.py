"""列管計畫 monthly board in Chromium: an RDEC officer reads the month's analysis, filters the lagging plans,
and the chart is there. The month is built through the services: CSV import, start, open the month's slots,
the clerks fill in and submit."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from accounts.models import User
from accounts.roles import Role
from accounts.tests.factories import AgencyFactory, UserFactory
from plan_control.appraisal import services as appraisal_services
from plan_control.models import ControlledPlan, ProgressReport
from plan_control.monitoring import services
from tests.browser_steps import click_and_see, sign_in_to

pytestmark = pytest.mark.django_db(transaction=True)

YEAR, MONTH = 115, 10
CURVE = "5,10,20,30,40,50,60,70,80,90,95,100"
PLANS_CSV = f"""code,agency_code,title,budget,m1,m2,m3,m4,m5,m6,m7,m8,m9,m10,m11,m12
115-PWB-01,PWB,鳳山溪整治工程,120000000,{CURVE}
115-PWB-02,PWB,捷運延伸線土建工程,980000000,{CURVE}
115-PWB-03,PWB,市民運動中心新建,350000000,{CURVE}
115-WRB-01,WRB,滯洪池擴建,210000000,{CURVE}
115-WRB-02,WRB,雨水下水道普查,45000000,{CURVE}
115-SWB-01,SWB,長照據點擴充,60000000,{CURVE}
"""
# (code, month 9 actual or None, month 10 actual or None, reason): None = not reported
FIGURES = [
    ("115-PWB-01", 80, 88, ""),
    ("115-PWB-02", 70, 72, "用地徵收延宕，地上物拆遷協調中"),
    ("115-PWB-03", 78, None, ""),
    ("115-WRB-01", 80, 90, ""),
    ("115-WRB-02", 60, 65, "委託廠商履約進度落後"),
    ("115-SWB-01", 79, 100, ""),
]


def build_year() -> None:
    officer = UserFactory(username="rdec.officer", roles=[Role.RDEC_OFFICER], agency=AgencyFactory(code="RDEC"))
    clerks = {
        code: UserFactory(roles=[Role.AGENCY_CLERK], agency=AgencyFactory(code=code, name=name))
        for code, name in (("PWB", "工務局"), ("WRB", "水利局"), ("SWB", "社會局"))
    }
    upload = SimpleUploadedFile("plans.csv", PLANS_CSV.encode("utf-8"), content_type="text/csv")
    services.plans_import(actor=officer, year=YEAR, upload=upload)
    for plan in ControlledPlan.objects.filter(year=YEAR):
        services.plan_start(plan_id=plan.pk, actor=officer)
    for month in (MONTH - 1, MONTH):
        services.reports_open_for_month(year=YEAR, month=month)
        for code, september, october, reason in FIGURES:
            actual = september if month == MONTH - 1 else october
            if actual is None:
                continue
            report = ProgressReport.objects.get(plan__code=code, month=month)
            lagging = float(report.planned_percent) - actual >= 5 and actual < 100
            clerk = clerks[code.split("-")[1]]
            services.report_update(
                actor=clerk,
                report_id=report.pk,
                actual_percent=actual,
                budget_executed=1000000,
                narrative="依預定進度辦理",
                lag_reason=reason if lagging else "",
                remedy="每週召開進度檢討會議" if lagging else "",
            )
            services.report_submit(actor=clerk, report_id=report.pk)


def test_officer_reads_the_months_board_and_filters_the_lagging_plans(page, live_server, screenshot_dir):
    build_year()
    path = f"/plan-control/board/?year={YEAR}&month={MONTH}"
    sign_in_to(page, live_server, path, "rdec.officer")

    expect(page.get_by_role("heading", name="115年10月列管計畫進度", level=1)).to_be_visible()
    # 6 plans: 3 on track (incl. the completed one at 100%), 2 lagging, 1 not reported.
    summary = page.locator("[data-summary]")
    expect(summary.locator("[data-count=total] strong")).to_have_text("6")
    expect(summary.locator("[data-count=on_track] strong")).to_have_text("3")
    expect(summary.locator("[data-count=lagging] strong")).to_have_text("2")
    expect(summary.locator("[data-count=not_reported] strong")).to_have_text("1")
    expect(summary.locator("[data-count=lagging]")).to_contain_text("33.3%")
    board = page.locator("table[data-board] tbody tr")
    expect(board).to_have_count(6)
    expect(page.locator("tr[data-plan='115-PWB-03']")).to_contain_text("未填報")
    expect(page.locator("tr[data-plan='115-PWB-02']")).to_contain_text("落後")

    chart = page.locator("svg[data-chart]")
    expect(chart).to_be_visible()
    expect(chart).to_have_attribute("role", "img")
    expect(chart.locator("rect")).to_have_count(2)  # September and October have reports
    page.screenshot(path=str(screenshot_dir / "board.png"), full_page=True)

    page.get_by_label("只顯示落後計畫").check()
    page.get_by_role("button", name="查詢").click()
    page.wait_for_url("**lagging_only=on**")
    expect(board).to_have_count(2)
    expect(page.locator("tr[data-plan='115-PWB-02']")).to_be_visible()
    expect(page.locator("tr[data-plan='115-WRB-02']")).to_be_visible()
    expect(page.locator("[data-plan-count]")).to_contain_text("共 2 件計畫")

    page.get_by_label("機關").select_option(label="水利局")
    page.get_by_role("button", name="查詢").click()
    page.wait_for_url("**agency=**")
    expect(board).to_have_count(1)
    expect(page.locator("tr[data-plan='115-WRB-02']")).to_contain_text("雨水下水道普查")

    # The officer opens the lagging report from the board and sees the review buttons.
    page.get_by_role("link", name="雨水下水道普查").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("雨水下水道普查：115年10月月報")
    expect(page.get_by_role("button", name="審核通過")).to_be_visible()
    expect(page.get_by_role("button", name="退回")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "board-report.png"), full_page=True)

    # The printable report opens with the lagging plans' reasons.
    page.goto(f"{live_server.url}/plan-control/board/print/?year={YEAR}&month={MONTH}")
    expect(page.get_by_role("heading", name="115年10月列管計畫執行進度分析")).to_be_visible()
    expect(page.get_by_text("用地徵收延宕，地上物拆遷協調中")).to_be_visible()


def fits(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


def test_the_plan_control_pages_fit_a_phone(page, live_server, screenshot_dir):
    """At 390 px the pages never scroll sideways: wide tables scroll inside their own box."""
    build_year()
    appraisal_services.appraisal_round_create(actor=User.objects.get(username="rdec.officer"), year=YEAR)
    report = ProgressReport.objects.get(plan__code="115-PWB-02", month=MONTH)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in_to(page, live_server, f"/plan-control/board/?year={YEAR}&month={MONTH}", "rdec.officer")
    paths = {
        "board": f"/plan-control/board/?year={YEAR}&month={MONTH}",
        "plans": f"/plan-control/plans/?year={YEAR}",
        "plan": f"/plan-control/plans/{report.plan_id}/",
        "reports": "/plan-control/reports/",
        "report": f"/plan-control/reports/{report.pk}/",
        "summaries": f"/plan-control/summaries/?year={YEAR}",
        "appraisal-rounds": "/plan-control/appraisal/",
        "appraisal-round-new": "/plan-control/appraisal/new/",
        "appraisals": f"/plan-control/appraisals/?year={YEAR}",
        "plans-import": "/plan-control/plans/import/",
    }
    for name, path in paths.items():
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("navigation", name="列管計畫")).to_be_visible()
        page.screenshot(path=str(screenshot_dir / f"phone-{name}.png"), full_page=True)
        width, inner = fits(page)
        assert width <= inner, f"{name}: {width} > {inner}"
    # The import's error table too: a bad file, every problem listed, still within the phone's width.
    page.goto(f"{live_server.url}/plan-control/plans/import/")
    bad = PLANS_CSV.replace("115-WRB-01,WRB", "115-WRB-01,NOPE").replace(",45000000,", ",四千五百萬,")
    page.get_by_label("計畫清單檔案").set_input_files(
        files=[{"name": "plans.csv", "mimeType": "text/csv", "buffer": bad.encode()}]
    )
    page.get_by_label("年度（民國）").fill(str(YEAR + 1))
    page.get_by_role("button", name="上傳並匯入").click()
    errors = page.locator("table[data-import-errors] tbody tr")
    expect(errors).to_have_count(2)
    expect(errors.first).to_contain_text("agency_code（主辦機關代碼）")
    page.screenshot(path=str(screenshot_dir / "phone-plans-import-errors.png"), full_page=True)
    width, inner = fits(page)
    assert width <= inner, f"import errors: {width} > {inner}"


def test_an_officer_imports_starts_and_terminates_plans_in_the_back_office(page, live_server, tmp_path):
    """Without the API: the template downloads, the sheet is uploaded, every plan starts after the confirmation, and
    a plan is terminated with its reason after a second one."""
    UserFactory(username="rdec.officer", roles=[Role.RDEC_OFFICER], agency=AgencyFactory(code="RDEC"))
    for code, name in (("PWB", "工務局"), ("WRB", "水利局"), ("SWB", "社會局")):
        AgencyFactory(code=code, name=name)
    sign_in_to(page, live_server, "/", "rdec.officer")
    page.get_by_role("link", name="列管計畫").first.click()
    page.get_by_role("navigation", name="列管計畫").get_by_role("link", name="匯入列管計畫").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="下載範本（XLSX）").click()
    assert download.value.suggested_filename.endswith(".xlsx")

    sheet = tmp_path / "plans.csv"
    sheet.write_text(PLANS_CSV, encoding="utf-8")
    page.get_by_label("年度（民國）").fill(str(YEAR))
    page.get_by_label("計畫清單檔案").set_input_files(str(sheet))
    page.get_by_role("button", name="上傳並匯入").click()
    expect(page.get_by_role("status").get_by_text("已匯入 6 項115年度列管計畫")).to_be_visible()
    expect(page.locator("[data-registered]")).to_contain_text("尚有 6 項計畫（3 個機關）已列管")

    page.get_by_role("button", name="全部開始執行").click()
    expect(page.locator("[data-confirm-question]")).to_contain_text("6 項列管計畫（3 個機關）將同時開始執行")
    click_and_see(page, "確定全部開始執行", "已開始執行 6 項列管計畫。")
    expect(page.locator("tr[data-plan='115-WRB-02'] [data-status]")).to_have_text("執行中")

    page.get_by_role("link", name="雨水下水道普查").click()
    page.get_by_label("理由（必填）").fill("併入下水道總體規劃辦理")
    page.get_by_role("button", name="終止計畫").click()
    expect(page.locator("[data-confirm-question]")).to_contain_text("此操作無法復原")
    expect(page.get_by_label("理由（必填）")).to_have_value("併入下水道總體規劃辦理")
    click_and_see(page, "確定終止計畫", "計畫已終止。")
    expect(page.locator("dd[data-status]")).to_have_text("已終止")
    assert ControlledPlan.objects.get(code="115-WRB-02").status == ControlledPlan.Status.TERMINATED
