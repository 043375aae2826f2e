"""A person signs in with Chromium and lands on 我的待辦, in Traditional Chinese."""

import datetime

import pytest

from accounts.roles import Role
from accounts.tests.factories import PASSWORD, DelegationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/")
    page.wait_for_url("**/accounts/login/**")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("button[type=submit], input[type=submit]").first.click()
    page.wait_for_url(f"{live_server.url}/")


def test_sign_in_and_see_the_home_page_in_traditional_chinese(page, live_server):
    head = UserFactory(username="pwb.head", display_name="工務局局長 張國華", roles=[Role.AGENCY_HEAD])
    DelegationFactory(
        user=UserFactory(display_name="秘書 林小姐", agency=head.agency),
        substitute=head,
        starts=datetime.date(2000, 1, 1),
        ends=datetime.date(2100, 12, 31),
    )
    sign_in(page, live_server, "pwb.head")

    assert page.locator("html").get_attribute("lang") == "zh-hant"
    assert page.get_by_role("heading", name="我的待辦").is_visible()
    body = page.locator("main").inner_text()
    assert "工務局局長 張國華，您好。" in body
    assert "您目前代理：秘書 林小姐" in body
    # The secretary's open item (the test settings' deadline source) waits for the head standing in.
    assert "職務代理結束（公假）（代理 秘書 林小姐）" in body
    assert "民國89年1月1日～民國189年12月31日" in body


def test_home_page_says_when_nothing_waits(page, live_server):
    UserFactory(username="sb.clerk", roles=[Role.AGENCY_CLERK])
    sign_in(page, live_server, "sb.clerk")
    assert "目前沒有待辦事項。" in page.locator("main").inner_text()


def test_wrong_password_stays_on_the_login_page_with_a_chinese_message(page, live_server):
    UserFactory(username="tb.clerk")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "tb.clerk")
    page.fill("input[name=password]", "wrong-password")
    page.locator("button[type=submit], input[type=submit]").first.click()
    error = page.get_by_text("輸入正確的 使用者名稱 和密碼")
    error.wait_for()
    assert "/accounts/login/" in page.url
    assert "研考會工作流程系統" in page.locator("body").inner_text()
