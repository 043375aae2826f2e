"""A reviewer scores on the score page in Chromium: running total, autosave, reload, submit; tablet width."""

from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD
from reviews.models import ScoreSheet
from reviews.tests.test_api import build_panel

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in_to(page, live_server, path: str, username: str) -> None:
    page.goto(f"{live_server.url}{path}")
    page.wait_for_url("**/accounts/login/**")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("button[type=submit], input[type=submit]").first.click()
    page.wait_for_url(f"{live_server.url}{path}")
    # Turbo renders the page, then loads its script: type only once the script has bound the inputs.
    page.wait_for_selector("[data-score-page][data-bound]", state="attached")


def test_a_reviewer_scores_autosaves_reloads_and_submits(page, live_server, make_user):
    setup = build_panel(make_user)
    reviewer = setup.reviewer
    sheet = setup.sheet(reviewer, 0)
    sign_in_to(page, live_server, reverse("reviews:score", args=[setup.panel.pk]), reviewer.username)

    expect(page.get_by_role("heading", name=setup.panel.title, exact=True)).to_be_visible()
    item = page.locator(f'section[data-sheet="{sheet.pk}"]')
    expect(item.get_by_role("heading", name=f"1. {setup.items[0].title}")).to_be_visible()
    innovation = item.get_by_label("創新性")
    feasibility = item.get_by_label("可行性")
    total = item.locator("output[data-total]")

    innovation.fill("8")
    expect(total).to_have_text("32.00（尚有項目未評分）")
    feasibility.fill("15")
    expect(total).to_have_text("77.00")  # 8/10x40 + 15/20x60, as the server computes it
    item.get_by_label("評語").fill("構想具體，可行性高。")
    expect(item.locator("[data-save-status]")).to_have_text("已暫存")
    sheet.refresh_from_db()
    assert sheet.status == "draft"

    page.reload()
    page.wait_for_selector("[data-score-page][data-bound]", state="attached")
    item = page.locator(f'section[data-sheet="{sheet.pk}"]')
    assert float(item.get_by_label("創新性").input_value()) == 8
    assert float(item.get_by_label("可行性").input_value()) == 15
    assert item.get_by_label("評語").input_value() == "構想具體，可行性高。"
    expect(item.locator("output[data-total]")).to_have_text("77.00")

    messages = []

    def accept(dialog) -> None:
        messages.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    item.get_by_role("button", name="送出評分").click()
    expect(item.locator("[data-state]")).to_have_text("已送出")
    assert messages == ["送出後不能再修改，確定送出？"]
    expect(item.get_by_label("創新性")).not_to_be_editable()
    expect(item.get_by_label("可行性")).not_to_be_editable()
    expect(item.get_by_label("評語")).not_to_be_editable()
    expect(item.get_by_role("button", name="送出評分")).to_have_count(0)

    sheet.refresh_from_db()
    assert (sheet.status, sheet.total, sheet.comment) == (
        ScoreSheet.Status.SUBMITTED,
        Decimal("77.00"),
        "構想具體，可行性高。",
    )
    # The other item is still open.
    other = page.locator(f'section[data-sheet="{setup.sheet(reviewer, 1).pk}"]')
    expect(other.get_by_label("創新性")).to_be_editable()


def test_a_rejected_value_names_the_problem_and_saves_nothing(page, live_server, make_user):
    setup = build_panel(make_user)
    sheet = setup.sheet(setup.reviewer, 0)
    sign_in_to(page, live_server, reverse("reviews:score", args=[setup.panel.pk]), setup.reviewer.username)
    item = page.locator(f'section[data-sheet="{sheet.pk}"]')
    item.get_by_label("創新性").fill("12")
    expect(item.locator("[data-save-status]")).to_contain_text("「創新性」的分數須介於 0 到 10.00。")
    expect(item.get_by_label("創新性")).to_have_attribute("aria-invalid", "true")
    sheet.refresh_from_db()
    assert sheet.scores == {}


def colour(locator) -> str:
    return locator.evaluate("element => getComputedStyle(element).color")


def test_one_out_of_range_score_loses_neither_the_valid_scores_nor_the_comment(page, live_server, make_user):
    criteria = [
        {"code": "innovation", "name": "創新性", "weight": 40, "max_score": 10},
        {"code": "feasibility", "name": "可行性", "weight": 30, "max_score": 30},
        {"code": "benefit", "name": "效益", "weight": 30, "max_score": 20},
    ]
    setup = build_panel(make_user, criteria=criteria)
    sheet = setup.sheet(setup.reviewer, 0)
    sign_in_to(page, live_server, reverse("reviews:score", args=[setup.panel.pk]), setup.reviewer.username)
    item = page.locator(f'section[data-sheet="{sheet.pk}"]')
    status = item.locator("[data-save-status]")
    total = item.locator("output[data-total]")

    expect(item.locator("[data-state]")).to_have_text("未評分")
    item.get_by_label("創新性").fill("8")
    expect(status).to_have_text("已暫存")
    expect(item.locator("[data-state]")).to_have_text("暫存中")  # the sheet is a draft now
    success = colour(status)
    item.get_by_label("效益").fill("10")
    item.get_by_label("可行性").fill("35")  # the maximum is 30
    item.get_by_label("評語").fill("效益明確，可行性待補充。")
    expect(total).to_have_text("47.00（超出範圍的分數未計入）")  # 8/10x40 + 10/20x30, without the 35
    expect(status).to_contain_text("下列分數未暫存：「可行性」的分數須介於 0 到 30.00。")
    assert colour(status) != success
    assert colour(status) == "rgb(176, 0, 32)"
    feasibility = item.get_by_label("可行性")
    expect(feasibility).to_have_attribute("aria-invalid", "true")
    expect(item.locator('[data-error-for="feasibility"]')).to_have_text("「可行性」的分數須介於 0 到 30.00。")
    # Only the bad field is marked.
    expect(item.get_by_label("創新性")).not_to_have_attribute("aria-invalid", "true")
    expect(item.get_by_label("效益")).not_to_have_attribute("aria-invalid", "true")
    expect(item.locator('[data-error-for="benefit"]')).to_have_text("")
    sheet.refresh_from_db()
    assert (sheet.status, sheet.scores, sheet.comment) == (
        ScoreSheet.Status.DRAFT,
        {"innovation": "8.00", "benefit": "10.00"},
        "效益明確，可行性待補充。",
    )

    page.reload()
    page.wait_for_selector("[data-score-page][data-bound]", state="attached")
    item = page.locator(f'section[data-sheet="{sheet.pk}"]')
    assert float(item.get_by_label("創新性").input_value()) == 8
    assert float(item.get_by_label("效益").input_value()) == 10
    assert item.get_by_label("可行性").input_value() == ""
    assert item.get_by_label("評語").input_value() == "效益明確，可行性待補充。"
    expect(item.locator("output[data-total]")).to_have_text("47.00（尚有項目未評分）")

    # Fixed and submitted: the page's counters and the sheet's state follow without a reload.
    counts = page.locator("[data-counts]")
    expect(counts).to_have_text("共 2 件，已送出 0 件，迴避 0 件。")
    item.get_by_label("可行性").fill("24")
    expect(item.locator("output[data-total]")).to_have_text("71.00")
    expect(item.locator("[data-save-status]")).to_have_text("已暫存")
    page.once("dialog", lambda dialog: dialog.accept())
    item.get_by_role("button", name="送出評分").click()
    expect(item.locator("[data-state]")).to_have_text("已送出")
    expect(counts).to_have_text("共 2 件，已送出 1 件，迴避 0 件。")
    assert item.get_attribute("data-status") == "submitted"
    other = page.locator(f'section[data-sheet="{setup.sheet(setup.reviewer, 1).pk}"]')
    page.once("dialog", lambda dialog: dialog.accept("曾擔任該案顧問"))
    other.get_by_role("button", name="申請迴避").click()
    expect(counts).to_have_text("共 2 件，已送出 1 件，迴避 1 件。")


def test_declaring_a_conflict_turns_the_item_into_a_recusal(page, live_server, make_user):
    setup = build_panel(make_user)
    sheet = setup.sheet(setup.reviewer, 1)
    sign_in_to(page, live_server, reverse("reviews:score", args=[setup.panel.pk]), setup.reviewer.username)
    item = page.locator(f'section[data-sheet="{sheet.pk}"]')
    page.once("dialog", lambda dialog: dialog.accept("曾擔任該案顧問"))
    item.get_by_role("button", name="申請迴避").click()
    expect(item.locator("[data-state]")).to_have_text("迴避：曾擔任該案顧問")
    expect(item.locator("input")).to_have_count(0)
    sheet.refresh_from_db()
    assert (sheet.status, sheet.recusal_reason) == (ScoreSheet.Status.RECUSED, "曾擔任該案顧問")


def test_the_score_page_fits_a_tablet_without_horizontal_scroll(page, live_server, make_user):
    setup = build_panel(make_user, items=3)
    page.set_viewport_size({"width": 768, "height": 1024})
    sign_in_to(page, live_server, reverse("reviews:score", args=[setup.panel.pk]), setup.reviewer.username)
    expect(page.locator("section[data-sheet]")).to_have_count(3)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    first = page.locator("section[data-sheet]").first
    box = first.get_by_label("可行性").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 768


def test_an_officer_sets_up_a_panel_from_the_scoring_menu(page, live_server, make_user):
    from accounts.tests.factories import AgencyFactory
    from reviews import services
    from tests.browser_steps import click_and_see
    from tests.browser_steps import sign_in_to as sign_in

    setup = build_panel(make_user, reviewers=2, start=False, min_members=3)
    architect = make_user("reviewer", display_name="林建築師", agency=AgencyFactory(name="建築師公會"))
    make_user("reviewer", display_name="黃教授", agency=None)
    make_user("agency_clerk", display_name="王承辦")  # not a reviewer: not offered
    leaving = setup.members[1]

    sign_in(page, live_server, "/", setup.officer.username)
    page.get_by_role("link", name="評分").first.click()
    page.wait_for_url(f"**{reverse('reviews:panels')}")
    row = page.get_by_role("row").filter(has_text=setup.panel.title)
    expect(row).to_contain_text("籌組中")
    expect(row).to_contain_text("2／3 人（備位 0 人）")
    row.get_by_role("link", name=setup.panel.title).click()
    page.wait_for_url(f"**{reverse('reviews:panel', args=[setup.panel.pk])}")
    expect(page.locator("[data-problems]")).to_contain_text("委員人數 2 人，少於規定的 3 人。")

    # A refused addition (a reserve cannot chair) keeps what was chosen.
    chooser = page.get_by_label("評審委員")
    expect(chooser.locator("option", has_text="王承辦")).to_have_count(0)
    chooser.select_option(label="林建築師（建築師公會）")
    page.get_by_label("內部委員").check()
    page.get_by_label("擔任召集人").check()
    page.get_by_label("備位委員").check()
    page.get_by_role("button", name="加入委員").click()
    expect(page.get_by_text("備位委員不能擔任召集人。")).to_be_visible()
    expect(page.get_by_label("評審委員")).to_have_value(str(architect.pk))
    expect(page.get_by_label("內部委員")).to_be_checked()
    expect(page.get_by_label("擔任召集人")).to_be_checked()

    page.get_by_label("備位委員").uncheck()
    click_and_see(page, "加入委員", "已加入委員：林建築師。")
    expect(page.get_by_role("status").get_by_text("已加入委員：林建築師。")).to_have_count(1)
    members = page.locator("[data-members]")
    expect(members.get_by_role("row").filter(has_text="林建築師")).to_contain_text("召集人")
    expect(page.locator("[data-problems]")).to_have_count(0)

    page.get_by_label("評審委員").select_option(label="黃教授")
    page.get_by_label("外部委員").check()
    page.get_by_label("備位委員").check()
    click_and_see(page, "加入委員", "已加入委員：黃教授。")
    expect(members.get_by_role("row").filter(has_text="黃教授")).to_contain_text("備位委員")

    page.get_by_role("button", name=f"移除 {leaving.user}").click()
    expect(page.get_by_role("status").get_by_text("已移除委員。")).to_be_visible()
    expect(members.get_by_role("row").filter(has_text=str(leaving.user))).to_have_count(0)
    expect(page.locator("#history-heading + table")).to_contain_text(f"移除委員：{leaving.user}")

    # Scoring starts (the process's business); a recusal declared by a member appears here with who declared it.
    extra = make_user("reviewer", display_name="許委員")
    services.panel_member_add(panel_id=setup.panel.pk, actor=setup.officer, user_id=extra.pk, kind="external")
    services.panel_start_scoring(panel_id=setup.panel.pk, actor=setup.officer)
    sheet = ScoreSheet.objects.get(member__user=extra, item=setup.items[0])
    services.sheet_declare_conflict(sheet_id=sheet.pk, actor=extra, reason="曾任該案顧問")
    page.reload()
    recusal = page.locator("[data-recusals]").get_by_role("row").filter(has_text="曾任該案顧問")
    expect(recusal).to_contain_text("許委員")
    expect(recusal).to_contain_text(setup.items[0].title)
    expect(page.get_by_role("button", name="移除")).to_have_count(0)
    expect(page.get_by_label("備位委員")).to_be_checked()
    expect(page.get_by_label("備位委員")).to_be_disabled()


def test_reviewers_find_their_panels_under_the_scoring_menu(page, live_server, make_user):
    from tests.browser_steps import sign_in_to as sign_in

    setup = build_panel(make_user)
    sign_in(page, live_server, "/", setup.reviewer.username)
    page.get_by_role("link", name="評分").first.click()
    page.wait_for_url(f"**{reverse('reviews:my-panels')}")
    page.get_by_role("link", name=setup.panel.title).click()
    page.wait_for_selector("[data-score-page][data-bound]", state="attached")
    response = page.goto(f"{live_server.url}{reverse('reviews:panel', args=[setup.panel.pk])}")
    assert response.status == 403
