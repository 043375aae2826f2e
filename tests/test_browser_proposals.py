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
    click_and_see(page, "核定送出", "已核定，提案已送研考會。")
    expect(page.locator("[data-status]")).to_have_text("已送研考會")

    # The officer closes submissions, screens it, and starts scoring, from the round page.
    sign_in_to(page, live_server, round_path, "rdec.officer")
    click_and_see(page, "截止收件", "已截止收件，進入書面初審。")
    page.goto(f"{live_server.url}/proposals/{proposal.pk}/")
    page.get_by_label("初審通過說明").fill("符合提案格式")
    click_and_see(page, "初審通過", "已完成書面初審：通過。")
    expect(page.locator("[data-status]")).to_have_text("委員審查中")
    page.goto(f"{live_server.url}{round_path}")
    click_and_see(page, "開始評分", "已開始委員評分。")
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
    click_and_see(page, "結束評分", "已結束評分，可預覽結果。")
    preview = page.get_by_role("row").filter(has_text=TITLE)
    expect(preview).to_contain_text("優等")
    click_and_see(page, "確定結果", "已確定評定結果。")
    click_and_see(page, "公布結果", "已公布結果。")
    expect(page.locator("[data-status]")).to_have_text("已公布")
    round_.refresh_from_db()
    assert round_.status == ProposalRound.Status.PUBLISHED

    # Anyone reads the result on the public page, under its grade.
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/results/")
    grade = page.get_by_role("region", name="優等（1 件）")
    expect(grade.get_by_role("heading", name=TITLE)).to_be_visible()
