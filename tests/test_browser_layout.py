"""Phone width: every main page fits a 390 px wide phone and a 1280 px laptop without scrolling sideways.

The demo world (`seed_demo`: the finished 107 rounds and this year's) is loaded once for the module, behind one
server; each role signs in once and reuses its page. For each page and width: a screenshot in var/screenshots/
(layout-<role>-<page>-<width>.png) and `document.documentElement.scrollWidth <= window.innerWidth`. A wide table
may scroll inside its own box; the page itself must not.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from django.core.management import call_command
from pytest_django.live_server_helper import LiveServer

from accounts.demo import DEMO_PASSWORD
from tests.browser_steps import sign_in_to

# Not transactional: the demo is committed once by `demo_site`; each test only reads it through the server.
pytestmark = pytest.mark.django_db

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
USERNAMES = {"officer": "rdec.officer", "clerk": "pwb.clerk", "reviewer": "reviewer.lee"}


@dataclass
class DemoSite:
    url: str
    paths: dict[str, str]


def _paths() -> dict[str, str]:
    """The demo's objects each page needs, looked up once."""
    from plan_control.models import BudgetCycle, BudgetRequest, ProgressReport
    from proposals.models import Proposal, ProposalRound
    from reviews.models import ScoreSheet
    from workflow_site.roc_calendar.calendar import today

    round_107 = ProposalRound.objects.get(year=107)
    proposal = Proposal.objects.filter(round=round_107, agency__code="PWB", grade__isnull=False).order_by("rank")[0]
    report = ProgressReport.objects.filter(plan__agency__code="PWB", year=today().year - 1911).order_by("-month")[0]
    # The 107 panel's sheets (scored, read-only now): no demo panel is scoring today.
    panel = ScoreSheet.objects.filter(member__user__username="reviewer.lee").order_by("panel_id")[0].panel_id
    cycle = BudgetCycle.objects.get(fiscal_year=108)
    request = BudgetRequest.objects.filter(cycle=cycle).order_by("pk")[0]
    return {
        "home": "/",
        "proposals": "/proposals/",
        "proposal": f"/proposals/{proposal.pk}/",
        "round": f"/proposals/rounds/{round_107.pk}/",
        "my-panels": "/reviews/",
        "panels": "/reviews/panels/",
        "score": f"/reviews/panels/{panel}/score/",
        "board": "/plan-control/board/?year=107&month=12",
        "reports": "/plan-control/reports/",
        "report": f"/plan-control/reports/{report.pk}/",
        "summaries": "/plan-control/summaries/?year=107",
        "budget-cycles": "/plan-control/budget/cycles/",
        "budget-cycle": f"/plan-control/budget/cycles/{cycle.pk}/",
        "budget-requests": "/plan-control/budget/requests/",
        "budget-request": f"/plan-control/budget/requests/{request.pk}/",
        "theses": "/theses/",
        "inbox": "/notifications/",
        "directory": "/directory/",
        "calendar": "/calendar/?year=107",
    }


# What each role opens in a working day: the pages of the brief that the role may see.
PAGES = {
    "officer": [
        "home",
        "proposals",
        "proposal",
        "round",
        "panels",
        "board",
        "reports",
        "report",
        "summaries",
        "budget-cycles",
        "budget-cycle",
        "budget-requests",
        "budget-request",
        "theses",
        "inbox",
        "directory",
        "calendar",
    ],
    "clerk": ["home", "proposals", "proposal", "reports", "report", "budget-requests", "inbox", "directory"],
    "reviewer": ["home", "my-panels", "score", "inbox", "directory"],
}
CASES = [(role, name) for role, names in PAGES.items() for name in names]


@pytest.fixture(scope="module")
def demo_site(browser, django_db_setup, django_db_blocker):
    """The demo loaded once, committed, behind one live server; the tables emptied afterwards, as a transactional
    test leaves them."""
    with django_db_blocker.unblock():
        call_command("seed_demo", stdout=io.StringIO())
        server = LiveServer("localhost")
        server._live_server_modified_settings.enable()
        try:
            yield DemoSite(url=server.url, paths=_paths())
        finally:
            server._live_server_modified_settings.disable()
            server.stop()
            call_command("flush", verbosity=0, interactive=False)


@pytest.fixture(scope="module")
def signed_in(browser, demo_site):
    """One browser context and page per role, signed in on first use."""
    pages = {}

    def page_for(role: str):
        if role not in pages:
            context = browser.new_context(locale="zh-TW", viewport=LAPTOP)
            page = context.new_page()
            sign_in_to(page, demo_site, "/", USERNAMES[role], DEMO_PASSWORD)
            pages[role] = page
        return pages[role]

    yield page_for
    for page in pages.values():
        page.context.close()


def _overflow(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


@pytest.mark.parametrize(("role", "name"), CASES, ids=[f"{role}-{name}" for role, name in CASES])
def test_the_page_fits_a_phone_and_a_laptop(signed_in, demo_site, screenshot_dir, role, name):
    page = signed_in(role)
    page.set_viewport_size(PHONE)
    response = page.goto(f"{demo_site.url}{demo_site.paths[name]}")
    assert response.status == 200, f"{name}: {response.status}"
    too_wide = []
    for viewport in (PHONE, LAPTOP):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(screenshot_dir / f"layout-{role}-{name}-{viewport['width']}.png"))
        scroll_width, inner_width = _overflow(page)
        if scroll_width > inner_width:
            too_wide.append(f"{viewport['width']} px wide: the page is {scroll_width} px")
    assert not too_wide, f"{role} {name}: " + "; ".join(too_wide)
