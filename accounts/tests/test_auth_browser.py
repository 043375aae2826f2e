"""Item 5 of issue 12 in Chromium: too many wrong passwords on the sign-in form lead to a page in Traditional
Chinese that says to wait, and the right password is refused until then."""

import pytest

from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def submit(page, url, username, password):
    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_response(lambda r: r.request.method == "POST" and "/accounts/login/" in r.url) as response:
        page.locator("button[type=submit], input[type=submit]").first.click()
    return response.value


def test_the_form_locks_out_with_a_chinese_page(page, live_server, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    settings.LOGIN_COOLOFF_SECONDS = 300
    UserFactory(username="kh.clerk")
    assert submit(page, live_server.url, "kh.clerk", "wrong-password").status == 422  # the form, with its error
    page.get_by_text("輸入正確的 使用者名稱 和密碼").wait_for()
    locked = submit(page, live_server.url, "kh.clerk", "wrong-password")
    assert locked.status == 429
    assert locked.headers["retry-after"] == "300"
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text() == "登入失敗次數過多，已暫時鎖定。請於 5 分鐘後再試。"
    assert "暫時無法登入" in page.locator("body").inner_text()

    page.get_by_role("link", name="回登入頁").click()
    page.wait_for_url("**/accounts/login/")
    assert submit(page, live_server.url, "kh.clerk", PASSWORD).status == 429
    assert "/accounts/login/" in page.url
