"""The pre-budget review pages as their users see them: cycles, requests (the clerk's form and its refusals, the
head's sign-off, RDEC's recommendation and decision with the ceilings), meetings, site visits with their photos,
the balancing board and the results with their export; what each may not see (404) or do (403)."""

from __future__ import annotations

import datetime
import io
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.roles import Role
from plan_control.budget import services
from plan_control.budget.tests.factories import (
    FISCAL_YEAR,
    JPEG,
    MEETING_DAY,
    YI,
    draft,
    jpeg,
    reload,
    sent,
)
from plan_control.models import (
    AmountLedger,
    BudgetCeiling,
    BudgetCycle,
    BudgetDocument,
    BudgetRequest,
    ControlledPlan,
    MeetingDecision,
    ReviewMeeting,
    SiteVisit,
    SiteVisitPhoto,
)

pytestmark = pytest.mark.django_db
S = BudgetRequest.Status
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _frozen(frozen_clock):
    pass


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def url(name: str, *args) -> str:
    return reverse(f"plan_control:{name}", args=args)


def signed_in(client, user):
    client.force_login(user)
    return client


def page_text(response) -> str:
    return response.content.decode()


def request_form_data(cycle=None, **overrides) -> dict:
    data = {
        "title": "愛河水岸自行車道延伸",
        "kind": BudgetRequest.Kind.NEW_ANNUAL,
        "public": "60,000,000",
        "fund": "",
        "central": "",
        "other": "",
        "total": "60000000",
        "years": "",
        "justification": "串連水岸。",
    }
    if cycle is not None:
        data["cycle"] = str(cycle.pk)
    data.update(overrides)
    return data


def in_review(world, cycle, n: int = 1, **fields) -> list[BudgetRequest]:
    """`n` PWB requests at RDEC, the cycle's review started."""
    requests = [sent(world.clerk, world.head, cycle, **{"title": f"計畫{i}", **fields}) for i in range(n)]
    services.cycle_start_review(actor=world.officer, cycle_id=cycle.pk)
    return requests


def balancing(world, cycle, n: int = 1, **fields) -> list[BudgetRequest]:
    """`n` PWB requests recommended as requested, the cycle balancing."""
    requests = in_review(world, cycle, n, **fields)
    for r in requests:
        services.request_recommend(actor=world.officer, request_id=r.pk, amounts=reload(r).amounts("requested"))
    services.cycle_start_balancing(actor=world.officer, cycle_id=cycle.pk)
    return [reload(r) for r in requests]


# ---- the menu and the cycles ---------------------------------------------------------------------------------


def test_the_back_office_menu_links_to_the_cycles(client, world, cycle):
    response = signed_in(client, world.clerk).get("/")
    assert 'href="/budget/"' in page_text(response)  # 先期作業 in the menu
    assert client.get("/budget/", follow=True).redirect_chain[-1][0] == url("budget-cycles")
    listing = client.get(url("budget-cycles"))
    assert listing.status_code == 200
    assert f'data-cycle="{FISCAL_YEAR}"' in page_text(listing)
    assert "9,164,000,000" in page_text(listing)
    assert url("budget-cycle-new") not in page_text(listing)  # a clerk adds no cycle


def test_an_officer_creates_a_cycle_and_a_bad_timeline_keeps_what_was_typed(client, world):
    signed_in(client, world.officer)
    data = {
        "fiscal_year": "117",
        "public_ceiling": "9,164,000,000",
        "fund_ceiling": "1847000000",
        "new_plan_threshold": "50000000",
        "continuing_threshold": "10000000",
        "central_review_threshold": "1000000000",
        "request_deadline": "2027-03-31",
        "meeting_start": "2027-06-30",
        "meeting_end": "2027-05-01",
        "balancing_date": "2027-07-15",
    }
    refused = client.post(url("budget-cycle-new"), data)
    assert refused.status_code == 200
    assert 'data-error="meeting_end"' in page_text(refused)
    assert "初審會議期間的迄日不得早於起日" in page_text(refused)
    assert 'value="9,164,000,000"' in page_text(refused)
    assert not BudgetCycle.objects.exists()

    done = client.post(url("budget-cycle-new"), {**data, "meeting_start": "2027-05-01", "meeting_end": "2027-06-30"})
    cycle = BudgetCycle.objects.get()
    assert done.url == url("budget-cycle", cycle.pk)
    assert cycle.public_ceiling == 9_164_000_000 and cycle.status == BudgetCycle.Status.PLANNING


def test_only_rdecs_officers_create_or_edit_cycles(client, world, cycle):
    for user in (world.clerk, world.head, world.reviewer, world.supervisor):
        signed_in(client, user)
        assert client.get(url("budget-cycle-new")).status_code == 403
        assert client.post(url("budget-cycle-edit", cycle.pk), {"public_ceiling": "1"}).status_code == 403
        assert client.post(url("budget-cycle", cycle.pk), {"agency": world.pwb.pk, "public": "1"}).status_code == 403
    assert reload_cycle(cycle).public_ceiling == 9_164_000_000
    assert not BudgetCeiling.objects.exists()


def reload_cycle(cycle) -> BudgetCycle:
    return BudgetCycle.objects.get(pk=cycle.pk)


def test_an_officer_edits_a_cycle_until_it_is_approved(client, world, cycle):
    signed_in(client, world.officer)
    form = page_text(client.get(url("budget-cycle-edit", cycle.pk)))
    assert 'value="9,164,000,000"' in form and "fiscal_year" not in form
    data = {
        "public_ceiling": "9,000,000,000",
        "fund_ceiling": "-1",
        "new_plan_threshold": "50000000",
        "continuing_threshold": "10000000",
        "central_review_threshold": "1000000000",
        "request_deadline": "2026-03-31",
        "meeting_start": "2026-05-01",
        "meeting_end": "2026-06-30",
        "balancing_date": "2026-07-15",
    }
    refused = client.post(url("budget-cycle-edit", cycle.pk), data)
    assert 'data-error="fund_ceiling"' in page_text(refused) and 'value="9,000,000,000"' in page_text(refused)
    assert reload_cycle(cycle).public_ceiling == 9_164_000_000
    valid = {**data, "fund_ceiling": "1847000000"}
    assert client.post(url("budget-cycle-edit", cycle.pk), valid).status_code == 302
    assert reload_cycle(cycle).public_ceiling == 9_000_000_000
    BudgetCycle.objects.filter(pk=cycle.pk).update(status=BudgetCycle.Status.APPROVED)
    locked = client.post(url("budget-cycle-edit", cycle.pk), {**valid, "public_ceiling": "1"})
    assert "已核定的年度不能再修改" in page_text(locked)
    assert reload_cycle(cycle).public_ceiling == 9_000_000_000


def test_the_cycle_page_counts_states_shows_the_stage_buttons_and_sets_an_agencys_ceiling(client, world, cycle):
    sent(world.clerk, world.head, cycle)
    draft(world.clerk, cycle, title="草稿")
    signed_in(client, world.officer)
    page = page_text(client.get(url("budget-cycle", cycle.pk)))
    assert "受理申請" in page
    assert url("budget-cycle-action", cycle.pk, "start-review") in page
    assert url("budget-cycle-action", cycle.pk, "approve") not in page
    assert url("budget-board", cycle.pk) in page and url("budget-results", cycle.pk) in page
    assert "data-count-total>1<" in page  # RDEC does not see the draft

    response = client.post(url("budget-cycle", cycle.pk), {"agency": world.pwb.pk, "public": "300,000,000", "fund": ""})
    assert response.status_code == 302
    ceiling = BudgetCeiling.objects.get(cycle=cycle, agency=world.pwb)
    assert (ceiling.public, ceiling.fund) == (300_000_000, None)

    # Closing the intake asks first, counting what reaches review and what lapses (the clerk's draft).
    question = page_text(client.post(url("budget-cycle-action", cycle.pk, "start-review")))
    assert "確定截止收件，開始初審" in question and "已送達研考會的 1 件申請進入初審" in question
    assert "尚未送達的 1 件（1 個機關" in question and "無法復原" in question
    assert reload_cycle(cycle).status == BudgetCycle.Status.COLLECTING
    response = client.post(url("budget-cycle-action", cycle.pk, "start-review"), {"confirmed": "1"})
    assert response.url == url("budget-cycle", cycle.pk)
    assert reload_cycle(cycle).status == BudgetCycle.Status.REVIEWING


def test_the_clerk_sees_their_own_counts_and_no_stage_buttons(client, world, cycle):
    draft(world.clerk, cycle)
    draft(world.tb_clerk, cycle)
    signed_in(client, world.clerk)
    page = page_text(client.get(url("budget-cycle", cycle.pk)))
    assert "data-count-total>1<" in page
    assert url("budget-cycle-action", cycle.pk, "start-review") not in page
    assert url("budget-board", cycle.pk) not in page
    assert url("budget-request-new") in page
    assert client.post(url("budget-cycle-action", cycle.pk, "start-review")).status_code == 403
    assert reload_cycle(cycle).status == BudgetCycle.Status.COLLECTING
    assert client.get(url("budget-cycle", 999_999)).status_code == 404
    assert client.post(url("budget-cycle-action", cycle.pk, "no-such")).status_code == 404


# ---- requests ------------------------------------------------------------------------------------------------


def test_a_clerk_drafts_a_request_with_its_plan_document(client, world, cycle):
    signed_in(client, world.clerk)
    form = client.get(url("budget-request-new") + f"?cycle={cycle.pk}")
    assert form.status_code == 200
    upload = SimpleUploadedFile("計畫書.pdf", PDF, content_type="application/pdf")
    response = client.post(url("budget-request-new"), {**request_form_data(cycle), "file": upload})
    created = BudgetRequest.objects.get()
    assert response.url == url("budget-request", created.pk)
    assert created.agency == world.pwb and created.requested_public == 60_000_000
    assert created.documents.get().format == BudgetDocument.Format.PDF
    page = page_text(client.get(response.url))
    assert "60,000,000" in page and "計畫書.pdf" in page
    assert url("budget-request-action", created.pk, "submit") in page
    assert "data-ledger" in page and "提出申請" in page
    document = client.get(url("budget-request-document", created.pk, created.documents.get().pk))
    assert document.status_code == 200 and b"".join(document.streaming_content) == PDF


def test_a_request_under_the_threshold_is_refused_on_the_total_keeping_what_was_typed(client, world, cycle):
    signed_in(client, world.clerk)
    data = request_form_data(cycle, public="30000000", total="30000000", title="小型改善")
    response = client.post(url("budget-request-new"), data)
    page = page_text(response)
    assert response.status_code == 200
    assert 'data-error="total"' in page and "新興計畫總經費須達 5,000萬元以上" in page
    assert 'value="小型改善"' in page and 'value="30000000"' in page
    assert not BudgetRequest.objects.exists()


def test_a_bad_plan_document_saves_neither_the_request_nor_the_file(client, world, cycle):
    signed_in(client, world.clerk)
    upload = SimpleUploadedFile("plan.pdf", b"not a pdf at all", content_type="application/pdf")
    response = client.post(url("budget-request-new"), {**request_form_data(cycle), "file": upload})
    page = page_text(response)
    assert response.status_code == 200 and 'data-error="file"' in page
    assert 'value="愛河水岸自行車道延伸"' in page
    assert not BudgetRequest.objects.exists() and not BudgetDocument.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"public": "-5"}, "public"),
        ({"public": "1.5"}, "public"),
        ({"public": "99999999999999999999"}, "public"),
        ({"total": "70000000"}, "__all__"),  # sources not summing to the total
        ({"years": "117 twenty"}, "years"),
        ({"kind": "routine"}, "kind"),
    ],
)
def test_bad_amounts_are_refused_by_field_and_save_nothing(client, world, cycle, overrides, field):
    signed_in(client, world.clerk)
    response = client.post(url("budget-request-new"), request_form_data(cycle, **overrides))
    assert response.status_code == 200
    assert f'data-error="{field}"' in page_text(response)
    assert not BudgetRequest.objects.exists()


def test_only_an_agencys_clerk_drafts_and_edits_its_requests(client, world, cycle):
    mine = draft(world.clerk, cycle)
    for user in (world.officer, world.head, world.reviewer):
        signed_in(client, user)
        assert client.get(url("budget-request-new")).status_code == 403
        assert client.post(url("budget-request-new"), request_form_data(cycle)).status_code == 403
    signed_in(client, world.head)
    assert client.get(url("budget-request-edit", mine.pk)).status_code == 403
    signed_in(client, world.tb_clerk)  # another agency's request does not exist for them
    assert client.get(url("budget-request", mine.pk)).status_code == 404
    assert client.get(url("budget-request-edit", mine.pk)).status_code == 404
    assert client.post(url("budget-request-action", mine.pk, "withdraw")).status_code == 404
    assert reload(mine).status == S.DRAFT and reload(mine).title == mine.title


def test_the_clerk_edits_a_draft_and_the_ledger_shows_the_change(client, world, cycle):
    mine = draft(world.clerk, cycle)
    signed_in(client, world.clerk)
    form = page_text(client.get(url("budget-request-edit", mine.pk)))
    assert 'value="60,000,000"' in form
    data = request_form_data(public="80000000", total="80000000", years="117=20,000,000")
    assert client.post(url("budget-request-edit", mine.pk), data).status_code == 302
    mine = reload(mine)
    assert mine.total == 80_000_000 and mine.years == {"116": 80_000_000, "117": 20_000_000}
    page = page_text(client.get(url("budget-request", mine.pk)))
    assert "修正申請" in page and "80,000,000" in page


def test_submit_sign_off_and_return_go_through_the_buttons(client, world, cycle):
    mine = draft(world.clerk, cycle)
    services.request_document_add(
        actor=world.clerk, request_id=mine.pk, upload=SimpleUploadedFile("p.pdf", PDF, content_type="application/pdf")
    )
    signed_in(client, world.clerk)
    client.post(url("budget-request-action", mine.pk, "submit"))
    assert reload(mine).status == S.PENDING_APPROVAL
    signed_in(client, world.head)
    page = page_text(client.get(url("budget-request", mine.pk)))
    assert url("budget-request-action", mine.pk, "sign-off") in page
    assert url("budget-request-action", mine.pk, "return") in page
    response = client.post(url("budget-request-action", mine.pk, "return"), {"reason": ""}, follow=True)
    assert "請說明退回理由" in page_text(response) and reload(mine).status == S.PENDING_APPROVAL
    client.post(url("budget-request-action", mine.pk, "sign-off"))
    assert reload(mine).status == S.SUBMITTED
    signed_in(client, world.clerk)  # the clerk has no button left, and pressing one changes nothing
    assert url("budget-request-action", mine.pk, "submit") not in page_text(client.get(url("budget-request", mine.pk)))
    client.post(url("budget-request-action", mine.pk, "withdraw"))
    assert reload(mine).status == S.SUBMITTED


def test_the_request_list_shows_agency_staff_their_own_and_filters(client, world, cycle):
    mine = draft(world.clerk, cycle, title="本局計畫")
    draft(world.tb_clerk, cycle, title="他局計畫")
    signed_in(client, world.clerk)
    page = page_text(client.get(url("budget-requests")))
    assert "本局計畫" in page and "他局計畫" not in page
    page = page_text(client.get(url("budget-requests"), {"status": S.SUBMITTED}))
    assert "本局計畫" not in page
    page = page_text(client.get(url("budget-requests"), {"cycle": cycle.pk, "status": S.DRAFT}))
    assert f'data-request="{mine.pk}"' in page
    assert client.get(url("budget-requests"), {"cycle": "x", "status": "nonsense"}).status_code == 200
    signed_in(client, world.officer)  # drafts stay with the agency
    assert "本局計畫" not in page_text(client.get(url("budget-requests")))


def test_the_request_list_pages_by_fifty(client, world, cycle):
    for i in range(51):
        draft(world.clerk, cycle, title=f"計畫{i}")
    signed_in(client, world.clerk)
    first = page_text(client.get(url("budget-requests"), {"cycle": cycle.pk}))
    assert first.count("data-request=") == 50 and "共 51 件" in first and 'rel="next"' in first
    second = page_text(client.get(url("budget-requests"), {"cycle": cycle.pk, "page": 2}))
    assert second.count("data-request=") == 1


@pytest.mark.parametrize("n", [1, 20])
def test_the_request_list_takes_constant_queries(client, world, cycle, n, django_assert_max_num_queries):
    for i in range(n):
        sent(world.clerk, world.head, cycle, title=f"計畫{i}")
    signed_in(client, world.officer)
    client.get(url("budget-requests"))  # warm the session
    with django_assert_max_num_queries(12):
        response = client.get(url("budget-requests"))
    assert page_text(response).count("data-request=") == n


# ---- RDEC's recommendation and decision ----------------------------------------------------------------------


def test_an_officer_recommends_in_writing_and_a_sum_above_the_request_keeps_what_was_typed(client, world, cycle):
    (request,) = in_review(world, cycle)
    signed_in(client, world.officer)
    refused = client.post(url("budget-request-recommend", request.pk), {"public": "70000000", "note": "過高"})
    assert refused.status_code == 400
    assert "建議總額 70,000,000 元超過申請總額" in page_text(refused) and 'value="70000000"' in page_text(refused)
    assert reload(request).status == S.IN_REVIEW
    client.post(url("budget-request-recommend", request.pk), {"public": "50000000", "note": "酌減"})
    assert reload(request).status == S.RECOMMENDED and reload(request).recommended_public == 50_000_000
    signed_in(client, world.clerk)  # the agency sees the recommendation, not the form
    page = page_text(client.get(url("budget-request", request.pk)))
    assert "50,000,000" in page and url("budget-request-recommend", request.pk) not in page
    assert client.post(url("budget-request-recommend", request.pk), {"public": "1"}).status_code == 403
    assert reload(request).recommended_public == 50_000_000


def test_an_officer_above_the_ceiling_is_refused_with_the_ceiling_named(client, world, cycle):
    services.cycle_ceiling_set(actor=world.officer, cycle_id=cycle.pk, agency_id=world.pwb.pk, public=40_000_000)
    (request,) = balancing(world, cycle)
    signed_in(client, world.officer)
    page = page_text(client.get(url("budget-request", request.pk)))
    assert url("budget-request-decide", request.pk) in page and "override_reason" not in page
    response = client.post(url("budget-request-decide", request.pk), {"decision": "approved", "public": "60000000"})
    assert response.status_code == 400
    assert "PWB局公務預算核定總額將達 6,000萬元，超過額度 4,000萬元" in page_text(response)
    assert 'value="60000000"' in page_text(response)
    assert reload(request).status == S.RECOMMENDED
    # An officer cannot smuggle the override in: the field is not theirs.
    client.post(
        url("budget-request-decide", request.pk),
        {"decision": "approved", "public": "60000000", "override_reason": "重大建設"},
    )
    assert reload(request).status == S.RECOMMENDED


def test_a_supervisor_decides_above_the_ceiling_with_an_override_reason_kept_in_the_ledger(client, world, cycle):
    services.cycle_ceiling_set(actor=world.officer, cycle_id=cycle.pk, agency_id=world.pwb.pk, public=40_000_000)
    (request,) = balancing(world, cycle)
    signed_in(client, world.supervisor)
    assert "override_reason" in page_text(client.get(url("budget-request", request.pk)))
    data = {"decision": "approved", "public": "60000000", "reason": "", "override_reason": "捷運配合工程"}
    assert client.post(url("budget-request-decide", request.pk), data).status_code == 302
    request = reload(request)
    assert request.status == S.APPROVED and request.approved_public == 60_000_000
    entry = AmountLedger.objects.get(request=request, field="approved_public")
    assert "捷運配合工程" in entry.reason
    page = page_text(client.get(url("budget-request", request.pk)))
    assert "捷運配合工程" in page and "data-ledger" in page


def test_a_cut_needs_a_reason_and_blank_amounts_take_the_recommendation(client, world, cycle):
    first, second = balancing(world, cycle, 2)
    signed_in(client, world.officer)
    refused = client.post(url("budget-request-decide", first.pk), {"decision": "cut", "public": "30000000"})
    assert refused.status_code == 400 and "核減或不予核列須說明理由" in page_text(refused)
    client.post(url("budget-request-decide", first.pk), {"decision": "cut", "public": "30000000", "reason": "分年辦理"})
    assert reload(first).status == S.CUT and reload(first).approved_public == 30_000_000
    client.post(url("budget-request-decide", second.pk), {"decision": "approved"})
    assert reload(second).status == S.APPROVED and reload(second).approved_public == 60_000_000
    signed_in(client, world.clerk)
    assert (
        client.post(url("budget-request-decide", first.pk), {"decision": "rejected", "reason": "x"}).status_code == 403
    )
    assert reload(first).status == S.CUT


# ---- meetings ------------------------------------------------------------------------------------------------


def test_an_officer_schedules_a_meeting_holds_it_and_records_a_decision(client, world, cycle):
    request, other = in_review(world, cycle, 2)
    signed_in(client, world.officer)
    form = page_text(client.get(url("budget-meeting-new", cycle.pk)))
    assert "計畫0" in form and "計畫1" in form
    data = {"date": "2026-04-01", "place": "研考會會議室", "requests": [request.pk], "attendees": [world.reviewer.pk]}
    refused = client.post(url("budget-meeting-new", cycle.pk), data)
    assert 'data-error="date"' in page_text(refused) and 'value="研考會會議室"' in page_text(refused)
    assert not ReviewMeeting.objects.exists()
    response = client.post(url("budget-meeting-new", cycle.pk), {**data, "date": MEETING_DAY.isoformat()})
    meeting = ReviewMeeting.objects.get()
    assert response.url == url("budget-meeting", meeting.pk)
    assert list(meeting.agencies.all()) == [world.pwb]

    prefix = f"r{request.pk}"
    refused = client.post(
        url("budget-meeting-decision", meeting.pk, request.pk), {f"{prefix}-public": "90000000", f"{prefix}-note": "多"}
    )
    assert refused.status_code == 400 and "超過申請總額" in page_text(refused)
    assert 'value="90000000"' in page_text(refused)
    client.post(
        url("budget-meeting-decision", meeting.pk, request.pk),
        {f"{prefix}-public": "45,000,000", f"{prefix}-note": "分年辦理"},
    )
    decision = MeetingDecision.objects.get(meeting=meeting, request=request)
    assert (decision.public, decision.note) == (45_000_000, "分年辦理")
    assert reload(request).status == S.RECOMMENDED
    # A request off the agenda is no decision of this meeting's: 404, nothing recorded.
    response = client.post(url("budget-meeting-decision", meeting.pk, other.pk), {f"r{other.pk}-public": "1"})
    assert response.status_code == 404 and reload(other).status == S.IN_REVIEW

    assert 'data-error="minutes"' in page_text(client.post(url("budget-meeting", meeting.pk), {"minutes": ""}))
    client.post(url("budget-meeting", meeting.pk), {"minutes": "照案通過，分年辦理。"})
    meeting.refresh_from_db()
    assert meeting.status == ReviewMeeting.Status.HELD
    page = page_text(client.get(url("budget-meeting", meeting.pk)))
    assert "照案通過" in page and "45,000,000" in page


def test_meetings_are_seen_by_attendees_and_agencies_concerned_only(client, world, cycle, make_user):
    tb_request = sent(world.tb_clerk, world.tb_head, cycle, title="他局的交通計畫")
    (request,) = in_review(world, cycle)
    meeting = services.meeting_create(
        actor=world.officer, cycle_id=cycle.pk, date=MEETING_DAY, place="會議室",
        request_ids=[request.pk, tb_request.pk], attendee_ids=[world.reviewer.pk],
    )  # fmt: skip
    signed_in(client, world.reviewer)  # an attendee reads the whole agenda
    page = page_text(client.get(url("budget-meeting", meeting.pk)))
    assert "他局的交通計畫" in page and "計畫0" in page
    outsider = make_user(Role.REVIEWER, agency=None, username="outsider")
    for user, status in ((world.reviewer, 200), (world.clerk, 200), (world.tb_clerk, 200), (outsider, 404)):
        signed_in(client, user)
        assert client.get(url("budget-meeting", meeting.pk)).status_code == status
    signed_in(client, world.clerk)  # the agency reads its own request on the agenda, records nothing
    page = page_text(client.get(url("budget-meeting", meeting.pk)))
    assert "計畫0" in page and "他局的交通計畫" not in page
    assert url("budget-meeting-decision", meeting.pk, request.pk) not in page
    assert client.get(url("budget-meeting-new", cycle.pk)).status_code == 403
    assert client.post(url("budget-meeting", meeting.pk), {"minutes": "x"}).status_code == 403
    assert (
        client.post(url("budget-meeting-decision", meeting.pk, request.pk), {f"r{request.pk}-public": "1"}).status_code
        == 403
    )
    assert reload(request).status == S.IN_REVIEW
    assert client.get(url("budget-meetings"), {"cycle": "abc"}).status_code == 400


@pytest.mark.parametrize("n", [1, 20])
def test_the_meeting_list_takes_constant_queries(client, world, cycle, n, django_assert_max_num_queries):
    requests = in_review(world, cycle, 2)
    for _i in range(n):
        services.meeting_create(
            actor=world.officer,
            cycle_id=cycle.pk,
            date=MEETING_DAY,
            place="會議室",
            request_ids=[r.pk for r in requests],
        )
    signed_in(client, world.officer)
    client.get(url("budget-meetings"))
    with django_assert_max_num_queries(12):
        response = client.get(url("budget-meetings"), {"cycle": cycle.pk})
    assert page_text(response).count("data-meeting=") == n


# ---- site visits ---------------------------------------------------------------------------------------------


def test_an_officer_records_a_site_visit_with_a_photo_served_through_the_view(client, world, cycle):
    (request,) = in_review(world, cycle)
    signed_in(client, world.officer)
    data = {"date": "2026-05-20", "requests": [request.pk], "findings": "工址已完成用地取得。"}
    bad = SimpleUploadedFile("site.jpg", b"GIF89a not a jpeg", content_type="image/jpeg")
    refused = client.post(url("budget-visit-new", cycle.pk), {**data, "photo": bad})
    assert 'data-error="photo"' in page_text(refused) and "工址已完成用地取得" in page_text(refused)
    assert not SiteVisit.objects.exists()
    response = client.post(url("budget-visit-new", cycle.pk), {**data, "photo": jpeg()})
    visit = SiteVisit.objects.get()
    assert response.url == url("budget-visit", visit.pk)
    photo = SiteVisitPhoto.objects.get()
    page = page_text(client.get(response.url))
    photo_url = url("budget-visit-photo", visit.pk, photo.pk)
    assert photo_url in page and "/media/" not in page and 'alt="' in page
    served = client.get(photo_url)
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert b"".join(served.streaming_content) == JPEG
    client.post(url("budget-visit", visit.pk), {"photo": jpeg("second.jpg")})
    assert visit.photos.count() == 2
    client.post(url("budget-visit-edit", visit.pk), {"date": "2026-05-21", "findings": "補充意見"})
    visit.refresh_from_db()
    assert visit.findings == "補充意見" and visit.date == datetime.date(2026, 5, 21)


def test_site_visits_and_their_photos_are_the_agencys_and_rdecs_only(client, world, cycle):
    (request,) = in_review(world, cycle)
    visit = services.site_visit_create(
        actor=world.officer, cycle_id=cycle.pk, date=MEETING_DAY, request_ids=[request.pk], photos=[jpeg()]
    )
    photo = visit.photos.get()
    signed_in(client, world.clerk)
    assert client.get(url("budget-visit-photo", visit.pk, photo.pk)).status_code == 200
    assert "加入照片" not in page_text(client.get(url("budget-visit", visit.pk)))
    assert client.post(url("budget-visit", visit.pk), {"photo": jpeg()}).status_code == 403
    assert client.get(url("budget-visit-new", cycle.pk)).status_code == 403
    signed_in(client, world.tb_clerk)
    assert client.get(url("budget-visit", visit.pk)).status_code == 404
    assert client.get(url("budget-visit-photo", visit.pk, photo.pk)).status_code == 404
    assert visit.photos.count() == 1


@pytest.mark.parametrize("n", [1, 20])
def test_the_site_visit_list_takes_constant_queries(client, world, cycle, n, django_assert_max_num_queries):
    requests = in_review(world, cycle, 2)
    for _i in range(n):
        services.site_visit_create(
            actor=world.officer, cycle_id=cycle.pk, date=MEETING_DAY, request_ids=[r.pk for r in requests],
            photos=[jpeg()],
        )  # fmt: skip
    signed_in(client, world.clerk)
    client.get(url("budget-visits"))
    with django_assert_max_num_queries(14):  # an agency's clerk: also whom they stand in for
        response = client.get(url("budget-visits"), {"cycle": cycle.pk})
    assert page_text(response).count("data-visit=") == n


# ---- the balancing board and the results ---------------------------------------------------------------------


def test_the_board_flags_an_agency_over_its_ceiling_in_words(client, world, cycle):
    services.cycle_ceiling_set(actor=world.officer, cycle_id=cycle.pk, agency_id=world.pwb.pk, public=40_000_000)
    (request,) = balancing(world, cycle)
    services.request_decide(
        actor=world.supervisor, request_id=request.pk, decision="approved", override_reason="重大建設"
    )
    signed_in(client, world.officer)
    page = page_text(client.get(url("budget-board", cycle.pk)))
    assert "data-agency-over" in page and "超過機關額度：公務預算" in page
    assert "超過額度 2,000萬元" in page
    assert "尚餘 91億400萬元" in page  # the cycle's own public ceiling still holds
    assert f'data-request="{request.pk}"' in page


@pytest.mark.parametrize("view", ["budget-board", "budget-results", "budget-results-export"])
def test_the_board_and_results_are_rdecs(client, world, cycle, view):
    for user in (world.clerk, world.head, world.reviewer):
        signed_in(client, user)
        assert client.get(url(view, cycle.pk)).status_code == 403


@pytest.mark.parametrize("view", ["budget-board", "budget-results"])
@pytest.mark.parametrize("n", [1, 20])
def test_the_board_and_results_take_constant_queries(client, world, cycle, view, n, django_assert_max_num_queries):
    tb_request = sent(world.tb_clerk, world.tb_head, cycle, title="交通計畫")
    requests = [sent(world.clerk, world.head, cycle, title=f"計畫{i}") for i in range(n)]
    services.cycle_start_review(actor=world.officer, cycle_id=cycle.pk)
    for r in [tb_request, *requests]:
        services.request_recommend(actor=world.officer, request_id=r.pk, amounts={"public": 50_000_000})
    services.cycle_start_balancing(actor=world.officer, cycle_id=cycle.pk)
    services.request_decide(actor=world.officer, request_id=tb_request.pk, decision="rejected", reason="緩辦")
    signed_in(client, world.supervisor)
    client.get(url(view, cycle.pk))
    # The session, the user and roles, the menu, the cycle, two for the sums (selectors.totals), the requests.
    with django_assert_max_num_queries({"budget-board": 12, "budget-results": 10}[view]):
        response = client.get(url(view, cycle.pk))
    assert response.status_code == 200
    assert 'data-agency="PWB"' in page_text(response) or 'data-figures="PWB"' in page_text(response)


def test_the_results_chart_has_a_text_alternative_and_the_table(client, world, cycle):
    (request,) = balancing(world, cycle, public=2 * YI, kind=BudgetRequest.Kind.CONTINUING)
    services.request_decide(
        actor=world.officer, request_id=request.pk, decision="cut", amounts={"public": YI}, reason="分年"
    )
    signed_in(client, world.officer)
    page = page_text(client.get(url("budget-results", cycle.pk)))
    assert "<svg" in page and 'role="img"' in page and "<desc" in page
    assert "申請 2億元" in page and "核定 1億元" in page
    assert "data-chart-table" in page and "200,000,000" in page and "100,000,000" in page


@pytest.mark.parametrize("fmt", ["ods", "xlsx"])
def test_the_results_export_opens_as_a_spreadsheet_with_formula_safe_text(client, world, cycle, fmt):
    (request,) = balancing(world, cycle, title='=HYPERLINK("http://x")')
    services.request_decide(actor=world.officer, request_id=request.pk, decision="approved")
    signed_in(client, world.officer)
    response = client.get(url("budget-results-export", cycle.pk), {"format": fmt})
    assert response.status_code == 200
    assert f"budget-results-{FISCAL_YEAR}.{fmt}" in response["Content-Disposition"]
    content = response.content
    if fmt == "xlsx":
        book = openpyxl.load_workbook(io.BytesIO(content))
        assert book.sheetnames == ["總表", "各機關", "計畫"]
        plans = book["計畫"]
        title = plans.cell(row=2, column=3)
        assert title.value == '=HYPERLINK("http://x")' and title.data_type == "s"
        assert plans.cell(row=2, column=7).value == 60_000_000
    else:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            assert archive.read("mimetype") == b"application/vnd.oasis.opendocument.spreadsheet"
            xml = archive.read("content.xml").decode()
        assert "總表" in xml and "HYPERLINK" in xml and "table:formula" not in xml
    assert client.get(url("budget-results-export", cycle.pk), {"format": "pdf"}).status_code == 400


def test_approving_the_cycle_registers_next_years_controlled_plans(client, world, cycle):
    (request,) = balancing(world, cycle)
    services.request_decide(actor=world.officer, request_id=request.pk, decision="approved")
    signed_in(client, world.officer)
    assert url("budget-cycle-action", cycle.pk, "approve") not in page_text(client.get(url("budget-cycle", cycle.pk)))
    client.post(url("budget-cycle-action", cycle.pk, "approve"))
    assert reload_cycle(cycle).status == BudgetCycle.Status.BALANCING
    signed_in(client, world.supervisor)
    question = page_text(client.post(url("budget-cycle-action", cycle.pk, "approve")))
    assert "確定核定本年度" in question and "無法復原" in question
    assert f"1 件核定（含核減）的申請列為 {FISCAL_YEAR} 年度列管計畫（1 個機關，核定總額新臺幣 6,000萬元）" in question
    assert reload_cycle(cycle).status == BudgetCycle.Status.BALANCING
    client.post(url("budget-cycle-action", cycle.pk, "approve"), {"confirmed": "1"})
    assert reload_cycle(cycle).status == BudgetCycle.Status.APPROVED
    plan = ControlledPlan.objects.get(year=FISCAL_YEAR)
    assert plan.budget == 60_000_000 and reload(request).controlled_plan == plan
    signed_in(client, world.clerk)  # the agency sees its plan registered on the cycle's page and the request's
    assert f'data-plan="{plan.code}"' in page_text(client.get(url("budget-cycle", cycle.pk)))
    assert plan.code in page_text(client.get(url("budget-request", request.pk)))
    signed_in(client, world.tb_clerk)
    assert f'data-plan="{plan.code}"' not in page_text(client.get(url("budget-cycle", cycle.pk)))


# ---- nonsense never breaks a page ----------------------------------------------------------------------------

GARBAGE = [
    {},
    {"public": "１２３", "total": "x" * 5000, "date": "2026-02-30", "decision": "maybe", "requests": ["a", "-1"]},
    {"fiscal_year": "0", "agency": "999999", "photo": "not a file", "minutes": "\x00", "years": "116=1\n116=2"},
    # Digits to str.isdigit that int() refuses, and a number past any key.
    {"cycle": "²", "years": "¹¹⁶=1", "public": "9" * 40},
    {"cycle": "9" * 40, "years": "116=" + "9" * 40},
]


@pytest.mark.parametrize("who", ["officer", "supervisor", "clerk", "head", "reviewer"])
def test_no_page_answers_a_500_to_nonsense(client, world, cycle, who):
    (request,) = in_review(world, cycle)
    meeting = services.meeting_create(
        actor=world.officer, cycle_id=cycle.pk, date=MEETING_DAY, place="會議室", request_ids=[request.pk]
    )
    visit = services.site_visit_create(
        actor=world.officer, cycle_id=cycle.pk, date=MEETING_DAY, request_ids=[request.pk], photos=[jpeg()]
    )
    photo = visit.photos.get()
    pages = [
        url("budget-cycles"),
        url("budget-cycle-new"),
        url("budget-cycle", cycle.pk),
        url("budget-cycle-edit", cycle.pk),
        url("budget-cycle-action", cycle.pk, "start-balancing"),
        url("budget-board", cycle.pk),
        url("budget-results", cycle.pk),
        url("budget-results-export", cycle.pk),
        url("budget-meeting-new", cycle.pk),
        url("budget-visit-new", cycle.pk),
        url("budget-requests"),
        url("budget-request-new"),
        url("budget-request", request.pk),
        url("budget-request-edit", request.pk),
        url("budget-request-recommend", request.pk),
        url("budget-request-decide", request.pk),
        url("budget-request-action", request.pk, "return"),
        url("budget-meetings"),
        url("budget-meeting", meeting.pk),
        url("budget-meeting-edit", meeting.pk),
        url("budget-meeting-decision", meeting.pk, request.pk),
        url("budget-visits"),
        url("budget-visit", visit.pk),
        url("budget-visit-edit", visit.pk),
        url("budget-visit-photo", visit.pk, photo.pk),
    ]
    signed_in(client, getattr(world, who))
    for path in pages:
        for data in GARBAGE:
            assert client.get(path, {k: v for k, v in data.items() if isinstance(v, str)}).status_code < 500, path
            assert client.post(path, data).status_code < 500, path


def test_withdrawing_a_request_asks_first_and_keeps_the_reason(client, world, cycle):
    mine = draft(world.clerk, cycle, title="本局計畫")
    signed_in(client, world.clerk)
    action = url("budget-request-action", mine.pk, "withdraw")
    question = page_text(client.post(action, {"reason": "改以明年度辦理"}))
    assert "確定撤回申請" in question and "「本局計畫」將退出" in question and "無法復原" in question
    assert ">改以明年度辦理</textarea>" in question
    assert reload(mine).status == S.DRAFT
    client.post(action, {"reason": "改以明年度辦理", "confirmed": "1"})
    assert reload(mine).status == S.WITHDRAWN
    # RDEC does not see an agency's draft: a 404, no question.
    other = draft(world.clerk, cycle, title="另一計畫")
    signed_in(client, world.officer)
    assert client.post(url("budget-request-action", other.pk, "withdraw")).status_code == 404
    assert reload(other).status == S.DRAFT
