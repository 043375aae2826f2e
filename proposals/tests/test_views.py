"""The back-office pages of the proposal process: who sees what, which buttons, and what a POST does."""

import datetime
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import Role
from accounts.tests.factories import AgencyFactory
from proposals import services
from proposals.models import Attachment, Proposal, ProposalRound
from reviews import services as review_services
from reviews.models import Adoption, ScoreSheet

pytestmark = pytest.mark.django_db

RUBRIC = [
    {"code": "innovation", "name": "創新性", "weight": 40, "max_score": 10},
    {"code": "feasibility", "name": "可行性", "weight": 60, "max_score": 20},
]
# The second POST of an action that asks first (workflow_site.actions: the 確定 button of its confirmation page).
CONFIRMED = {"confirmed": "1"}
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@dataclass
class World:
    round: ProposalRound
    officer: object
    clerk: object
    head: object
    other_clerk: object
    other_head: object
    reviewers: list

    def proposal(self, clerk=None, title="智慧路燈節能計畫", submit=False, approve=False) -> Proposal:
        clerk = clerk or self.clerk
        proposal = services.proposal_create(actor=clerk, round_id=self.round.pk, title=title, summary="以感測器調光")
        if submit or approve:
            services.proposal_submit(proposal_id=proposal.pk, actor=clerk)
        if approve:
            head = self.head if clerk.agency_id == self.head.agency_id else self.other_head
            services.proposal_approve(proposal_id=proposal.pk, actor=head)
        proposal.refresh_from_db()
        return proposal


@pytest.fixture
def world(make_user) -> World:
    officer = make_user(Role.RDEC_OFFICER, agency=AgencyFactory(code="RDEC", name="研考會"))
    round_ = services.round_create(
        actor=officer,
        year=115,
        title="115年度市政創新提案",
        submission_deadline=datetime.date(2026, 5, 31),
        scoring_deadline=datetime.date(2026, 7, 31),
        rubric=RUBRIC,
        grade_quotas=[{"grade": "excellent", "count": 1}, {"grade": "a", "count": 1}],
        min_members=3,
        min_external=0,
    )
    reviewers = [make_user(Role.REVIEWER, agency=None) for _ in range(3)]
    for index, reviewer in enumerate(reviewers):
        services.round_panel_member_add(
            round_id=round_.pk, actor=officer, user_id=reviewer.pk, kind="external", chair=index == 0
        )
    services.round_open(round_id=round_.pk, actor=officer)
    works, water = AgencyFactory(name="工務局"), AgencyFactory(name="水利局")
    return World(
        round=ProposalRound.objects.get(pk=round_.pk),
        officer=officer,
        clerk=make_user(Role.AGENCY_CLERK, agency=works),
        head=make_user(Role.AGENCY_HEAD, agency=works),
        other_clerk=make_user(Role.AGENCY_CLERK, agency=water),
        other_head=make_user(Role.AGENCY_HEAD, agency=water),
        reviewers=reviewers,
    )


def page(client, user, url: str):
    client.force_login(user)
    return client.get(url)


def text(response) -> str:
    return response.content.decode()


def test_clerks_see_only_their_agencys_proposals_and_another_agencys_draft_is_404(client, world):
    own = world.proposal(title="智慧路燈節能計畫")
    other = world.proposal(clerk=world.other_clerk, title="滯洪池即時水位")

    response = page(client, world.clerk, reverse("proposals:list"))
    assert response.status_code == 200
    assert "智慧路燈節能計畫" in text(response)
    assert "滯洪池即時水位" not in text(response)
    assert "新增提案" in text(response)  # a clerk, and the round is open

    assert client.get(reverse("proposals:detail", args=[own.pk])).status_code == 200
    assert client.get(reverse("proposals:detail", args=[other.pk])).status_code == 404
    assert client.get(reverse("proposals:edit", args=[other.pk])).status_code == 404
    forged = client.post(reverse("proposals:transition", args=[other.pk, "withdraw"]))
    assert forged.status_code == 404
    other.refresh_from_db()
    assert other.status == Proposal.Status.DRAFT


def test_the_list_filters_by_round_and_status(client, world):
    world.proposal(title="草稿中的提案")
    world.proposal(title="已送核的提案", submit=True)
    client.force_login(world.clerk)
    body = text(client.get(reverse("proposals:list"), {"round": world.round.pk, "status": "pending_approval"}))
    assert "已送核的提案" in body
    assert "草稿中的提案" not in body
    assert "待機關主管核定" in body


def test_a_head_sees_approve_and_return_only_for_their_agencys_pending_proposals(client, world):
    pending = world.proposal(submit=True)
    draft = world.proposal(title="尚未送核")
    others = world.proposal(clerk=world.other_clerk, title="水利局的提案", submit=True)

    body = text(page(client, world.head, reverse("proposals:detail", args=[pending.pk])))
    assert "核定送出" in body
    assert "退回" in body
    body = text(client.get(reverse("proposals:detail", args=[draft.pk])))
    assert "核定送出" not in body
    assert client.get(reverse("proposals:detail", args=[others.pk])).status_code == 404

    # Returning needs a reason: the refusal is a message and nothing changes.
    response = client.post(reverse("proposals:transition", args=[pending.pk, "return_to_draft"]), follow=True)
    assert "請說明退回理由。" in text(response)
    pending.refresh_from_db()
    assert pending.status == Proposal.Status.PENDING_APPROVAL

    response = client.post(reverse("proposals:transition", args=[pending.pk, "approve"]), CONFIRMED, follow=True)
    assert response.redirect_chain[-1][0] == reverse("proposals:detail", args=[pending.pk])
    assert "已核定，提案已送研考會。" in text(response)
    pending.refresh_from_db()
    assert pending.status == Proposal.Status.SUBMITTED
    # The history shows who moved it, from which state to which.
    assert "待機關主管核定 → 已送研考會" in text(response)
    assert "草稿 → 待機關主管核定" in text(response)

    # Approving again is a refused transition: a message, not a 500.
    response = client.post(reverse("proposals:transition", args=[pending.pk, "approve"]), CONFIRMED, follow=True)
    assert response.status_code == 200
    assert "不允許此操作" in text(response)


def test_a_draft_offers_no_submit_once_the_round_has_closed(client, world):
    draft = world.proposal(title="來不及送出")
    detail = reverse("proposals:detail", args=[draft.pk])
    assert "送出核定" in text(page(client, world.clerk, detail))
    services.round_close_submissions(round_id=world.round.pk, actor=world.officer)
    body = text(client.get(detail))
    assert "送出核定" not in body
    assert "撤回" in body  # the other buttons of a draft stay
    response = client.post(reverse("proposals:transition", args=[draft.pk, "submit"]), follow=True)
    assert "本年度已截止收件。" in text(response)
    draft.refresh_from_db()
    assert draft.status == Proposal.Status.DRAFT


def test_a_clerk_cannot_approve(client, world):
    pending = world.proposal(submit=True)
    body = text(page(client, world.clerk, reverse("proposals:detail", args=[pending.pk])))
    assert "核定送出" not in body
    assert "撤回" in body  # what the clerk may do

    forged = client.post(reverse("proposals:transition", args=[pending.pk, "approve"]), CONFIRMED)
    assert forged.status_code in (403, 404)
    pending.refresh_from_db()
    assert pending.status == Proposal.Status.PENDING_APPROVAL
    assert not world.round.proposals.filter(status=Proposal.Status.SUBMITTED).exists()


def test_the_officer_screens_a_submitted_proposal(client, world):
    proposal = world.proposal(approve=True)
    detail = reverse("proposals:detail", args=[proposal.pk])

    # While the round still takes proposals, no screening buttons.
    assert "初審通過" not in text(page(client, world.officer, detail))
    services.round_close_submissions(round_id=world.round.pk, actor=world.officer)
    body = text(client.get(detail))
    assert "初審通過" in body
    assert "初審不通過" in body

    response = client.post(
        reverse("proposals:transition", args=[proposal.pk, "fail_screening"]), CONFIRMED, follow=True
    )
    assert "初審未通過須說明理由。" in text(response)
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.SUBMITTED

    # A clerk of the agency cannot screen (no button; a forged POST is refused).
    client.force_login(world.clerk)
    assert "初審通過" not in text(client.get(detail))
    forged = client.post(
        reverse("proposals:transition", args=[proposal.pk, "pass_screening"]), {"reason": "自己過", **CONFIRMED}
    )
    assert forged.status_code in (403, 404)
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.SUBMITTED

    client.force_login(world.officer)
    response = client.post(
        reverse("proposals:transition", args=[proposal.pk, "pass_screening"]),
        {"reason": "符合格式", **CONFIRMED},
        follow=True,
    )
    assert "已完成書面初審：通過。" in text(response)
    proposal.refresh_from_db()
    assert (proposal.status, proposal.screening_reason) == (Proposal.Status.IN_REVIEW, "符合格式")
    assert "已送研考會 → 委員審查中" in text(response)


def test_the_round_page_runs_a_transition_and_shows_a_409_as_a_message(client, world):
    world.proposal(approve=True)
    url = reverse("proposals:round", args=[world.round.pk])
    body = text(page(client, world.officer, url))
    assert "民國115年5月31日" in body
    assert "截止收件" in body
    assert "開始評分" not in body
    assert "/export/?format=ods" in body
    assert len(world.reviewers) == 3 and body.count("外部委員") >= 3

    response = client.post(
        reverse("proposals:round-transition", args=[world.round.pk, "close_submissions"]), follow=True
    )
    assert "已截止收件，進入書面初審。" in text(response)
    assert "書面初審" in text(response)
    assert "開始評分" in text(response)

    response = client.post(
        reverse("proposals:round-transition", args=[world.round.pk, "start_scoring"]), CONFIRMED, follow=True
    )
    assert response.status_code == 200
    assert "尚有 1 件提案未完成書面初審。" in text(response)
    world.round.refresh_from_db()
    assert world.round.status == ProposalRound.Status.SCREENING


def test_the_round_page_shows_the_panel_composition_problem(client, world, make_user):
    proposal = world.proposal(approve=True)
    round_ = services.round_create(
        actor=world.officer,
        year=116,
        title="116年度市政創新提案",
        submission_deadline=datetime.date(2027, 5, 31),
        scoring_deadline=datetime.date(2027, 7, 31),
        rubric=RUBRIC,
        min_members=3,
        min_external=0,
    )
    services.round_panel_member_add(
        round_id=round_.pk, actor=world.officer, user_id=make_user(Role.REVIEWER, agency=None).pk, kind="external"
    )
    services.round_open(round_id=round_.pk, actor=world.officer)
    services.round_close_submissions(round_id=round_.pk, actor=world.officer)
    client.force_login(world.officer)
    response = client.post(
        reverse("proposals:round-transition", args=[round_.pk, "start_scoring"]), CONFIRMED, follow=True
    )
    assert "委員人數 1 人，少於規定的 3 人。" in text(response)
    round_.refresh_from_db()
    assert round_.status == ProposalRound.Status.SCREENING
    assert proposal.round_id != round_.pk


def test_only_rdec_staff_open_the_round_page(client, world):
    for user in (world.clerk, world.head, world.reviewers[0]):
        assert page(client, user, reverse("proposals:round", args=[world.round.pk])).status_code == 403
        response = client.post(reverse("proposals:round-transition", args=[world.round.pk, "close_submissions"]))
        assert response.status_code == 403
    world.round.refresh_from_db()
    assert world.round.status == ProposalRound.Status.OPEN


def test_a_clerk_drafts_with_an_attachment_and_a_bad_file_is_refused_in_chinese(client, world):
    client.force_login(world.clerk)
    form = {
        "round": world.round.pk,
        "title": "行動支付繳納停車費",
        "summary": "路邊停車以手機繳費",
        "contact_email": "clerk@example.gov.tw",
    }
    fake = SimpleUploadedFile("計畫書.pdf", b"just some text, not a PDF", content_type="application/pdf")
    response = client.post(reverse("proposals:create"), {**form, "file": fake})
    assert response.status_code == 200
    assert "只接受 PDF、DOCX 或 ODT 格式的檔案（依檔案內容判斷）。" in text(response)
    assert not Proposal.objects.exists()
    assert not Attachment.objects.exists()

    response = client.post(reverse("proposals:create"), {**form, "title": ""})
    assert "此欄位為必填。" in text(response)
    assert not Proposal.objects.exists()

    good = SimpleUploadedFile("計畫書.pdf", PDF, content_type="application/pdf")
    response = client.post(reverse("proposals:create"), {**form, "file": good}, follow=True)
    proposal = Proposal.objects.get()
    assert response.redirect_chain[-1][0] == reverse("proposals:detail", args=[proposal.pk])
    assert (proposal.agency_id, proposal.status) == (world.clerk.agency_id, Proposal.Status.DRAFT)
    attachment = proposal.attachments.get()
    assert (attachment.kind, attachment.name) == ("pdf", "計畫書.pdf")
    assert "計畫書.pdf" in text(response)
    download = client.get(reverse("proposals:attachment", args=[proposal.pk, attachment.pk]))
    assert b"".join(download.streaming_content) == PDF

    # The draft's own upload form refuses a wrong file with a message.
    bad = SimpleUploadedFile("notes.docx", b"PK\x03\x04 not really a zip", content_type="application/octet-stream")
    response = client.post(reverse("proposals:attachment-add", args=[proposal.pk]), {"file": bad}, follow=True)
    assert "只接受 PDF、DOCX 或 ODT 格式的檔案" in text(response)
    assert proposal.attachments.count() == 1

    # Editing the draft goes through the service.
    response = client.post(
        reverse("proposals:edit", args=[proposal.pk]), {**form, "title": "行動支付繳納路邊停車費"}, follow=True
    )
    assert "已儲存草稿。" in text(response)
    proposal.refresh_from_db()
    assert proposal.title == "行動支付繳納路邊停車費"


def test_only_clerks_may_open_the_new_proposal_form(client, world):
    assert page(client, world.head, reverse("proposals:create")).status_code == 403
    assert page(client, world.officer, reverse("proposals:create")).status_code == 403
    assert "新增提案" not in text(client.get(reverse("proposals:list")))
    assert page(client, world.clerk, reverse("proposals:create")).status_code == 200


def test_the_list_takes_a_constant_number_of_queries(client, world):
    client.force_login(world.officer)
    url = reverse("proposals:list")
    world.proposal(approve=True)
    client.get(url)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for n in range(12):
        clerk = world.clerk if n % 2 else world.other_clerk
        world.proposal(clerk=clerk, title=f"提案{n}", approve=True)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.status_code == 200
    assert text(response).count("提案") >= 13
    assert len(many.captured_queries) == len(few.captured_queries)


def _graded(world) -> Proposal:
    """One proposal through screening, scoring and finalising, by services: graded 優等."""
    proposal = world.proposal(approve=True)
    rid = world.round.pk
    services.round_close_submissions(round_id=rid, actor=world.officer)
    services.proposal_screen(proposal_id=proposal.pk, actor=world.officer, passed=True)
    services.round_start_scoring(round_id=rid, actor=world.officer)
    for sheet in ScoreSheet.objects.filter(panel_id=world.round.panel_id):
        review_services.sheet_submit(
            sheet_id=sheet.pk, actor=sheet.member.user, scores={"innovation": 8, "feasibility": 15}
        )
    services.round_close_scoring(round_id=rid, actor=world.officer)
    return proposal


def test_the_preview_then_finalising_and_forwarding_to_an_agency_that_answers(client, world):
    proposal = _graded(world)
    url = reverse("proposals:round", args=[world.round.pk])
    body = text(page(client, world.officer, url))
    assert "結果預覽（尚未確定）" in body
    assert "77.00" in body
    assert "優等" in body

    response = client.post(
        reverse("proposals:round-transition", args=[world.round.pk, "finalise"]), CONFIRMED, follow=True
    )
    assert "已確定評定結果。" in text(response)
    proposal.refresh_from_db()
    assert (proposal.status, proposal.grade, proposal.rank) == (Proposal.Status.GRADED, "excellent", 1)
    body = text(client.get(reverse("proposals:detail", args=[proposal.pk])))
    assert "轉請參採" in body
    assert "77.00" in body

    response = client.post(
        reverse("proposals:transition", args=[proposal.pk, "forward"]),
        {"agencies": [world.other_head.agency_id]},
        follow=True,
    )
    assert "已轉請相關機關參採。" in text(response)
    adoption = Adoption.objects.get()

    # The water bureau's head answers; the works bureau sees no such question.
    assert page(client, world.head, reverse("proposals:adoption", args=[adoption.pk])).status_code == 404
    body = text(page(client, world.other_head, reverse("proposals:adoptions")))
    assert proposal.title in body
    url = reverse("proposals:adoption", args=[adoption.pk])
    assert "民國" in text(client.get(url))
    response = client.post(url, {"response": "adopt", "reason": ""})
    assert "此欄位為必填。" in text(response)
    response = client.post(url, {"response": "partial", "reason": "先於兩區試辦"}, follow=True)
    assert "已回復參採意見。" in text(response)
    adoption.refresh_from_db()
    proposal.refresh_from_db()
    assert (adoption.status, adoption.response) == (Adoption.Status.ANSWERED, "partial")
    assert proposal.status == Proposal.Status.CLOSED
