"""Under the Content-Security-Policy (#12 item 7) the back office, a viewflow list page and Swagger UI still work in
Chromium, and the browser reports no violation on any of them."""

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from accounts.tests.factories import AgencyFactory, UserFactory
from tests.test_browser_home import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

# Runs in every document before its own scripts: collects what the browser refused under the policy.
LISTEN = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def violations(page, console: list[str]) -> list[str]:
    return page.evaluate("window.__csp") + [text for text in console if "Content Security Policy" in text]


def test_back_office_list_page_and_swagger_work_under_the_policy(page, live_server):
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(LISTEN)
    AgencyFactory(code="PWB", name="工務局")
    UserFactory(username="csp.officer", roles=[Role.RDEC_OFFICER])
    sign_in(page, live_server, "csp.officer")

    response = page.goto(f"{live_server.url}/")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    expect(page.get_by_role("heading", name="我的待辦")).to_be_visible()
    expect(page.get_by_role("link", name="機關名錄").first).to_be_visible()  # the menu rendered
    page.wait_for_load_state("networkidle")
    assert violations(page, console) == []

    page.get_by_role("link", name="機關名錄").first.click()
    expect(page.get_by_text("工務局").first).to_be_visible()  # the viewflow list, from its own request
    page.wait_for_load_state("networkidle")
    assert violations(page, console) == []

    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".opblock").first).to_be_visible(timeout=15000)  # Swagger drew the operations
    # Swagger draws only the operations near the viewport: scroll down until /api/v1/me/ is drawn.
    me = page.locator(".opblock-summary-path", has_text="/api/v1/me/")
    for _ in range(200):
        if me.count():
            break
        page.mouse.wheel(0, 600)
        page.wait_for_timeout(50)
    expect(me.first).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert violations(page, console) == []
