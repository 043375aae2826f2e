"""年度計畫先期作業 in Chromium: an agency clerk drafts a request with its plan document, the head signs it off; an RDEC
officer starts the review, schedules a meeting and records its recommendation and minutes, then starts balancing; a
supervisor, refused above the agency's ceiling until giving a reason, approves it with the override and approves
the cycle; next year's controlled plan is on the cycle's page."""

import datetime

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from accounts.tests.factories import AgencyFactory, UserFactory
from plan_control.budget import services
from plan_control.models import BudgetCycle, BudgetRequest, ControlledPlan
from tests.browser_steps import click_and_see, sign_in_to

pytestmark = pytest.mark.django_db(transaction=True)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
TITLE = "愛河水岸自行車道延伸"


def test_a_request_from_the_clerks_draft_to_next_years_controlled_plan(page, live_server, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    rdec = AgencyFactory(code="RDEC", name="研考會")
    pwb = AgencyFactory(code="PWB", name="工務局")
    officer = UserFactory(username="rdec.officer", roles=[Role.RDEC_OFFICER], agency=rdec)
    UserFactory(username="rdec.chief", roles=[Role.RDEC_SUPERVISOR], agency=rdec)
    UserFactory(username="pwb.clerk", roles=[Role.AGENCY_CLERK], agency=pwb)
    UserFactory(username="pwb.head", roles=[Role.AGENCY_HEAD], agency=pwb)
    UserFactory(username="panel.member", roles=[Role.REVIEWER], agency=None, display_name="評審委員甲")
    today = datetime.date.today()
    fiscal_year = today.year - 1911 + 1
    cycle = services.cycle_create(
        actor=officer,
        fiscal_year=fiscal_year,
        public_ceiling=9_164_000_000,
        fund_ceiling=1_847_000_000,
        request_deadline=today + datetime.timedelta(days=30),
        meeting_start=today + datetime.timedelta(days=40),
        meeting_end=today + datetime.timedelta(days=80),
        balancing_date=today + datetime.timedelta(days=90),
    )
    services.cycle_open(actor=officer, cycle_id=cycle.pk)
    services.cycle_ceiling_set(actor=officer, cycle_id=cycle.pk, agency_id=pwb.pk, public=40_000_000)
    cycle_path = f"/plan-control/budget/cycles/{cycle.pk}/"
    plan = tmp_path / "計畫書.pdf"
    plan.write_bytes(PDF)

    # The clerk drafts the request with its plan document (under the threshold first: refused on the total).
    sign_in_to(page, live_server, cycle_path, "pwb.clerk")
    page.get_by_role("link", name="新增計畫申請").click()
    page.get_by_label("計畫名稱").fill(TITLE)
    page.get_by_label("計畫類別").select_option(label="新興年度計畫")
    page.get_by_label("本年度公務預算（新臺幣元）").fill("30,000,000")
    page.get_by_label("本年度申請總額（新臺幣元）（必填）").fill("30000000")
    page.get_by_label("計畫書").set_input_files(str(plan))
    page.get_by_role("button", name="儲存草稿").click()
    expect(page.locator('[data-error="total"]')).to_contain_text("新興計畫總經費須達 5,000萬元以上")
    expect(page.get_by_label("計畫名稱")).to_have_value(TITLE)
    page.get_by_label("本年度公務預算（新臺幣元）").fill("60,000,000")
    page.get_by_label("本年度申請總額（新臺幣元）（必填）").fill("60000000")
    page.get_by_label("計畫書").set_input_files(str(plan))
    click_and_see(page, "儲存草稿", "已儲存申請草稿。")
    expect(page.get_by_role("link", name="計畫書.pdf")).to_be_visible()
    click_and_see(page, "送機關主管核定", "已送機關主管核定。")
    request = BudgetRequest.objects.get(title=TITLE)

    # The head signs it off: it reaches RDEC.
    sign_in_to(page, live_server, f"/plan-control/budget/requests/{request.pk}/", "pwb.head")
    click_and_see(page, "核定並送研考會", "已核定，申請已送達研考會。")
    expect(page.locator("[data-status]")).to_have_text("已送研考會")

    # The officer starts the review, schedules a meeting, records its recommendation and minutes.
    sign_in_to(page, live_server, cycle_path, "rdec.officer")
    page.get_by_role("button", name="截止收件，開始初審", exact=True).click()
    expect(page.locator("[data-confirm-question]")).to_contain_text("已送達研考會的 1 件申請進入初審")
    click_and_see(page, "確定截止收件，開始初審", "已開始初審；未送達研考會的申請已退出本年度。")
    page.get_by_role("navigation", name="先期作業").get_by_role("link", name="初審會議").click()
    page.get_by_role("link", name="排定初審會議").click()
    page.get_by_label("會議日期").fill((today + datetime.timedelta(days=45)).isoformat())
    page.get_by_label("地點").fill("研考會第一會議室")
    page.get_by_label(f"工務局：{TITLE}").check()
    page.get_by_label("評審委員甲", exact=False).check()
    click_and_see(page, "儲存會議", "已排定初審會議。")
    page.get_by_label("建議公務預算").fill("50,000,000")
    page.get_by_label("審查意見").fill("酌減一千萬元，分年辦理。")
    click_and_see(page, "記錄建議", "已記錄會議建議。")
    expect(page.locator("[data-decision]")).to_contain_text("50,000,000")
    page.get_by_label("會議紀錄（必填）").fill("本案照初審建議通過。")
    click_and_see(page, "記錄會議紀錄", "已記錄會議紀錄。")
    page.goto(f"{live_server.url}{cycle_path}")
    page.get_by_role("button", name="開始綜合平衡", exact=True).click()
    click_and_see(page, "確定開始綜合平衡", "已開始綜合平衡。")

    # The supervisor balances: above the agency's ceiling a reason is needed, then the cycle is approved.
    sign_in_to(page, live_server, f"/plan-control/budget/cycles/{cycle.pk}/board/", "rdec.chief")
    expect(page.get_by_role("heading", name=f"{fiscal_year}年度綜合平衡")).to_be_visible()
    page.get_by_role("link", name=TITLE).click()
    page.get_by_label("決定（必填）").select_option(label="照案核定")
    page.get_by_role("button", name="記錄核定結果").click()
    expect(page.get_by_role("alert").filter(has_text="超過額度 4,000萬元")).to_be_visible()
    page.get_by_label("超過額度核可理由（主管）").fill("捷運配合工程，不宜分年。")
    click_and_see(page, "記錄核定結果", "已記錄核定結果。")
    expect(page.locator("[data-status]")).to_have_text("照案核定")
    expect(page.locator("[data-ledger]")).to_contain_text("捷運配合工程")
    page.goto(f"{live_server.url}/plan-control/budget/cycles/{cycle.pk}/board/")
    expect(page.locator("[data-agency-over]")).to_contain_text("超過機關額度：公務預算")
    page.goto(f"{live_server.url}{cycle_path}")
    page.get_by_role("button", name="核定本年度", exact=True).click()
    expect(page.locator("[data-confirm-question]")).to_contain_text("核定總額新臺幣 5,000萬元")
    click_and_see(page, "確定核定本年度", "已核定本年度；核定的計畫已列入下年度列管計畫。")

    # Next year's controlled plan exists, with the approved budget, and the agency sees it.
    controlled = ControlledPlan.objects.get(year=fiscal_year)
    assert controlled.budget == 50_000_000 and BudgetCycle.objects.get().status == BudgetCycle.Status.APPROVED
    sign_in_to(page, live_server, cycle_path, "pwb.clerk")
    row = page.locator(f'[data-plan="{controlled.code}"]')
    expect(row).to_contain_text(TITLE)
    expect(row).to_contain_text("50,000,000")
