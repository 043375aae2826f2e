"""Steps the browser tests share: signing in as someone, and pressing a button and reading its message."""

from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD


def sign_in_to(page, live_server, path: str, username: str, password: str = PASSWORD) -> None:
    """Sign out whoever was signed in, then sign in as `username` and land on `path`."""
    page.context.clear_cookies()
    page.goto(f"{live_server.url}{path}")
    page.wait_for_url("**/accounts/login/**")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("button[type=submit], input[type=submit]").first.click()
    page.wait_for_url(f"{live_server.url}{path}")


def click_and_see(page, button: str, message: str) -> None:
    """Press the button named `button` and see `message` in the page's status messages."""
    page.get_by_role("button", name=button, exact=True).click()
    expect(page.get_by_role("status").get_by_text(message)).to_be_visible()
