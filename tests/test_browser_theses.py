"""學位論文獎補助 in Chromium: a student registers and verifies the address, fills in the profile, applies with a
research plan; RDEC screens it and starts the review; a reviewer scores; RDEC decides; the student hands in the final
thesis and RDEC accepts it."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts.roles import Role
from accounts.tests.factories import AgencyFactory, UserFactory
from reviews import services as review_services
from reviews.models import ScoreSheet
from tests.browser_steps import click_and_see, sign_in_to
from theses import services
from theses.models import ThesisApplication, ThesisCall
from theses.tests.factories import make_call

pytestmark = pytest.mark.django_db(transaction=True)

TITLE = "高雄輕軌轉乘行為與票價整合研究"
PASSWORD = "Light-rail-2026-study"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def confirm_and_see(page, button: str, question: str, message: str) -> None:
    """Press an irreversible action's button, read what it will do, confirm, and see `message`."""
    page.get_by_role("button", name=button, exact=True).click()
    expect(page.locator("[data-confirm-question]")).to_contain_text(question)
    page.get_by_role("button", name=f"確定{button}", exact=True).click()
    expect(page.get_by_role("status").get_by_text(message)).to_be_visible()


def test_a_student_from_registering_to_the_accepted_final_thesis(page, live_server, tmp_path):
    officer = UserFactory(username="rdec.officer", roles=[Role.RDEC_OFFICER], agency=AgencyFactory(name="研考會"))
    call = make_call(officer)
    services.call_open(call_id=call.pk, actor=officer)
    call_path = f"/theses/calls/{call.pk}/"
    plan, final = tmp_path / "研究計畫.pdf", tmp_path / "論文完稿.pdf"
    plan.write_bytes(PDF)
    final.write_bytes(PDF)

    # The student registers on the public page and opens the link in the e-mail.
    page.goto(f"{live_server.url}/results/theses/")
    page.get_by_role("link", name="學位論文獎補助申請").click()
    page.get_by_label("姓名").fill("陳怡君")
    page.get_by_label("帳號").fill("yijun.chen")
    page.get_by_label("電子郵件").fill("yijun@example.edu.tw")
    page.get_by_label("密碼", exact=True).fill(PASSWORD)
    page.get_by_label("再次輸入密碼").fill(PASSWORD)
    page.get_by_role("button", name="註冊").click()
    expect(page.get_by_role("status")).to_contain_text("驗證信已寄出")
    link = re.search(r"/applicants/verify/\?token=\S+", mail.outbox[-1].body).group(0)
    page.goto(f"{live_server.url}{link}")
    page.get_by_role("button", name="完成驗證").click()
    expect(page.get_by_role("status")).to_contain_text("已完成驗證")

    # Signed in, the student fills in the profile, then applies with the research plan and sends it.
    sign_in_to(page, live_server, "/theses/", "yijun.chen", PASSWORD)
    expect(page.get_by_role("status").get_by_text("申請前請先填寫申請人資料", exact=False)).to_be_visible()
    page.get_by_role("link", name="申請人資料").click()
    page.get_by_label("學校").fill("國立中山大學")
    page.get_by_label("系所").fill("公共事務管理研究所")
    page.get_by_label("學位（必填）").select_option(label="碩士")
    page.get_by_label("指導教授").fill("林教授")
    page.get_by_role("button", name="儲存").click()
    expect(page.get_by_role("status").get_by_text("已儲存申請人資料。")).to_be_visible()
    page.get_by_role("link", name="新增申請").click()
    page.get_by_label("類別").select_option(label="論文撰寫補助")
    page.get_by_label("論文題目").fill(TITLE)
    page.get_by_label("摘要").fill("以電子票證資料分析輕軌與公車之轉乘行為。")
    page.get_by_label("研究計畫或學位論文").set_input_files(str(plan))
    page.get_by_role("button", name="儲存草稿").click()
    expect(page.get_by_role("status").get_by_text("已建立申請草稿。")).to_be_visible()
    expect(page.get_by_role("link", name="研究計畫.pdf")).to_be_visible()
    click_and_see(page, "送出申請", "已送出申請，研考會將進行資格審查。")
    expect(page.locator("[data-status]")).to_have_text("已送出")
    expect(page.locator("[data-next-step]")).to_contain_text("待資格審查")
    application = ThesisApplication.objects.get(title=TITLE)
    assert application.applicant.username == "yijun.chen" and application.university == "國立中山大學"

    # RDEC screens it eligible and starts the review from the call's page.
    sign_in_to(page, live_server, f"/theses/{application.pk}/", "rdec.officer")
    click_and_see(page, "資格符合", "已完成資格審查：符合。")
    page.goto(f"{live_server.url}{call_path}")
    confirm_and_see(
        page, "截止收件並開始審查", "1 件資格符合的申請將交由各類別審查委員評分", "已截止收件，委員開始評分。"
    )
    expect(page.locator("[data-next-step]")).to_contain_text("委員評分中")
    application.refresh_from_db()
    assert application.status == ThesisApplication.Status.IN_REVIEW
    panel_id = call.tracks.get(kind="subsidy", degree="master").panel_id

    # One reviewer scores in the browser; the other two by services.
    reviewers = list(ScoreSheet.objects.filter(panel_id=panel_id).select_related("member__user"))
    first = reviewers[0].member.user
    sign_in_to(page, live_server, f"/reviews/panels/{panel_id}/score/", first.username)
    page.wait_for_selector("[data-score-page][data-bound]", state="attached")
    sheet = page.locator("section[data-sheet]")
    expect(sheet).to_have_count(1)
    expect(sheet).to_contain_text(TITLE)
    sheet.get_by_label("與市政之關聯").fill("88")
    sheet.get_by_label("研究品質").fill("82")
    expect(sheet.locator("output[data-total]")).to_have_text("85.00")
    page.once("dialog", lambda dialog: dialog.accept())
    sheet.get_by_role("button", name="送出評分").click()
    expect(sheet.locator("[data-state]")).to_have_text("已送出")
    for other in reviewers[1:]:
        review_services.sheet_submit(
            sheet_id=other.pk, actor=other.member.user, scores={"relevance": 80, "quality": 80}
        )

    # RDEC decides: the application is approved with the track's amount, shown in the call's results.
    sign_in_to(page, live_server, call_path, "rdec.officer")
    confirm_and_see(page, "核定結果", "金額合計至多 3萬元", "已確定獎補助名單。")
    expect(page.get_by_role("row").filter(has_text=TITLE)).to_contain_text("3萬元")
    application.refresh_from_db()
    assert (application.status, application.amount) == (ThesisApplication.Status.APPROVED, 30000)

    # The student sees the result and hands in the final thesis; RDEC accepts it.
    sign_in_to(page, live_server, f"/theses/{application.pk}/", "yijun.chen", PASSWORD)
    expect(page.locator("[data-status]")).to_have_text("獲補助／獲獎")
    expect(page.locator("[data-amount]")).to_have_text("3萬元")
    expect(page.locator("[data-next-step]")).to_contain_text("請於 民國116年6月30日 前繳交論文完稿")
    page.get_by_label("論文完稿").set_input_files(str(final))
    click_and_see(page, "繳交論文完稿", "已繳交論文完稿，待研考會驗收。")
    sign_in_to(page, live_server, f"/theses/{application.pk}/", "rdec.officer")
    confirm_and_see(page, "驗收完稿", "驗收後即可撥付補助 3萬元", "已驗收論文完稿。")
    expect(page.locator("[data-status]")).to_have_text("完稿已驗收")
    application.refresh_from_db()
    assert application.status == ThesisApplication.Status.ACCEPTED


def test_an_officer_opens_a_new_call_with_amounts_read_out_as_typed(page, live_server):
    UserFactory(username="rdec.officer", roles=[Role.RDEC_OFFICER], agency=AgencyFactory(name="研考會"))
    sign_in_to(page, live_server, "/theses/", "rdec.officer")
    page.get_by_role("link", name="新增獎補助年度").click()
    page.get_by_label("年度（民國）").fill("116")
    page.get_by_label("申請截止日").fill("116/03/31")
    page.get_by_label("評分截止日").fill("116/05/31")
    page.get_by_label("補助論文完稿繳交期限").fill("116/12/31")
    page.get_by_label("碩士論文撰寫補助名額").fill("5")
    amount = page.get_by_label("碩士論文撰寫補助每名金額")
    amount.fill("35000")
    expect(page.locator(f"output[for='{amount.get_attribute('id')}']")).to_have_text("3萬5,000元")
    for n, (name, weight) in enumerate([("與市政之關聯", "50"), ("研究品質", "50")], start=1):
        page.get_by_label(f"論文撰寫補助第 {n} 項評分項目").fill(name)
        page.get_by_label(f"論文撰寫補助第 {n} 項權重").fill(weight)
        page.get_by_label(f"論文撰寫補助第 {n} 項滿分").fill("100")
    page.get_by_role("button", name="建立獎補助年度").click()
    expect(page.get_by_role("status").get_by_text("已新增「116年度學位論文獎補助」")).to_have_count(1)
    expect(page.get_by_role("row").filter(has_text="論文撰寫補助")).to_contain_text("3萬5,000元")
    expect(page.locator("[data-next-step]")).to_contain_text("請為各類別審查會加入委員")
    call = ThesisCall.objects.get(year=116)
    assert [(t.kind, t.degree, t.quota, t.amount) for t in call.tracks.all()] == [("subsidy", "master", 5, 35000)]
