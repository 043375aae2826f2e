"""The appraisal rounds in the back office: RDEC's list (constant queries), a new round with its weights, grade bands
and ROC deadlines (refusals in Chinese beside the boxes, what was typed kept), the 年終考核 menu entry, the tabs
between the plan-control pages, and the denials."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import Role
from plan_control.models import Appraisal, AppraisalRound, ControlledPlan
from plan_control.tests.factories import LINEAR, agency_people

pytestmark = pytest.mark.django_db

NEW = "/plan-control/appraisal/new/"
ROUNDS = "/plan-control/appraisal/"


def good_form(**changes) -> dict:
    data = {
        "year": "115",
        "weight_progress": "40",
        "weight_timeliness": "20",
        "weight_completion": "25",
        "weight_budget": "15",
        "min_excellent": "92.5",
        "quota_excellent": "10",
        "min_a": "80",
        "quota_a": "",
        "min_b": "70",
        "quota_b": "",
        "self_assessment_due": "116/02/15",
        "review_due": "民國116年3月16日",
    }
    data.update(changes)
    return data


@pytest.fixture
def officer(make_user):
    return make_user(Role.RDEC_OFFICER, username="officer")


def html_of(response) -> str:
    return response.content.decode()


def test_the_urls():
    assert reverse("plan_control:appraisal-rounds") == ROUNDS
    assert reverse("plan_control:appraisal-round-new") == NEW


def test_an_officer_creates_a_round_with_its_weights_bands_and_roc_deadlines(client, officer):
    client.force_login(officer)
    page = client.get(NEW)
    assert page.status_code == 200
    assert "建立年終考核" in html_of(page) and 'name="self_assessment_due"' in html_of(page)

    response = client.post(NEW, good_form())
    round_ = AppraisalRound.objects.get(year=115)
    assert response.status_code == 302 and response["Location"] == reverse(
        "plan_control:appraisal-round", args=[round_.pk]
    )
    assert round_.status == AppraisalRound.Status.OPEN
    assert round_.weights == {"progress": 40, "timeliness": 20, "completion": 25, "budget": 15}
    assert round_.grade_bands == [
        {"grade": "excellent", "min_score": 92.5, "quota_percent": 10},
        {"grade": "a", "min_score": 80, "quota_percent": None},
        {"grade": "b", "min_score": 70, "quota_percent": None},
        {"grade": "c", "min_score": 0, "quota_percent": None},
    ]
    assert (round_.self_assessment_due, round_.review_due) == (datetime.date(2027, 2, 15), datetime.date(2027, 3, 16))

    page = client.get(response["Location"])
    html = html_of(page)
    assert "已建立115年度年終考核。" in html and "92.5" in html
    # The new round is on the list, with its deadlines in ROC dates.
    listing = html_of(client.get(ROUNDS))
    assert 'data-round="115"' in listing and "116年2月15日" in listing


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"weight_budget": "10"}, "weight_budget", "四項權重合計須為 100，目前合計 95"),
        ({"min_a": "95"}, "min_a", "甲等最低分數須低於優等（92.5 分）"),
        ({"min_b": "85"}, "min_b", "乙等最低分數須低於甲等（80 分）"),
        ({"quota_excellent": "120"}, "quota_excellent", "100"),
        ({"self_assessment_due": "116/02/30"}, "self_assessment_due", "2月沒有30日"),
        ({"review_due": "昨天"}, "review_due", "日期格式不正確，請以民國年輸入"),
        ({"review_due": "116/02/01"}, "review_due", "複核期限不可早於機關自評期限"),
        ({"year": ""}, "year", "此欄位為必填"),
    ],
)
def test_refusals_are_in_chinese_beside_the_box_and_keep_what_was_typed(client, officer, changes, field, words):
    client.force_login(officer)
    response = client.post(NEW, good_form(**changes))
    assert response.status_code == 200
    html = html_of(response)
    assert f'data-error="{field}"' in html
    assert words in html
    assert 'value="92.5"' in html  # a box that was fine keeps what was typed
    for value in changes.values():
        if value:
            assert f'value="{value}"' in html
    assert not AppraisalRound.objects.exists()


def test_a_second_round_for_the_same_year_is_refused_on_the_year(client, officer):
    AppraisalRound.objects.create(year=115)
    client.force_login(officer)
    response = client.post(NEW, good_form())
    html = html_of(response)
    assert response.status_code == 200 and 'data-error="year"' in html and "已經存在" in html
    assert AppraisalRound.objects.count() == 1


def test_the_new_round_form_suggests_the_year_after_the_latest(client, officer):
    AppraisalRound.objects.create(year=113)
    client.force_login(officer)
    assert 'name="year" value="114"' in html_of(client.get(NEW))


def test_the_list_takes_the_same_queries_for_one_round_or_many(client, officer, django_assert_num_queries):
    tr, _clerk, _head = agency_people("TR")
    plan = ControlledPlan.objects.create(
        year=110, code="P1", agency=tr, title="計畫", budget=1, planned_progress=LINEAR,
        status=ControlledPlan.Status.IN_EXECUTION,
    )  # fmt: skip
    first = AppraisalRound.objects.create(year=110)
    Appraisal.objects.create(round=first, plan=plan, agency=tr, components={}, suggested_score=Decimal(80))
    client.force_login(officer)
    client.get(ROUNDS)  # warm the session and the user's roles
    with CaptureQueriesContext(connection) as one:
        assert client.get(ROUNDS).status_code == 200
    assert len(one.captured_queries) <= 8  # session, user, roles, the list (one query), the menu's unread count
    for year in range(100, 110):
        AppraisalRound.objects.create(year=year)
    with django_assert_num_queries(len(one.captured_queries)):
        html = html_of(client.get(ROUNDS))
    assert html.count("data-round=") == 11


def test_agencies_may_not_see_or_create_rounds(client, make_user):
    _tr, clerk, head = agency_people("TR")
    for user in (clerk, head):
        client.force_login(user)
        assert client.get(ROUNDS).status_code == 403
        assert client.get(NEW).status_code == 403
        assert client.post(NEW, good_form()).status_code == 403
    assert not AppraisalRound.objects.exists()


def test_a_supervisor_reads_the_rounds_but_only_an_officer_creates_one(client, make_user):
    supervisor = make_user(Role.RDEC_SUPERVISOR, username="chief")
    client.force_login(supervisor)
    html = html_of(client.get(ROUNDS))
    assert "年終考核作業" in html and NEW not in html
    assert client.get(NEW).status_code == 403


def test_the_menu_entry_leads_rdec_to_the_rounds_and_an_agency_to_its_appraisals(client, officer):
    client.force_login(officer)
    response = client.get("/appraisal/")
    assert response.status_code == 302 and response["Location"] == ROUNDS
    home = html_of(client.get("/"))
    assert "年終考核" in home and 'href="/appraisal/"' in home
    _tr, clerk, _head = agency_people("TR")
    client.force_login(clerk)
    assert client.get("/appraisal/")["Location"] == reverse("plan_control:appraisals")


def test_every_plan_control_page_links_to_the_others(client, officer):
    client.force_login(officer)
    html = html_of(client.get(reverse("plan_control:board")))
    for name in ("board", "plans", "reports", "appraisal-rounds", "appraisals", "agency-summaries", "plans-import"):
        assert f'href="{reverse(f"plan_control:{name}")}"' in html, name
    assert 'aria-current="page">月管制看板' in html
    _tr, clerk, _head = agency_people("TR")
    client.force_login(clerk)
    html = html_of(client.get(reverse("plan_control:appraisals")))
    assert f'href="{reverse("plan_control:reports")}"' in html
    assert f'href="{ROUNDS}"' not in html and reverse("plan_control:plans-import") not in html


def test_ending_self_assessment_asks_first_counting_the_plans_not_assessed(client, officer):
    tr, _clerk, _head = agency_people("TR")
    round_ = AppraisalRound.objects.create(
        year=115, status=AppraisalRound.Status.SELF_ASSESSMENT, review_due=datetime.date(2027, 3, 16)
    )
    for code, status in (("P1", Appraisal.Status.SELF_ASSESSED), ("P2", Appraisal.Status.SUGGESTED)):
        plan = ControlledPlan.objects.create(
            year=115, code=code, agency=tr, title=code, budget=1, planned_progress=LINEAR,
            status=ControlledPlan.Status.IN_EXECUTION,
        )  # fmt: skip
        Appraisal.objects.create(
            round=round_, plan=plan, agency=tr, components={}, suggested_score=Decimal(80), status=status
        )
    client.force_login(officer)
    page = html_of(client.get(reverse("plan_control:appraisal-round", args=[round_.pk])))
    assert '<dd data-due="review">民國116年3月16日</dd>' in page and "進度 40、填報時效 20" in page
    action = reverse("plan_control:appraisal-round-action", args=[round_.pk, "open-review"])
    question = html_of(client.post(action))
    assert "確定結束自評，開始複核" in question
    assert "1 個機關的 2 項計畫進入研考會複核，其中 1 項尚未自評" in question and "無法復原" in question
    assert AppraisalRound.objects.get(pk=round_.pk).status == AppraisalRound.Status.SELF_ASSESSMENT
    client.post(action, {"confirmed": "1"})
    assert AppraisalRound.objects.get(pk=round_.pk).status == AppraisalRound.Status.REVIEW
