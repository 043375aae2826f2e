"""The year's plans in the back office: the list (who sees what, filters, constant queries), starting every imported
plan at once after a confirmation, and one plan's page (its months, its reports, start / complete / terminate, the
last two asking first), with the denials."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import Role
from plan_control.models import ControlledPlan
from plan_control.monitoring import services
from plan_control.tests.factories import YEAR, agency_people, csv_upload, plan_dict, sheet_rows
from workflow_site.models import TransitionLog

pytestmark = pytest.mark.django_db

PLANS = "/plan-control/plans/"
START = f"/plan-control/plans/start/?year={YEAR}"


@pytest.fixture
def world(make_user):
    officer = make_user(Role.RDEC_OFFICER, username="officer")
    pwb, clerk, head = agency_people("PWB")
    wrb, wrb_clerk, _ = agency_people("WRB")
    rows = [plan_dict("115-A", "PWB", title="鳳山溪整治"), plan_dict("115-B", "PWB"), plan_dict("115-C", "WRB")]
    services.plans_import(actor=officer, year=YEAR, upload=csv_upload(sheet_rows(rows)))
    return {"officer": officer, "clerk": clerk, "head": head, "wrb_clerk": wrb_clerk}


def html_of(response) -> str:
    return response.content.decode()


def plan(code: str) -> ControlledPlan:
    return ControlledPlan.objects.get(code=code)


def test_the_urls():
    assert reverse("plan_control:plans") == PLANS
    assert reverse("plan_control:plan", args=[7]) == "/plan-control/plans/7/"
    assert reverse("plan_control:plan-action", args=[7, "terminate"]) == "/plan-control/plans/7/actions/terminate/"


def test_an_officer_starts_every_imported_plan_after_being_told_how_many(client, world):
    client.force_login(world["officer"])
    html = html_of(client.get(PLANS, {"year": YEAR}))
    assert 'data-registered="3"' in html and "尚有 3 項計畫（2 個機關）已列管、尚未開始執行" in html
    question = client.post(START)
    assert question.status_code == 200
    text = html_of(question)
    assert "115年度尚未開始的 3 項列管計畫（2 個機關）將同時開始執行" in text and "確定全部開始執行" in text
    assert set(ControlledPlan.objects.values_list("status", flat=True)) == {"registered"}
    response = client.post(START, {"confirmed": "1"})
    assert response.status_code == 302 and response["Location"] == f"{PLANS}?year={YEAR}"
    assert set(ControlledPlan.objects.values_list("status", flat=True)) == {"in_execution"}
    assert TransitionLog.objects.filter(transition="start").count() == 3
    html = html_of(client.get(response["Location"]))
    assert "已開始執行 3 項列管計畫。" in html and "data-registered" not in html
    # Nothing left to start: no question, a message.
    assert "沒有尚未開始的列管計畫" in html_of(client.post(START, follow=True))


def test_the_list_shows_agencies_their_own_and_filters(client, world):
    client.force_login(world["clerk"])
    html = html_of(client.get(PLANS, {"year": YEAR}))
    assert 'data-plan="115-A"' in html and 'data-plan="115-B"' in html and 'data-plan="115-C"' not in html
    assert "本機關115年度列管計畫" in html and "全部開始執行" not in html
    client.force_login(world["officer"])
    html = html_of(client.get(PLANS, {"year": YEAR, "agency": plan("115-C").agency_id}))
    assert 'data-plan="115-C"' in html and 'data-plan="115-A"' not in html
    services.plan_start(plan_id=plan("115-A").pk, actor=world["officer"])
    html = html_of(client.get(PLANS, {"year": YEAR, "status": "in_execution"}))
    assert 'data-plan="115-A"' in html and 'data-plan="115-B"' not in html
    assert client.get(PLANS, {"year": "abc"}).status_code == 400


def test_the_list_takes_the_same_queries_for_3_plans_or_60(client, world):
    client.force_login(world["officer"])
    client.get(PLANS, {"year": YEAR})
    with CaptureQueriesContext(connection) as few:
        client.get(PLANS, {"year": YEAR})
    rows = [plan_dict(f"115-X{i:02d}", "WRB") for i in range(57)]
    services.plans_import(actor=world["officer"], year=YEAR, upload=csv_upload(sheet_rows(rows)))
    with CaptureQueriesContext(connection) as many:
        html = html_of(client.get(PLANS, {"year": YEAR}))
    assert html.count("data-plan=") == 50  # a page
    assert len(many.captured_queries) == len(few.captured_queries)


def test_terminating_a_plan_asks_first_and_needs_a_reason(client, world):
    services.plans_start_registered(year=YEAR, actor=world["officer"])
    services.reports_open_for_month(year=YEAR, month=1)
    target = plan("115-A")
    page = f"/plan-control/plans/{target.pk}/"
    client.force_login(world["officer"])
    html = html_of(client.get(page))
    assert 'data-action="terminate"' in html and 'data-action="complete"' in html and "<dd data-budget>100萬元" in html
    action = f"{page}actions/terminate/"
    question = html_of(client.post(action, {"reason": "用地無法取得"}))
    assert "確定終止計畫" in question and "尚未填報或退回修正中的 1 份月報不再催報" in question
    assert "主辦機關（PWB局）" in question and "無法復原" in question and ">用地無法取得</textarea>" in question
    assert plan("115-A").status == "in_execution"
    response = client.post(action, {"reason": "", "confirmed": "1"}, follow=True)
    assert "請說明終止理由" in html_of(response) and plan("115-A").status == "in_execution"
    client.post(action, {"reason": "用地無法取得", "confirmed": "1"})
    assert plan("115-A").status == "terminated"
    assert TransitionLog.objects.get(transition="terminate").reason == "用地無法取得"
    html = html_of(client.get(page))
    assert 'data-action="' not in html and "用地無法取得" in html


def test_completing_a_plan_asks_first(client, world):
    services.plans_start_registered(year=YEAR, actor=world["officer"])
    target = plan("115-B")
    client.force_login(world["officer"])
    action = f"/plan-control/plans/{target.pk}/actions/complete/"
    assert "確定計畫完成" in html_of(client.post(action))
    client.post(action, {"confirmed": "1"})
    assert plan("115-B").status == "completed"


def test_agencies_read_their_plan_but_may_not_run_it(client, world):
    services.plans_start_registered(year=YEAR, actor=world["officer"])
    mine, theirs = plan("115-A"), plan("115-C")
    client.force_login(world["clerk"])
    html = html_of(client.get(f"/plan-control/plans/{mine.pk}/"))
    assert "鳳山溪整治" in html and 'data-action="' not in html and 'data-month="12"' in html
    assert client.get(f"/plan-control/plans/{theirs.pk}/").status_code == 404
    # Posting RDEC's button by hand: refused at once (no question describing what it would do).
    response = client.post(f"/plan-control/plans/{mine.pk}/actions/terminate/", {"reason": "x"})
    assert response.status_code == 403
    assert client.post(f"/plan-control/plans/{theirs.pk}/actions/terminate/", {"reason": "x"}).status_code == 404
    assert client.post(START).status_code == 403
    assert plan("115-A").status == "in_execution"


def test_a_supervisor_may_not_start_plans(client, world, make_user):
    client.force_login(make_user(Role.RDEC_SUPERVISOR, username="chief"))
    assert "全部開始執行" not in html_of(client.get(PLANS, {"year": YEAR}))
    assert client.post(START, {"confirmed": "1"}).status_code == 403
    assert ControlledPlan.objects.filter(status="registered").count() == 3
