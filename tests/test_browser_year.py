"""An RDEC officer sets up the year in the browser alone: no admin page and no API call on the way.

From the side menu: a proposal round (市政創新提案 → 提案年度管理), its panel from the reviewer pool, the year's
controlled plans from a spreadsheet (a bad file first: its row errors on the page, nothing imported), the year-end
appraisal round (年終考核), and a typhoon day in the working calendar (行事曆調整). Each step is what the officer
would otherwise have needed a developer for."""

import datetime

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from accounts.tests.factories import AgencyFactory, UserFactory
from plan_control.models import AppraisalRound, ControlledPlan
from proposals.models import ProposalRound
from reviews.models import PanelMember
from tests.browser_steps import click_and_see, sign_in_to
from workflow_site.roc_calendar.models import CalendarOverride

pytestmark = pytest.mark.django_db(transaction=True)

HEADER = "code,agency_code,title,budget," + ",".join(f"m{m}" for m in range(1, 13))
CURVE = "5,10,20,30,40,50,60,70,80,90,95,100"


def menu(page, entry: str) -> None:
    page.locator(".vf-page__menu").get_by_role("link", name=entry, exact=True).click()


def test_an_officer_sets_up_the_year_without_the_admin_or_the_api(page, live_server, tmp_path):
    rdec = AgencyFactory(code="RDEC", name="研考會")
    AgencyFactory(code="PWB", name="工務局")
    AgencyFactory(code="TB", name="交通局")
    UserFactory(username="rdec.officer", roles=[Role.RDEC_OFFICER], agency=rdec)
    for name in ("林教授", "陳建築師", "黃顧問"):
        UserFactory(roles=[Role.REVIEWER], agency=None, display_name=name)
    year = datetime.date.today().year - 1911 + 1
    back_office_calls = []
    page.on(
        "request",
        lambda r: (
            back_office_calls.append(r.url)
            if r.url.startswith(f"{live_server.url}/admin") or r.url.startswith(f"{live_server.url}/api")
            else None
        ),
    )

    # 1. The proposal round, then its panel from the reviewer pool.
    sign_in_to(page, live_server, "/", "rdec.officer")
    menu(page, "市政創新提案")
    page.get_by_role("link", name="提案年度管理").click()
    page.get_by_role("link", name="新增提案年度").click()
    page.get_by_label("年度（民國）").fill(str(year))
    page.get_by_label("提案截止日").fill(f"{year}/05/31")
    page.get_by_label("評分截止日").fill(f"{year}/07/31")
    page.get_by_label("第 1 項評分項目").fill("創新性")
    page.get_by_label("第 1 項權重").fill("50")
    page.get_by_label("第 1 項滿分").fill("30")
    page.get_by_label("第 2 項評分項目").fill("可行性")
    page.get_by_label("第 2 項權重").fill("50")
    page.get_by_label("第 2 項滿分").fill("30")
    page.get_by_label("最少委員人數").fill("3")
    page.get_by_label("最少外部委員人數").fill("2")
    page.get_by_label("優等名額", exact=True).fill("1")
    page.get_by_role("button", name="建立提案年度").click()
    expect(page.get_by_role("status").get_by_text(f"已新增「{year}年度市政創新提案」")).to_have_count(1)
    round_ = ProposalRound.objects.get(year=year)

    page.get_by_role("link", name="審查委員與審查會設定").click()
    for n, name in enumerate(("林教授", "陳建築師", "黃顧問")):
        page.get_by_label("評審委員").select_option(label=name)
        page.get_by_label("外部委員").check()
        if n == 0:
            page.get_by_label("擔任召集人").check()
        click_and_see(page, "加入委員", f"已加入委員：{name}。")
    expect(page.locator("[data-problems]")).to_have_count(0)
    members = PanelMember.objects.filter(panel=round_.panel)
    assert sorted(m.user.display_name for m in members) == ["林教授", "陳建築師", "黃顧問"]
    assert members.get(is_chair=True).user.display_name == "林教授"

    # 2. The year's controlled plans: the template, a file with mistakes (shown row by row), then the right one.
    menu(page, "列管計畫")
    page.get_by_role("link", name="匯入列管計畫").click()
    with page.expect_download() as template:
        page.get_by_role("link", name="下載範本（XLSX）").click()
    assert template.value.suggested_filename.endswith(".xlsx")
    bad = tmp_path / "計畫清單.csv"
    bad.write_text(f'{HEADER}\nP-1,PWB,愛河自行車道,"270,000,000",{CURVE}\nP-2,XX,公車動態,1000,{CURVE}\n')
    page.get_by_label("年度（民國）").fill(str(year))
    page.get_by_label("計畫清單檔案").set_input_files(str(bad))
    page.get_by_role("button", name="上傳並匯入").click()
    error_row = page.locator('tr[data-row="3"]')
    expect(error_row).to_contain_text("agency_code")
    assert not ControlledPlan.objects.filter(year=year).exists()
    good = tmp_path / "計畫清單-修正.csv"
    good.write_text(f'{HEADER}\nP-1,PWB,愛河自行車道,"270,000,000",{CURVE}\nP-2,TB,公車動態,1000,{CURVE}\n')
    page.get_by_label("年度（民國）").fill(str(year))
    page.get_by_label("計畫清單檔案").set_input_files(str(good))
    page.get_by_role("button", name="上傳並匯入").click()
    expect(page.get_by_role("status")).to_have_text(f"已匯入 2 項{year}年度列管計畫；開始執行後才會列入每月填報。")
    assert ControlledPlan.objects.filter(year=year).count() == 2
    assert ControlledPlan.objects.get(year=year, code="P-1").budget == 270_000_000

    # 3. The year-end appraisal round, from its own menu entry.
    menu(page, "年終考核")
    page.get_by_role("link", name="建立年終考核").click()
    page.get_by_label("年度（民國）").fill(str(year))
    page.get_by_label("機關自評期限").fill(f"{year + 1}/02/15")
    page.get_by_label("研考會複核期限").fill(f"{year + 1}/03/15")
    page.get_by_role("button", name="建立年終考核").click()
    expect(page.get_by_role("status")).to_have_text(f"已建立{year}年度年終考核。")
    appraisal_round = AppraisalRound.objects.get(year=year)
    expect(page).to_have_url(f"{live_server.url}/plan-control/appraisal/{appraisal_round.pk}/")

    # 4. A typhoon day off in the working calendar.
    menu(page, "行事曆調整")
    page.get_by_role("link", name="新增調整").click()
    page.get_by_label("日期").fill(f"{year}/07/25")
    page.get_by_label("類別").select_option(index=1)
    page.get_by_label("事由").fill("颱風停班停課")
    page.get_by_role("button", name="儲存").click()
    expect(page.get_by_role("status")).to_have_text(f"已新增 民國{year}年7月25日 的行事曆調整。")
    assert CalendarOverride.objects.filter(reason="颱風停班停課").count() == 1

    assert back_office_calls == []
