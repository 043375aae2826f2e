"""RDEC sets up and runs a round without the admin: the rounds list, 新增提案年度, its settings page, the questions
irreversible buttons ask first, reopening submissions, and what the pages say comes next."""

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.roles import Role
from proposals import services
from proposals.errors import Code
from proposals.models import Proposal, ProposalRound
from proposals.tests.factories import RUBRIC, agency_people, make_round, sent_proposal
from workflow_site.errors import PermissionDenied, TransitionNotAllowed
from workflow_site.models import TransitionLog

pytestmark = pytest.mark.django_db

CONFIRMED = {"confirmed": "1"}
# Before the factories' submission deadline (115/12/31), in Taipei.
BEFORE_DEADLINE = datetime.datetime(2026, 12, 1, 2, 0, tzinfo=datetime.UTC)
AFTER_DEADLINE = datetime.datetime(2027, 1, 4, 2, 0, tzinfo=datetime.UTC)


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def officer(make_user):
    return make_user(Role.RDEC_OFFICER)


def round_form(**overrides) -> dict:
    data = {
        "year": "116",
        "title": "",
        "submission_deadline": "116/05/31",
        "scoring_deadline": "116/07/31",
        "response_days": "20",
        "rubric_source": "",
        "aggregation": "mean",
        "min_members": "3",
        "min_external": "1",
        "forward_grades": ["excellent", "a"],
        "quota_excellent": "2",
        "quota_a": "5",
        "min_score_a": "70",
        "criteria-TOTAL_FORMS": "3",
        "criteria-INITIAL_FORMS": "0",
        "criteria-MIN_NUM_FORMS": "0",
        "criteria-MAX_NUM_FORMS": "20",
        "criteria-0-name": "創新性",
        "criteria-0-weight": "40",
        "criteria-0-max_score": "10",
        "criteria-1-name": "可行性",
        "criteria-1-weight": "60",
        "criteria-1-max_score": "20",
    }
    data.update(overrides)
    return data


# ---------------------------------------------------------------- 新增提案年度 and its settings


def test_an_officer_creates_a_round_in_roc_dates_with_its_rubric_quotas_and_panel_rule(client, officer):
    client.force_login(officer)
    page = client.get(reverse("proposals:round-create"))
    assert page.status_code == 200
    assert "新增提案年度" in text(page)

    response = client.post(reverse("proposals:round-create"), round_form(), follow=True)
    round_ = ProposalRound.objects.get(year=116)
    assert response.redirect_chain[-1][0] == reverse("proposals:round", args=[round_.pk])
    assert text(response).count("已新增「116年度市政創新提案」") == 1  # one message, not two
    assert round_.title == "116年度市政創新提案"
    assert (round_.submission_deadline, round_.scoring_deadline) == (
        datetime.date(2027, 5, 31),
        datetime.date(2027, 7, 31),
    )
    assert round_.status == ProposalRound.Status.PLANNING
    assert round_.grade_quotas == [{"grade": "excellent", "count": 2}, {"grade": "a", "count": 5, "min_score": "70"}]
    assert round_.forward_grades == ["excellent", "a"]
    panel = round_.panel
    assert (panel.min_members, panel.min_external, panel.scoring_deadline) == (3, 1, datetime.date(2027, 7, 31))
    assert [(c.name, int(c.weight)) for c in panel.rubric.criteria.all()] == [("創新性", 40), ("可行性", 60)]
    assert [(b.grade, b.quota_count) for b in panel.bands.all()] == [("excellent", 2), ("a", 5)]
    assert "民國116年5月31日" in text(response)


def test_a_refused_round_keeps_what_was_typed_and_says_why_in_chinese(client, officer):
    client.force_login(officer)
    data = round_form(**{"scoring_deadline": "116/04/01", "criteria-1-weight": "50", "title": "自訂名稱"})
    response = client.post(reverse("proposals:round-create"), data)
    assert response.status_code == 200
    body = text(response)
    assert "評分截止日不得早於提案截止日。" in body
    assert 'value="116/04/01"' in body and 'value="自訂名稱"' in body and 'value="創新性"' in body
    assert not ProposalRound.objects.exists()

    response = client.post(reverse("proposals:round-create"), round_form(**{"criteria-1-weight": "50"}))
    assert "各評分項目權重合計須為 100%，目前為 90%。" in text(response)
    response = client.post(reverse("proposals:round-create"), round_form(submission_deadline="116/02/30"))
    assert "民國116年2月沒有30日" in text(response) or "日期格式不正確" in text(response)
    response = client.post(reverse("proposals:round-create"), round_form(quota_excellent="", quota_a="0"))
    assert "請至少設定一個等第的名額。" in text(response)
    assert not ProposalRound.objects.exists()


def test_a_new_round_copies_an_earlier_rounds_rubric_when_chosen(client, officer):
    earlier = make_round(officer, year=115)
    client.force_login(officer)
    page = text(client.get(reverse("proposals:round-create")))
    assert "沿用「115年度市政創新提案」的評分表" in page
    data = round_form(rubric_source=str(earlier.pk), **{"criteria-0-name": "", "criteria-1-name": ""})
    response = client.post(reverse("proposals:round-create"), data)
    assert response.status_code == 302
    created = ProposalRound.objects.get(year=116)
    assert [c.name for c in created.panel.rubric.criteria.all()] == [c["name"] for c in RUBRIC]
    assert created.panel.rubric_id != earlier.panel.rubric_id


def test_the_year_is_unique(client, officer):
    make_round(officer, year=116)
    client.force_login(officer)
    response = client.post(reverse("proposals:round-create"), round_form())
    assert response.status_code == 200
    assert ProposalRound.objects.filter(year=116).count() == 1
    assert "116 年度已有提案年度，不能重複建立。" in text(response)


def test_agency_users_and_reviewers_cannot_create_or_configure_rounds(client, officer, make_user):
    round_ = make_round(officer)
    _agency, clerk, head = agency_people("PWB")
    for user in (clerk, head, make_user(Role.REVIEWER, agency=None)):
        client.force_login(user)
        assert client.get(reverse("proposals:rounds")).status_code == 403
        assert client.get(reverse("proposals:round-create")).status_code == 403
        assert client.post(reverse("proposals:round-create"), round_form()).status_code == 403
        assert client.get(reverse("proposals:round-edit", args=[round_.pk])).status_code == 403
        assert client.post(reverse("proposals:round-edit", args=[round_.pk]), round_form()).status_code == 403
    assert ProposalRound.objects.count() == 1
    with pytest.raises(PermissionDenied):
        services.round_update(round_id=round_.pk, actor=clerk, title="改名")


def test_a_supervisor_reads_the_rounds_but_does_not_create_them(client, make_user, officer):
    make_round(officer)
    client.force_login(make_user(Role.RDEC_SUPERVISOR))
    body = text(client.get(reverse("proposals:rounds")))
    assert "115年度市政創新提案" in body
    assert "新增提案年度" not in body
    assert client.get(reverse("proposals:round-create")).status_code == 403


def test_the_settings_page_changes_dates_quotas_rubric_and_panel_until_submissions_close(client, officer):
    round_ = make_round(officer)
    old_rubric = round_.panel.rubric_id
    client.force_login(officer)
    page = text(client.get(reverse("proposals:round-edit", args=[round_.pk])))
    assert 'value="115/12/31"' in page and 'value="創新性"' in page

    data = round_form(
        year="115",
        title="115年度市政創新提案（修正）",
        submission_deadline="115/12/30",
        scoring_deadline="116/02/15",
        **{"criteria-INITIAL_FORMS": "2", "criteria-TOTAL_FORMS": "5"},
    )
    response = client.post(reverse("proposals:round-edit", args=[round_.pk]), data, follow=True)
    assert text(response).count("已儲存本年度設定。") == 1
    round_.refresh_from_db()
    assert round_.title == "115年度市政創新提案（修正）"
    assert round_.submission_deadline == datetime.date(2026, 12, 30)
    panel = round_.panel
    panel.refresh_from_db()
    assert panel.scoring_deadline == datetime.date(2027, 2, 15)
    assert panel.title == "115年度市政創新提案（修正）審查會"
    assert panel.rubric_id != old_rubric
    assert [(b.grade, b.quota_count) for b in panel.bands.all()] == [("excellent", 2), ("a", 5)]

    # Rows left as they were: the rubric is kept.
    services.round_open(round_id=round_.pk, actor=officer)
    rubric = panel.rubric_id
    page = client.get(reverse("proposals:round-edit", args=[round_.pk]))
    form = page.context["formset"]
    data = round_form(
        year="115",
        title="115年度市政創新提案",
        submission_deadline="116/01/15",
        scoring_deadline="116/02/15",
        **{
            "criteria-INITIAL_FORMS": str(form.initial_form_count()),
            "criteria-TOTAL_FORMS": str(form.total_form_count()),
        },
    )
    client.post(reverse("proposals:round-edit", args=[round_.pk]), data)
    panel.refresh_from_db()
    assert panel.rubric_id == rubric
    round_.refresh_from_db()
    assert round_.submission_deadline == datetime.date(2027, 1, 15)

    services.round_close_submissions(round_id=round_.pk, actor=officer)
    response = client.get(reverse("proposals:round-edit", args=[round_.pk]), follow=True)
    assert "本年度已截止收件，不能再修改設定。" in text(response)
    with pytest.raises(TransitionNotAllowed) as refused:
        services.round_update(round_id=round_.pk, actor=officer, title="太晚了")
    assert refused.value.code == Code.ROUND_NOT_CONFIGURABLE


def test_round_update_checks_its_input(officer):
    round_ = make_round(officer)
    with pytest.raises(ValidationError) as bad:
        services.round_update(round_id=round_.pk, actor=officer, scoring_deadline=datetime.date(2026, 1, 1))
    assert "scoring_deadline" in bad.value.message_dict
    with pytest.raises(ValidationError):
        services.round_update(
            round_id=round_.pk, actor=officer, rubric=[{"code": "x", "name": "x", "weight": 50, "max_score": 10}]
        )
    round_.refresh_from_db()
    assert round_.scoring_deadline == datetime.date(2027, 1, 31)


def test_the_rounds_list_takes_a_constant_number_of_queries(client, officer, django_assert_max_num_queries):
    for year in (113, 114, 115):
        round_ = make_round(officer, year=year, members=0)
        services.round_open(round_id=round_.pk, actor=officer)
    _agency, clerk, head = agency_people("PWB")
    round_ = ProposalRound.objects.get(year=115)
    sent_proposal(round_, clerk, head)
    services.proposal_create(actor=clerk, round_id=round_.pk, title="草稿", summary="摘要")
    client.force_login(officer)
    with django_assert_max_num_queries(12) as captured:
        body = text(client.get(reverse("proposals:rounds")))
    few = len(captured)
    for year in range(100, 110):
        make_round(officer, year=year, members=0)
    with django_assert_max_num_queries(few):
        client.get(reverse("proposals:rounds"))
    assert "113年度市政創新提案" in body and "新增提案年度" in body


def test_the_proposal_list_links_rdec_staff_to_the_rounds(client, officer, make_user):
    client.force_login(officer)
    assert reverse("proposals:rounds") in text(client.get(reverse("proposals:list")))
    _agency, clerk, _head = agency_people("PWB")
    client.force_login(clerk)
    assert reverse("proposals:rounds") not in text(client.get(reverse("proposals:list")))


# ---------------------------------------------------------------- irreversible buttons ask first


@pytest.fixture
def open_round(officer):
    round_ = make_round(officer)
    services.round_open(round_id=round_.pk, actor=officer)
    return round_


def test_closing_submissions_early_says_what_will_happen_and_runs_only_when_confirmed(client, officer, open_round):
    _agency, clerk, head = agency_people("PWB")
    for n in range(2):
        services.proposal_create(actor=clerk, round_id=open_round.pk, title=f"草稿{n}", summary="摘要")
    pending = services.proposal_create(actor=clerk, round_id=open_round.pk, title="待核", summary="摘要")
    services.proposal_submit(proposal_id=pending.pk, actor=clerk)
    url = reverse("proposals:round-transition", args=[open_round.pk, "close_submissions"])
    client.force_login(officer)
    with time_machine.travel(BEFORE_DEADLINE, tick=False):
        response = client.post(url)
        assert response.status_code == 200
        body = text(response)
        assert "尚有 2 件草稿將不能再送出。" in body
        assert "1 件待機關主管核定的提案仍可由機關主管核定送研考會。" in body
        assert "民國115年12月31日" in body
        assert "確定截止收件" in body
        open_round.refresh_from_db()
        assert open_round.status == ProposalRound.Status.OPEN

        response = client.post(url, CONFIRMED, follow=True)
    assert text(response).count("已截止收件，進入書面初審。") == 1
    open_round.refresh_from_db()
    assert open_round.status == ProposalRound.Status.SCREENING


def test_after_the_deadline_closing_submissions_asks_nothing(client, officer, open_round):
    with time_machine.travel(AFTER_DEADLINE, tick=False):
        client.force_login(officer)  # a session started now: the one of today would have expired by then
        response = client.post(reverse("proposals:round-transition", args=[open_round.pk, "close_submissions"]))
    assert response.status_code == 302
    open_round.refresh_from_db()
    assert open_round.status == ProposalRound.Status.SCREENING


@pytest.mark.parametrize(
    ("action", "says"),
    [("approve", "即送研考會，機關不能再修改或撤回"), ("withdraw", "撤回後提案不能再送出")],
)
def test_a_proposals_irreversible_buttons_ask_first(client, open_round, action, says):
    _agency, clerk, head = agency_people("PWB")
    proposal = services.proposal_create(actor=clerk, round_id=open_round.pk, title="智慧路燈", summary="摘要")
    services.proposal_submit(proposal_id=proposal.pk, actor=clerk)
    client.force_login(head if action == "approve" else clerk)
    url = reverse("proposals:transition", args=[proposal.pk, action])
    body = text(client.post(url, {"reason": "不再提出"}))
    assert says in body
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.PENDING_APPROVAL
    client.post(url, {"reason": "不再提出", **CONFIRMED})
    proposal.refresh_from_db()
    assert proposal.status != Proposal.Status.PENDING_APPROVAL


def test_the_first_screening_warns_that_submissions_can_no_longer_reopen(client, officer, open_round):
    _agency, clerk, head = agency_people("PWB")
    first, second, third = (sent_proposal(open_round, clerk, head, title=t) for t in ("甲案", "乙案", "丙案"))
    services.round_close_submissions(round_id=open_round.pk, actor=officer)
    client.force_login(officer)
    body = text(client.post(reverse("proposals:transition", args=[first.pk, "pass_screening"]), {"reason": "符合"}))
    assert "之後本年度不能再重新開放收件" in body
    assert 'value="1"' in body and "符合" in body  # the reason typed is carried over
    client.post(reverse("proposals:transition", args=[first.pk, "pass_screening"]), {"reason": "符合", **CONFIRMED})
    # The second one passes without a question; failing one always asks.
    response = client.post(reverse("proposals:transition", args=[second.pk, "pass_screening"]))
    assert response.status_code == 302
    response = client.post(reverse("proposals:transition", args=[third.pk, "fail_screening"]), {"reason": "x"})
    assert response.status_code == 200
    assert "確定初審不通過" in text(response) and "此動作完成後不能復原。" in text(response)


def test_the_round_buttons_ask_with_counts_from_the_data(client, officer, open_round):
    _agency, clerk, head = agency_people("PWB")
    proposal = sent_proposal(open_round, clerk, head)
    services.round_close_submissions(round_id=open_round.pk, actor=officer)
    services.proposal_screen(proposal_id=proposal.pk, actor=officer, passed=True)
    client.force_login(officer)
    body = text(client.post(reverse("proposals:round-transition", args=[open_round.pk, "start_scoring"])))
    assert "1 件通過初審的提案將交由 3 位委員評分" in body
    services.round_start_scoring(round_id=open_round.pk, actor=officer)
    body = text(client.post(reverse("proposals:round-transition", args=[open_round.pk, "close_scoring"])))
    assert "尚有 3 份評分表（共 3 份）未送出" in body
    open_round.refresh_from_db()
    assert open_round.status == ProposalRound.Status.SCORING


# ---------------------------------------------------------------- reopening submissions


def test_submissions_reopen_with_a_reason_until_a_proposal_is_screened(client, officer, open_round):
    _agency, clerk, head = agency_people("PWB")
    proposal = sent_proposal(open_round, clerk, head)
    services.round_close_submissions(round_id=open_round.pk, actor=officer)
    client.force_login(officer)
    body = text(client.get(reverse("proposals:round", args=[open_round.pk])))
    assert "重新開放收件" in body and "重新開放收件理由（必填）" in body

    url = reverse("proposals:round-transition", args=[open_round.pk, "reopen_submissions"])
    response = client.post(url, follow=True)
    assert "請說明重新開放收件的理由。" in text(response)
    response = client.post(url, {"reason": "颱風停班，延長收件"}, follow=True)
    assert text(response).count("已重新開放收件，各機關可以再送出提案。") == 1
    open_round.refresh_from_db()
    assert open_round.status == ProposalRound.Status.OPEN
    log = TransitionLog.objects.filter(transition="reopen_submissions").get()
    assert (log.source, log.target, log.reason, log.actor_id) == ("screening", "open", "颱風停班，延長收件", officer.pk)

    # Once a proposal has been screened, there is no way back: no button, and a 409 with its code.
    services.round_close_submissions(round_id=open_round.pk, actor=officer)
    services.proposal_screen(proposal_id=proposal.pk, actor=officer, passed=True)
    body = text(client.get(reverse("proposals:round", args=[open_round.pk])))
    assert "重新開放收件" not in body
    response = client.post(url, {"reason": "再開一次"}, follow=True)
    assert "已有提案完成書面初審，不能再重新開放收件。" in text(response)
    with pytest.raises(TransitionNotAllowed) as refused:
        services.round_reopen_submissions(round_id=open_round.pk, actor=officer, reason="再開一次")
    assert refused.value.code == Code.SCREENING_STARTED


def test_agency_users_cannot_reopen_submissions(client, officer, open_round):
    _agency, clerk, head = agency_people("PWB")
    services.round_close_submissions(round_id=open_round.pk, actor=officer)
    for user in (clerk, head):
        with pytest.raises(PermissionDenied):
            services.round_reopen_submissions(round_id=open_round.pk, actor=user, reason="請再開放")
        client.force_login(user)
        url = reverse("proposals:round-transition", args=[open_round.pk, "reopen_submissions"])
        assert client.post(url, {"reason": "請再開放"}).status_code == 403
    open_round.refresh_from_db()
    assert open_round.status == ProposalRound.Status.SCREENING


def test_the_api_reopens_submissions_with_a_reason(api_client, officer, open_round):
    _agency, clerk, head = agency_people("PWB")
    proposal = sent_proposal(open_round, clerk, head)
    services.round_close_submissions(round_id=open_round.pk, actor=officer)
    url = f"/api/v1/proposal-rounds/{open_round.pk}/reopen-submissions/"
    api_client.force_authenticate(clerk)
    assert api_client.post(url, {"reason": "請再開放"}, format="json").status_code == 403
    api_client.force_authenticate(officer)
    assert api_client.post(url, {}, format="json").status_code == 400
    response = api_client.post(url, {"reason": "延長收件"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "open"
    services.round_close_submissions(round_id=open_round.pk, actor=officer)
    services.proposal_screen(proposal_id=proposal.pk, actor=officer, passed=False, reason="不符格式")
    response = api_client.post(url, {"reason": "延長收件"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "screening_started"
    assert "不能再重新開放收件" in response.json()["detail"]


# ---------------------------------------------------------------- what happens next


def test_pages_say_what_comes_next_where_there_is_no_button(client, officer, open_round):
    _agency, clerk, head = agency_people("PWB")
    proposal = services.proposal_create(actor=clerk, round_id=open_round.pk, title="智慧路燈", summary="摘要")
    services.proposal_submit(proposal_id=proposal.pk, actor=clerk)
    detail = reverse("proposals:detail", args=[proposal.pk])
    client.force_login(clerk)
    body = text(client.get(detail))
    assert "待PWB局機關主管核定" in body  # the clerk has a withdraw button, but the head must act
    services.proposal_approve(proposal_id=proposal.pk, actor=head)
    body = text(client.get(detail))
    assert "data-next-step" in body
    assert "截止收件後，由研考會進行書面初審。" in body

    client.force_login(officer)
    round_page = reverse("proposals:round", args=[open_round.pk])
    assert "已送研考會 1 件" in text(client.get(round_page))
    services.round_close_submissions(round_id=open_round.pk, actor=officer)
    assert "尚有 1 件提案待初審" in text(client.get(round_page))
    services.proposal_screen(proposal_id=proposal.pk, actor=officer, passed=True)
    services.round_start_scoring(round_id=open_round.pk, actor=officer)
    assert "委員評分中：0／3 份評分表已送出" in text(client.get(round_page))
    client.force_login(clerk)
    assert "審查委員評分中，評分截止日：民國116年1月31日。" in text(client.get(detail))


def test_the_round_page_links_to_its_panel_and_settings(client, officer, open_round):
    client.force_login(officer)
    body = text(client.get(reverse("proposals:round", args=[open_round.pk])))
    assert reverse("reviews:panel", args=[open_round.panel_id]) in body
    assert reverse("proposals:round-edit", args=[open_round.pk]) in body
