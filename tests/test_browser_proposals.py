"""市政創新提案 in Chromium: a clerk drafts with a PDF and sends it, the head approves, the officer screens and
runs the round, a reviewer scores, and the published result appears on the public page."""

import datetime

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from accounts.tests.factories import AgencyFactory, UserFactory
from proposals import services
from proposals.models import Proposal, ProposalRound
from reviews import services as review_services
from reviews.models import ScoreSheet
from tests.browser_steps import click_and_see, sign_in_to

pytestmark = pytest.mark.django_db(transaction=True)

RUBRIC = [
    {"code": "innovation", "name": "創新性", "weight": 40, "max_score": 10},
    {"code": "feasibility", "name": "可行性", "weight": 60, "max_score": 20},
]
TITLE = "智慧路燈節能調光計畫"


def confirm_and_see(page, button: str, question: str, message: str) -> None:
    """Press an irreversible action's button, read what it will do, confirm, and see `message`."""
    page.get_by_role("button", name=button, exact=True).click()
    expect(page.locator("[data-confirm-question]")).to_contain_text(question)
    page.get_by_role("button", name=f"確定{button}", exact=True).click()
    expect(page.get_by_role("status").get_by_text(message)).to_be_visible()


def test_a_proposal_from_draft_to_the_public_results(page, live_server, tmp_path):
    officer = UserFactory(username="rdec.officer", roles=[Role.RDEC_OFFICER], agency=AgencyFactory(name="研考會"))
    works = AgencyFactory(name="工務局")
    UserFactory(username="pwb.clerk", display_name="工務局承辦 王小明", roles=[Role.AGENCY_CLERK], agency=works)
    UserFactory(username="pwb.head", display_name="工務局局長 張國華", roles=[Role.AGENCY_HEAD], agency=works)
    reviewers = [UserFactory(username=f"reviewer{n}", roles=[Role.REVIEWER], agency=None) for n in range(3)]
    round_ = services.round_create(
        actor=officer,
        year=115,
        title="115年度市政創新提案",
        submission_deadline=datetime.date(2026, 5, 31),
        scoring_deadline=datetime.date(2026, 7, 31),
        rubric=RUBRIC,
        grade_quotas=[{"grade": "excellent", "count": 1}, {"grade": "a", "count": 2}],
        min_members=3,
        min_external=2,
    )
    for index, reviewer in enumerate(reviewers):
        services.round_panel_member_add(
            round_id=round_.pk, actor=officer, user_id=reviewer.pk, kind="external", chair=index == 0
        )
    services.round_open(round_id=round_.pk, actor=officer)
    round_path = f"/proposals/rounds/{round_.pk}/"
    pdf = tmp_path / "計畫書.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

    # The clerk drafts the proposal with its PDF, then sends it to the head.
    sign_in_to(page, live_server, "/proposals/", "pwb.clerk")
    page.get_by_role("link", name="新增提案").click()
    page.get_by_label("提案名稱").fill(TITLE)
    page.get_by_label("摘要").fill("以感測器依人車流量調整路燈亮度。")
    page.get_by_label("問題與現況").fill("深夜路燈全亮，耗電量高。")
    page.get_by_label("聯絡人").fill("王小明")
    page.get_by_label("附件").set_input_files(str(pdf))
    page.get_by_role("button", name="儲存草稿").click()
    expect(page.get_by_role("status").get_by_text("已建立提案草稿。")).to_be_visible()
    expect(page.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    expect(page.get_by_role("link", name="計畫書.pdf")).to_be_visible()
    proposal = Proposal.objects.get(title=TITLE)
    assert proposal.attachments.get().kind == "pdf"
    click_and_see(page, "送出核定", "已送出，待機關主管核定。")
    expect(page.locator("[data-status]")).to_have_text("待機關主管核定")
    expect(page.get_by_role("button", name="核定送出")).to_have_count(0)

    # The head approves.
    sign_in_to(page, live_server, f"/proposals/{proposal.pk}/", "pwb.head")
    confirm_and_see(page, "核定送出", "即送研考會，機關不能再修改或撤回", "已核定，提案已送研考會。")
    expect(page.locator("[data-status]")).to_have_text("已送研考會")

    # The officer closes submissions, screens it, and starts scoring, from the round page.
    sign_in_to(page, live_server, round_path, "rdec.officer")
    click_and_see(page, "截止收件", "已截止收件，進入書面初審。")  # past its deadline: nothing to ask
    page.goto(f"{live_server.url}/proposals/{proposal.pk}/")
    page.get_by_label("初審通過說明").fill("符合提案格式")
    confirm_and_see(page, "初審通過", "之後本年度不能再重新開放收件", "已完成書面初審：通過。")
    expect(page.locator("[data-status]")).to_have_text("委員審查中")
    page.goto(f"{live_server.url}{round_path}")
    confirm_and_see(page, "開始評分", "1 件通過初審的提案將交由 3 位委員評分", "已開始委員評分。")
    expect(page.locator("[data-status]")).to_have_text("委員評分")

    # One reviewer scores in the browser; the other two by services.
    sign_in_to(page, live_server, f"/reviews/panels/{round_.panel_id}/score/", reviewers[0].username)
    sheet = page.locator("section[data-sheet]")
    expect(sheet).to_have_count(1)
    sheet.get_by_label("創新性").fill("9")
    sheet.get_by_label("可行性").fill("18")
    expect(sheet.locator("output[data-total]")).to_have_text("90.00")
    page.once("dialog", lambda dialog: dialog.accept())
    sheet.get_by_role("button", name="送出評分").click()
    expect(sheet.locator("[data-state]")).to_have_text("已送出")
    for reviewer in reviewers[1:]:
        other = ScoreSheet.objects.get(member__user=reviewer, panel_id=round_.panel_id)
        review_services.sheet_submit(sheet_id=other.pk, actor=reviewer, scores={"innovation": 8, "feasibility": 16})

    # The officer closes scoring, checks the preview, finalises and publishes.
    sign_in_to(page, live_server, round_path, "rdec.officer")
    confirm_and_see(page, "結束評分", "結束評分後委員不能再送出或修改評分", "已結束評分，可預覽結果。")
    preview = page.get_by_role("row").filter(has_text=TITLE)
    expect(preview).to_contain_text("優等")
    confirm_and_see(page, "核定結果", "1 件委員審查中的提案將依評分結果確定名次與等第", "已確定評定結果。")
    confirm_and_see(page, "公布結果", "1 件獲獎提案將公布在公開的成果網頁", "已公布結果。")
    expect(page.locator("[data-status]")).to_have_text("已公布")
    round_.refresh_from_db()
    assert round_.status == ProposalRound.Status.PUBLISHED

    # Anyone reads the result on the public page, under its grade.
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/results/")
    grade = page.get_by_role("region", name="優等（1 件）")
    expect(grade.get_by_role("heading", name=TITLE)).to_be_visible()


def test_an_officer_sets_up_a_round_in_the_browser_and_reopens_submissions(page, live_server):
    officer = UserFactory(username="rdec.officer", roles=[Role.RDEC_OFFICER], agency=AgencyFactory(name="研考會"))
    works = AgencyFactory(name="工務局")
    clerk = UserFactory(username="pwb.clerk", roles=[Role.AGENCY_CLERK], agency=works)

    # From the proposals' page to the rounds, then 新增提案年度, in ROC dates; a mistake keeps what was typed.
    sign_in_to(page, live_server, "/proposals/", officer.username)
    page.get_by_role("link", name="提案年度管理").click()
    expect(page.get_by_role("heading", name="提案年度", level=1)).to_be_visible()
    page.get_by_role("link", name="新增提案年度").click()
    page.get_by_label("年度（民國）").fill("120")
    page.get_by_label("提案截止日").fill("120/05/31")
    page.get_by_label("評分截止日").fill("120/04/30")
    page.get_by_label("第 1 項評分項目").fill("創新性")
    page.get_by_label("第 1 項權重").fill("40")
    page.get_by_label("第 1 項滿分").fill("10")
    page.get_by_label("第 2 項評分項目").fill("可行性")
    page.get_by_label("第 2 項權重").fill("60")
    page.get_by_label("第 2 項滿分").fill("20")
    page.get_by_label("最少委員人數").fill("3")
    page.get_by_label("最少外部委員人數").fill("2")
    page.get_by_label("優等名額", exact=True).fill("2")
    page.get_by_label("甲等名額", exact=True).fill("4")
    page.get_by_role("button", name="建立提案年度").click()
    expect(page.get_by_text("評分截止日不得早於提案截止日。")).to_be_visible()
    expect(page.get_by_label("第 2 項評分項目")).to_have_value("可行性")
    expect(page.get_by_label("提案截止日")).to_have_value("120/05/31")
    page.get_by_label("評分截止日").fill("120/07/31")
    page.get_by_role("button", name="建立提案年度").click()
    expect(page.get_by_role("status").get_by_text("已新增「120年度市政創新提案」")).to_have_count(1)
    expect(page.locator("[data-status]")).to_have_text("規劃中")
    expect(page.get_by_text("民國120年5月31日")).to_be_visible()
    round_ = ProposalRound.objects.get(year=120)
    assert [c.name for c in round_.panel.rubric.criteria.all()] == ["創新性", "可行性"]
    assert round_.grade_quotas == [{"grade": "excellent", "count": 2}, {"grade": "a", "count": 4}]

    # Its settings change until submissions close.
    page.get_by_role("link", name="修改設定").click()
    page.get_by_label("提案截止日").fill("120/06/15")
    page.get_by_role("button", name="儲存設定").click()
    expect(page.get_by_role("status").get_by_text("已儲存本年度設定。")).to_be_visible()
    expect(page.get_by_text("民國120年6月15日")).to_be_visible()
    click_and_see(page, "開始受理提案", "已開始受理提案。")
    services.proposal_create(actor=clerk, round_id=round_.pk, title="智慧停車", summary="即時車位資訊")

    # Closing before the deadline asks first and says what happens to the draft; 取消 changes nothing.
    page.get_by_role("button", name="截止收件", exact=True).click()
    expect(page.locator("[data-confirm-question]")).to_contain_text("尚有 1 件草稿將不能再送出。")
    page.get_by_role("link", name="取消").click()
    expect(page.locator("[data-status]")).to_have_text("受理提案")
    confirm_and_see(page, "截止收件", "提前結束受理", "已截止收件，進入書面初審。")
    expect(page.locator("[data-status]")).to_have_text("書面初審")

    # Nothing screened yet: the officer reopens submissions, with the reason logged.
    page.get_by_label("重新開放收件理由（必填）").fill("配合颱風停班延長收件")
    click_and_see(page, "重新開放收件", "已重新開放收件，各機關可以再送出提案。")
    expect(page.locator("[data-status]")).to_have_text("受理提案")
    expect(page.get_by_text("配合颱風停班延長收件")).to_be_visible()  # in the round's history
    round_.refresh_from_db()
    assert round_.status == ProposalRound.Status.OPEN
