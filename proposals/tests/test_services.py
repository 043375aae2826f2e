"""The proposal process's rules, denials and bad input, through the services and the API."""

import datetime
import io
import zipfile

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.roles import Role
from accounts.tests.factories import DelegationFactory
from notifications import registry
from notifications.models import Notification, ReminderRule
from notifications.services import deadline_scan
from proposals import services
from proposals.models import Proposal
from proposals.tests.factories import agency_people, graded_round, make_round, sent_proposal
from reviews import services as review_services
from reviews.models import Adoption
from workflow_site.errors import NotFound, PermissionDenied, TransitionNotAllowed
from workflow_site.models import TransitionLog

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


ODT = zip_bytes({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"})
DOCX = zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})


@pytest.fixture
def setting(make_user):
    officer = make_user(Role.RDEC_OFFICER)
    round_ = make_round(officer)
    services.round_open(round_id=round_.pk, actor=officer)
    pwb = agency_people("PWB")
    tb = agency_people("TB")
    return officer, round_, pwb, tb


def test_clerk_drafts_for_their_own_agency_only(setting):
    _officer, round_, (pwb, clerk, _head), _tb = setting
    proposal = services.proposal_create(actor=clerk, round_id=round_.pk, title="標題", summary="摘要")
    assert proposal.agency == pwb
    assert proposal.status == Proposal.Status.DRAFT


def test_other_agencies_never_see_a_draft(setting, api_client):
    _officer, round_, (_pwb, clerk, _head), (_tb, tb_clerk, tb_head) = setting
    draft = services.proposal_create(actor=clerk, round_id=round_.pk, title="草稿", summary="摘要")
    for outsider in (tb_clerk, tb_head):
        api_client.force_authenticate(outsider)
        assert api_client.get(f"/api/v1/proposals/{draft.pk}/").status_code == 404
        assert api_client.post(f"/api/v1/proposals/{draft.pk}/submit/").status_code == 404
        assert draft.pk not in [p["id"] for p in api_client.get("/api/v1/proposals/").json()["results"]]
    with pytest.raises(NotFound):
        services.proposal_submit(proposal_id=draft.pk, actor=tb_clerk)


def test_rdec_does_not_see_drafts_or_proposals_awaiting_sign_off(setting, api_client):
    officer, round_, (_pwb, clerk, _head), _tb = setting
    draft = services.proposal_create(actor=clerk, round_id=round_.pk, title="草稿", summary="摘要")
    api_client.force_authenticate(officer)
    assert api_client.get(f"/api/v1/proposals/{draft.pk}/").status_code == 404
    services.proposal_submit(proposal_id=draft.pk, actor=clerk)
    assert api_client.get(f"/api/v1/proposals/{draft.pk}/").status_code == 404


def test_only_the_agencys_head_signs_off(setting, api_client):
    _officer, round_, (_pwb, clerk, head), (_tb, _tb_clerk, tb_head) = setting
    proposal = services.proposal_create(actor=clerk, round_id=round_.pk, title="標題", summary="摘要")
    services.proposal_submit(proposal_id=proposal.pk, actor=clerk)
    api_client.force_authenticate(clerk)
    assert api_client.post(f"/api/v1/proposals/{proposal.pk}/approve/").status_code == 403
    api_client.force_authenticate(tb_head)
    assert api_client.post(f"/api/v1/proposals/{proposal.pk}/approve/").status_code == 404
    api_client.force_authenticate(head)
    returned = api_client.post(f"/api/v1/proposals/{proposal.pk}/return/", {"reason": "請補充效益"}, format="json")
    assert returned.status_code == 200
    assert returned.json()["status"] == "draft"
    log = TransitionLog.objects.filter(object_id=proposal.pk, transition="return_to_draft").get()
    assert (log.actor, log.reason) == (head, "請補充效益")


def test_a_transition_from_the_wrong_state_is_a_409(setting, api_client):
    _officer, round_, (_pwb, clerk, head), _tb = setting
    proposal = sent_proposal(round_, clerk, head)
    api_client.force_authenticate(clerk)
    response = api_client.post(f"/api/v1/proposals/{proposal.pk}/withdraw/")
    assert response.status_code == 409
    assert response.json()["code"] == "transition_not_allowed"
    assert "已送研考會" in response.json()["detail"]


def test_only_rdec_officers_screen_and_run_rounds(setting, api_client):
    officer, round_, (_pwb, clerk, head), _tb = setting
    proposal = sent_proposal(round_, clerk, head)
    api_client.force_authenticate(head)
    assert api_client.post(f"/api/v1/proposal-rounds/{round_.pk}/close-submissions/").status_code == 403
    services.round_close_submissions(round_id=round_.pk, actor=officer)
    assert (
        api_client.post(f"/api/v1/proposals/{proposal.pk}/screen/", {"passed": True}, format="json").status_code == 403
    )
    api_client.force_authenticate(officer)
    refused = api_client.post(f"/api/v1/proposals/{proposal.pk}/screen/", {"passed": False}, format="json")
    assert refused.status_code == 400
    assert "須說明理由" in str(refused.json()["reason"])
    out = api_client.post(
        f"/api/v1/proposals/{proposal.pk}/screen/", {"passed": False, "reason": "非創新作法"}, format="json"
    )
    assert out.json()["status"] == "screened_out"


def test_stage_rules_refuse_with_their_own_message_and_code(setting):
    """The round's stage, stated once on the transitions, refuses the services with the same 409 as before."""
    officer, round_, (_pwb, clerk, head), _tb = setting
    draft = services.proposal_create(actor=clerk, round_id=round_.pk, title="晚到的提案", summary="摘要")
    sent = sent_proposal(round_, clerk, head)
    with pytest.raises(TransitionNotAllowed) as exc:
        services.proposal_screen(proposal_id=sent.pk, actor=officer, passed=True)
    assert (exc.value.code, str(exc.value.message)) == ("round_not_screening", "本年度目前不在書面初審階段。")
    services.round_close_submissions(round_id=round_.pk, actor=officer)
    with pytest.raises(TransitionNotAllowed) as exc:
        services.proposal_submit(proposal_id=draft.pk, actor=clerk)
    assert (exc.value.code, str(exc.value.message)) == ("round_not_open", "本年度已截止收件。")
    assert Proposal.objects.get(pk=draft.pk).status == Proposal.Status.DRAFT


def test_results_are_published_only_once_finalised(setting):
    officer, round_, (_pwb, clerk, head), _tb = setting
    proposal = sent_proposal(round_, clerk, head)
    services.round_close_submissions(round_id=round_.pk, actor=officer)
    services.proposal_screen(proposal_id=proposal.pk, actor=officer, passed=True)
    services.round_start_scoring(round_id=round_.pk, actor=officer)
    services.round_close_scoring(round_id=round_.pk, actor=officer)
    with pytest.raises(TransitionNotAllowed) as exc:
        services.round_publish(round_id=round_.pk, actor=officer)
    assert (exc.value.code, str(exc.value.message)) == ("not_finalised", "結果尚未確定，不能公布。")


def test_start_scoring_waits_for_screening_and_the_panel_rule(setting, make_user):
    officer, round_, (_pwb, clerk, head), _tb = setting
    proposal = sent_proposal(round_, clerk, head)
    services.round_close_submissions(round_id=round_.pk, actor=officer)
    with pytest.raises(TransitionNotAllowed) as exc:
        services.round_start_scoring(round_id=round_.pk, actor=officer)
    assert exc.value.code == "unscreened_proposals"
    services.proposal_screen(proposal_id=proposal.pk, actor=officer, passed=True)
    round_.panel.min_members = 7
    round_.panel.save(update_fields=["min_members"])
    with pytest.raises(TransitionNotAllowed) as exc:
        services.round_start_scoring(round_id=round_.pk, actor=officer)
    assert exc.value.code == "panel_composition"
    assert "少於規定的 7 人" in str(exc.value.message)


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [("a.pdf", PDF, "pdf"), ("b.odt", ODT, "odt"), ("c.docx", DOCX, "docx"), ("renamed.txt", PDF, "pdf")],
)
def test_attachments_are_recognised_by_content(setting, name, content, kind):
    _officer, round_, (_pwb, clerk, _head), _tb = setting
    proposal = services.proposal_create(actor=clerk, round_id=round_.pk, title="標題", summary="摘要")
    attachment = services.attachment_add(proposal_id=proposal.pk, actor=clerk, upload=SimpleUploadedFile(name, content))
    assert (attachment.kind, attachment.size) == (kind, len(content))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("fake.pdf", b"MZ\x90\x00 not a pdf", "只接受 PDF、DOCX 或 ODT"),
        (
            "sheet.xlsx",
            zip_bytes({"[Content_Types].xml": b"<T/>", "xl/workbook.xml": b"<w/>"}),
            "只接受 PDF、DOCX 或 ODT",
        ),
        ("empty.pdf", b"", "檔案是空的"),
        ("huge.pdf", PDF + b"0" * (20 * 1024 * 1024), "超過上限 20 MB"),
    ],
)
def test_bad_attachments_are_refused_with_the_reason(setting, api_client, name, content, message):
    _officer, round_, (_pwb, clerk, _head), _tb = setting
    proposal = services.proposal_create(actor=clerk, round_id=round_.pk, title="標題", summary="摘要")
    api_client.force_authenticate(clerk)
    response = api_client.post(
        f"/api/v1/proposals/{proposal.pk}/attachments/", {"file": SimpleUploadedFile(name, content)}, format="multipart"
    )
    assert response.status_code == 400
    assert message in str(response.json())
    assert not proposal.attachments.exists()


def test_scores_out_of_range_are_a_400_naming_the_criterion(setting, api_client):
    officer, round_, (_pwb, clerk, head), _tb = setting
    proposal = sent_proposal(round_, clerk, head)
    services.round_close_submissions(round_id=round_.pk, actor=officer)
    services.proposal_screen(proposal_id=proposal.pk, actor=officer, passed=True)
    services.round_start_scoring(round_id=round_.pk, actor=officer)
    member = round_.panel.members.select_related("user").first()
    sheet = member.sheets.get()
    api_client.force_authenticate(member.user)
    # A draft keeps its valid scores and names the refused one (reviews); a submit refuses the whole sheet.
    response = api_client.post(
        f"/api/v1/score-sheets/{sheet.pk}/submit/", {"scores": {"innovation": 11}}, format="json"
    )
    assert response.status_code == 400
    assert "innovation" in response.json()
    assert "0 到 10" in str(response.json()["innovation"])


def test_reviewers_see_only_what_they_score_and_not_when_recused(setting, api_client, make_user):
    officer, round_, (pwb, clerk, head), (tb, tb_clerk, tb_head) = setting
    insider = make_user(Role.REVIEWER, agency=pwb)
    services.round_panel_member_add(round_id=round_.pk, actor=officer, user_id=insider.pk, kind="internal")
    own = sent_proposal(round_, clerk, head, "工務局提案")
    other = sent_proposal(round_, tb_clerk, tb_head, "交通局提案")
    outsider = make_user(Role.REVIEWER)
    services.round_close_submissions(round_id=round_.pk, actor=officer)
    for p in (own, other):
        services.proposal_screen(proposal_id=p.pk, actor=officer, passed=True)
    services.round_start_scoring(round_id=round_.pk, actor=officer)
    api_client.force_authenticate(insider)
    visible = {p["id"] for p in api_client.get("/api/v1/proposals/").json()["results"]}
    assert visible == {other.pk}
    assert api_client.get(f"/api/v1/proposals/{own.pk}/").status_code == 404
    api_client.force_authenticate(outsider)
    assert api_client.get("/api/v1/proposals/").json()["count"] == 0


def test_forwarding_asks_agencies_who_answer_and_the_last_answer_closes(setting, api_client):
    officer, round_, (pwb, clerk, head), (tb, tb_clerk, _tb_head) = setting
    winner = sent_proposal(round_, clerk, head, "得獎提案")
    graded_round(officer, [(winner, 9)], round_)
    winner.refresh_from_db()
    assert (winner.status, winner.grade, winner.rank) == ("graded", "excellent", 1)
    api_client.force_authenticate(officer)
    response = api_client.post(f"/api/v1/proposals/{winner.pk}/forward/", {"agencies": [tb.pk, pwb.pk]}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "forwarded"
    adoption = Adoption.objects.get(proposal=winner, agency=tb)
    assert adoption.due_date > datetime.date.today()

    api_client.force_authenticate(clerk)  # PWB's clerk sees only PWB's question
    assert {a["agency"] for a in api_client.get("/api/v1/adoptions/").json()["results"]} == {pwb.pk}
    assert (
        api_client.post(f"/api/v1/adoptions/{adoption.pk}/respond/", {"response": "adopt", "reason": "x"}).status_code
        == 404
    )
    api_client.force_authenticate(tb_clerk)
    bad = api_client.post(f"/api/v1/adoptions/{adoption.pk}/respond/", {"response": "maybe", "reason": "x"})
    assert bad.status_code == 400
    answered = api_client.post(
        f"/api/v1/adoptions/{adoption.pk}/respond/", {"response": "partial", "reason": "部分路段試辦"}
    )
    assert answered.json()["status"] == "answered"
    winner.refresh_from_db()
    assert winner.status == "forwarded"
    pwb_question = Adoption.objects.get(proposal=winner, agency=pwb)
    services.adoption_respond(adoption_id=pwb_question.pk, actor=clerk, response="decline", reason="已有類似計畫")
    winner.refresh_from_db()
    assert winner.status == "closed"


def test_the_answer_reminder_names_the_proposal_and_links_to_its_answer_page(setting):
    officer, round_, (_pwb, clerk, head), (tb, tb_clerk, _tb_head) = setting
    winner = sent_proposal(round_, clerk, head, "得獎提案")
    graded_round(officer, [(winner, 9)], round_)
    (adoption,) = services.proposal_forward(proposal_id=winner.pk, actor=officer, agency_ids=[tb.pk])
    (item,) = registry.get("reviews.adoption").for_user(tb_clerk)
    assert (item.object_id, item.title, item.url) == (
        adoption.pk,
        "參採回復：得獎提案",
        f"/proposals/adoptions/{adoption.pk}/",
    )


def test_the_adoption_api_answers_proposals_questions_only_and_filters_by_proposal(setting, api_client):
    officer, round_, (_pwb, clerk, head), (tb, tb_clerk, _tb_head) = setting
    first, second = (sent_proposal(round_, clerk, head, title) for title in ("甲案", "乙案"))
    graded_round(officer, [(first, 9), (second, 8)], round_)
    for proposal in (first, second):
        services.proposal_forward(proposal_id=proposal.pk, actor=officer, agency_ids=[tb.pk])
    # Another process's question to the same agency (here about a delegation) is not the proposals' API's.
    (elsewhere,) = review_services.adoptions_request(
        subject=DelegationFactory(), agency_ids=[tb.pk], due_date=datetime.date(2027, 1, 5), actor=officer
    )
    api_client.force_authenticate(tb_clerk)
    listed = api_client.get("/api/v1/adoptions/").json()["results"]
    assert sorted((a["proposal"], a["proposal_title"]) for a in listed) == [(first.pk, "甲案"), (second.pk, "乙案")]
    filtered = api_client.get(f"/api/v1/adoptions/?proposal={second.pk}").json()["results"]
    assert [a["proposal"] for a in filtered] == [second.pk]
    for bogus in ("abc", "999999"):
        assert api_client.get(f"/api/v1/adoptions/?proposal={bogus}").status_code == 400
    assert api_client.get(f"/api/v1/adoptions/{elsewhere.pk}/").status_code == 404
    response = api_client.post(f"/api/v1/adoptions/{elsewhere.pk}/respond/", {"response": "adopt", "reason": "x"})
    assert response.status_code == 404
    with pytest.raises(NotFound):
        services.adoption_respond(adoption_id=elsewhere.pk, actor=tb_clerk, response="adopt", reason="x")


def test_grades_below_the_forwarding_grade_are_not_forwarded(setting):
    officer, round_, (_pwb, clerk, head), (tb, _c, _h) = setting
    proposals = [sent_proposal(round_, clerk, head, f"提案{n}") for n in range(4)]
    graded_round(officer, [(p, 9 - n) for n, p in enumerate(proposals)], round_)
    last = Proposal.objects.get(pk=proposals[3].pk)
    assert last.grade == ""  # three seats (1/1/1), the fourth gets none
    with pytest.raises(TransitionNotAllowed) as exc:
        services.proposal_forward(proposal_id=last.pk, actor=officer, agency_ids=[tb.pk])
    assert exc.value.code == "grade_not_forwarded"
    assert not Adoption.objects.filter(proposal=last).exists()


def test_finalising_a_round_logs_every_proposal(setting):
    officer, round_, (_pwb, clerk, head), _tb = setting
    proposals = [sent_proposal(round_, clerk, head, f"提案{n}") for n in range(3)]
    graded_round(officer, [(p, 8 - n) for n, p in enumerate(proposals)], round_)
    logs = TransitionLog.objects.filter(transition="set_grade").order_by("object_id")
    assert [(log.object_id, log.source, log.target, log.actor) for log in logs] == [
        (p.pk, "in_review", "graded", officer) for p in proposals
    ]
    assert list(Proposal.objects.order_by("rank").values_list("grade", flat=True)) == ["excellent", "a", "b"]


def test_public_cannot_use_the_api(api_client, setting):
    assert api_client.get("/api/v1/proposals/").status_code == 401
    assert api_client.get("/api/v1/proposal-rounds/").status_code == 401


def test_submission_deadline_reminds_clerks_with_drafts(setting, make_user):
    officer, round_, (pwb, clerk, _head), _tb = setting
    draft = services.proposal_create(actor=clerk, round_id=round_.pk, title="未送出", summary="摘要")
    # The data migration's rule (a transactional test elsewhere may have flushed it).
    ReminderRule.objects.get_or_create(
        kind="proposals.submission", defaults={"name": "提案送件期限提醒", "offsets": [-3, 0], "channels": ["email"]}
    )
    with time_machine.travel(
        datetime.datetime(2026, 12, 28, 9, tzinfo=datetime.timezone(datetime.timedelta(hours=8))), tick=False
    ):
        deadline_scan()
    reminder = Notification.objects.get(kind="proposals.submission", channel="email")
    assert (reminder.recipient, reminder.object_id, reminder.offset) == (clerk, draft.pk, -3)
    assert "民國115年12月31日" in reminder.subject


def test_invalid_round_settings_are_refused(make_user):
    officer = make_user(Role.RDEC_OFFICER)
    with pytest.raises(ValidationError) as exc:
        make_round(officer, grade_quotas=[{"grade": "gold", "count": 1}])
    assert "未知的等第" in str(exc.value)
    clerk = make_user(Role.AGENCY_CLERK)
    with pytest.raises(PermissionDenied):
        make_round(clerk)


def test_submit_approve_and_return_tell_the_next_person(setting):
    _officer, round_, (_pwb, clerk, head), (_tb, other_clerk, other_head) = setting
    notices = Notification.objects.filter(purpose="notice", channel="in_app")
    proposal = services.proposal_create(actor=clerk, round_id=round_.pk, title="智慧路燈", summary="摘要")

    services.proposal_submit(proposal_id=proposal.pk, actor=clerk)
    assert list(notices.values_list("recipient", "subject")) == [(head.pk, "【待核定】提案「智慧路燈」待您核定")]

    services.proposal_return(proposal_id=proposal.pk, actor=head, reason="請補 100% 完成的預算表")
    returned = notices.get(recipient=clerk)
    reason = returned.body.split("\n\n")[1]
    assert reason == "您撰寫的提案「智慧路燈」已由單位主管退回修改，理由：請補 100% 完成的預算表"

    services.proposal_submit(proposal_id=proposal.pk, actor=clerk)
    services.proposal_approve(proposal_id=proposal.pk, actor=head)
    assert notices.filter(recipient=clerk, subject="【收件通知】提案「智慧路燈」已送達研考會").count() == 1
    assert not notices.filter(recipient__in=[other_clerk, other_head]).exists()  # another agency hears nothing
    assert notices.filter(recipient=head).count() == 2
    assert all(n.url == f"/proposals/{proposal.pk}/" for n in notices)
