"""The pre-budget review through its services: a whole cycle, every bad input of issue 14 (nothing saved), the
ceilings and their override, the ledger, and the denials."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection, transaction

from plan_control.budget import selectors, services
from plan_control.budget.tests.factories import (
    AFTER_DEADLINE,
    FISCAL_YEAR,
    MEETING_DAY,
    WAN,
    YI,
    draft,
    jpeg,
    make_cycle,
    pdf,
    png,
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
from workflow_site.errors import Conflict, NotFound, PermissionDenied, TransitionNotAllowed
from workflow_site.models import TransitionLog

pytestmark = pytest.mark.django_db
S = BudgetRequest.Status


@pytest.fixture(autouse=True)
def _frozen(frozen_clock):
    pass


def ledger_rows(request, stage: str) -> dict[str, tuple]:
    return {
        row.field: (row.from_amount, row.to_amount, row.actor_id, row.reason)
        for row in AmountLedger.objects.filter(request=request, field__startswith=stage)
    }


def to_balancing(world, cycle, recommendations: dict[int, dict]) -> None:
    """Start the review, recommend `recommendations[request_id]` for each request, start balancing."""
    services.cycle_start_review(actor=world.officer, cycle_id=cycle.pk)
    for request_id, amounts in recommendations.items():
        services.request_recommend(actor=world.officer, request_id=request_id, amounts=amounts)
    services.cycle_start_balancing(actor=world.officer, cycle_id=cycle.pk)


# ---- a whole cycle -------------------------------------------------------------------------------------------


def test_a_whole_cycle_from_drafts_to_next_years_controlled_plans(world, cycle):
    w = world
    road = sent(w.clerk, w.head, cycle, title="東西向快速道路", public=8 * YI, central=2 * YI)
    assert (road.status, road.central_review, road.plan_total) == (S.SUBMITTED, True, 10 * YI)
    # The head sends one back; the clerk fixes it and sends it again.
    park = draft(w.clerk, cycle, title="河濱公園", public=9000 * WAN)
    services.request_document_add(actor=w.clerk, request_id=park.pk, upload=pdf())
    services.request_submit(actor=w.clerk, request_id=park.pk)
    services.request_return(actor=w.head, request_id=park.pk, reason="經費請再檢討")
    assert (reload(park).status, reload(park).return_reason) == (S.RETURNED, "經費請再檢討")
    services.request_update(actor=w.clerk, request_id=park.pk, amounts={"public": 8000 * WAN}, total=8000 * WAN)
    services.request_submit(actor=w.clerk, request_id=park.pk)
    services.request_approve(actor=w.head, request_id=park.pk)
    # RDEC sends one back after sign-off; it comes back through the head.
    port = sent(w.tb_clerk, w.tb_head, cycle, title="港區綠能", kind="continuing", public=0, fund=5000 * WAN)
    services.request_return(actor=w.officer, request_id=port.pk, reason="請補充效益評估")
    services.request_update(actor=w.tb_clerk, request_id=port.pk, justification="補充效益評估。")
    services.request_submit(actor=w.tb_clerk, request_id=port.pk)
    services.request_approve(actor=w.tb_head, request_id=port.pk)
    late = draft(w.tb_clerk, cycle, title="來不及送出")
    services.request_start_review(actor=w.officer, request_id=road.pk)

    services.cycle_start_review(actor=w.officer, cycle_id=cycle.pk)
    statuses = dict(BudgetRequest.objects.values_list("pk", "status"))
    assert statuses == {road.pk: S.IN_REVIEW, park.pk: S.IN_REVIEW, port.pk: S.IN_REVIEW, late.pk: S.WITHDRAWN}
    lapse = TransitionLog.objects.get(object_id=late.pk, transition="lapse")
    assert (lapse.actor, lapse.reason) == (w.officer, "初審開始時尚未送達研考會")

    meeting = services.meeting_create(
        actor=w.officer,
        cycle_id=cycle.pk,
        date=MEETING_DAY,
        place="研考會第一會議室",
        request_ids=[road.pk, park.pk],
        attendee_ids=[w.reviewer.pk],
    )
    assert set(meeting.agencies.all()) == {w.pwb}
    services.meeting_record_decision(
        actor=w.officer,
        meeting_id=meeting.pk,
        request_id=road.pk,
        amounts={"public": 7 * YI, "central": 2 * YI},
        note="分年辦理",
    )
    decision = services.meeting_record_decision(
        actor=w.officer, meeting_id=meeting.pk, request_id=park.pk, amounts={"public": 8000 * WAN}
    )
    assert (decision.public, decision.total) == (8000 * WAN, 8000 * WAN)
    services.meeting_hold(actor=w.officer, meeting_id=meeting.pk, minutes="一、道路案分年辦理。")
    services.request_recommend(actor=w.officer, request_id=port.pk, amounts={"fund": 4000 * WAN}, note="書面審查")
    visit = services.site_visit_create(
        actor=w.officer,
        cycle_id=cycle.pk,
        date=datetime.date(2026, 6, 3),
        request_ids=[road.pk],
        findings="用地已取得。",
        photos=[jpeg(), png()],
    )
    assert sorted(visit.photos.values_list("format", flat=True)) == ["jpeg", "png"]
    assert reload(road).status == S.RECOMMENDED
    assert (reload(road).recommended_public, reload(road).recommended_central) == (7 * YI, 2 * YI)

    services.cycle_start_balancing(actor=w.officer, cycle_id=cycle.pk)
    services.request_decide(actor=w.officer, request_id=road.pk, decision="approved")  # as recommended
    services.request_decide(
        actor=w.officer, request_id=park.pk, decision="cut", amounts={"public": 7000 * WAN}, reason="分年編列"
    )
    services.request_decide(actor=w.officer, request_id=port.pk, decision="rejected", reason="效益不明")
    with pytest.raises(PermissionDenied):
        services.cycle_approve(actor=w.officer, cycle_id=cycle.pk)  # the supervisor approves

    services.cycle_approve(actor=w.supervisor, cycle_id=cycle.pk)
    cycle.refresh_from_db()
    assert cycle.status == BudgetCycle.Status.APPROVED and cycle.approved_at is not None
    plans = {p.title: p for p in ControlledPlan.objects.all()}
    assert sorted(plans) == ["東西向快速道路", "河濱公園"]
    assert (plans["東西向快速道路"].budget, plans["河濱公園"].budget) == (9 * YI, 7000 * WAN)
    assert {(p.year, p.status, p.agency_id) for p in plans.values()} == {(FISCAL_YEAR, "registered", w.pwb.pk)}
    assert reload(road).controlled_plan == plans["東西向快速道路"]
    assert plans["河濱公園"].code == f"{FISCAL_YEAR}-B{park.pk:05d}"
    assert TransitionLog.objects.filter(transition="register_from_budget", actor=w.supervisor).count() == 2
    # Approving twice is refused and makes no second plan.
    with pytest.raises(TransitionNotAllowed):
        services.cycle_approve(actor=w.supervisor, cycle_id=cycle.pk)
    assert ControlledPlan.objects.count() == 2
    services.cycle_close(actor=w.officer, cycle_id=cycle.pk)

    # Every amount is in the ledger: requested when drafted, recommended by the meeting, approved by the decision.
    assert ledger_rows(road, "requested")["requested_public"] == (None, 8 * YI, w.clerk.pk, "提出申請")
    assert ledger_rows(road, "recommended")["recommended_public"] == (None, 7 * YI, w.officer.pk, "分年辦理")
    assert ledger_rows(road, "approved")["approved_central"] == (None, 2 * YI, w.officer.pk, "")
    assert ledger_rows(park, "requested")["requested_public"] == (9000 * WAN, 8000 * WAN, w.clerk.pk, "修正申請")
    assert ledger_rows(park, "approved")["approved_public"] == (None, 7000 * WAN, w.officer.pk, "分年編列")
    assert ledger_rows(port, "approved")["approved_fund"] == (None, 0, w.officer.pk, "效益不明")
    log = list(TransitionLog.objects.filter(object_id=port.pk).order_by("pk").values_list("transition", "actor"))
    assert log == [
        ("submit", w.tb_clerk.pk),
        ("sign_off", w.tb_head.pk),
        ("return_for_changes", w.officer.pk),
        ("submit", w.tb_clerk.pk),
        ("sign_off", w.tb_head.pk),
        ("start_review", w.officer.pk),
        ("recommend", w.officer.pk),
        ("reject", w.officer.pk),
    ]


# ---- bad input: 400 naming the field, nothing saved ----------------------------------------------------------


BAD_REQUESTS = [
    ({"amounts": {"public": -60_000_000}, "total": -60_000_000}, "amounts"),
    ({"amounts": {"public": 60_000_000.5}, "total": 60_000_000}, "amounts"),
    ({"amounts": {"public": "60000000"}, "total": 60_000_000}, "amounts"),
    ({"amounts": {"public": True}, "total": 1}, "amounts"),
    ({"amounts": {"public": 60_000_000, "fund": 10_000_000}, "total": 60_000_000}, "amounts"),
    ({"amounts": {"public": 2**63}, "total": 2**63}, "amounts"),
    ({"amounts": {"public": 10**13 + 1}, "total": 10**13 + 1}, "total"),
    ({"amounts": {"loan": 60_000_000}, "total": 60_000_000}, "amounts"),
    ({"amounts": [60_000_000], "total": 60_000_000}, "amounts"),
    ({"total": 60_000_000.0}, "total"),
    ({"years": {"200": 1}}, "years"),
    ({"years": {"117": -1}}, "years"),
    ({"years": {"117": 1.5}}, "years"),
    ({"years": {str(FISCAL_YEAR): 1}}, "years"),
    ({"years": ["116"]}, "years"),
    ({"kind": "routine"}, "kind"),
    ({"justification": "長" * 20_001}, "justification"),
    ({"title": ""}, "title"),
]


def test_sources_not_summing_to_the_total_are_named(world, cycle):
    with pytest.raises(ValidationError) as error:
        draft(world.clerk, cycle, amounts={"public": 60_000_000, "fund": 10_000_000}, total=60_000_000)
    assert error.value.message_dict == {"amounts": ["各經費來源合計 70,000,000 元，不等於申請總額 60,000,000 元。"]}
    with pytest.raises(ValidationError) as error:
        draft(world.clerk, cycle, amounts={"public": -1, "fund": 1.5, "central": 2**63}, total=0)
    assert error.value.message_dict == {
        "amounts": [
            "公務預算不得為負數：-1",
            "基金預算須為整數（新臺幣元）：1.5",
            "中央補助款 9,223,372,036,854,775,808 元超過上限 10,000,000,000,000 元。",
        ]
    }
    assert not BudgetRequest.objects.exists()


@pytest.mark.parametrize(("fields", "field"), BAD_REQUESTS)
def test_bad_request_is_400_naming_the_field_and_saves_nothing(world, cycle, fields, field):
    with pytest.raises(ValidationError) as error:
        draft(world.clerk, cycle, **fields)
    assert field in error.value.message_dict
    assert not BudgetRequest.objects.exists()
    assert not AmountLedger.objects.exists()


def test_bad_update_saves_nothing(world, cycle):
    request = draft(world.clerk, cycle)
    for fields in ({"amounts": {"public": -1}}, {"total": 70_000_000}, {"amounts": {"public": 2**63}}):
        with pytest.raises(ValidationError):
            services.request_update(actor=world.clerk, request_id=request.pk, **fields)
    with pytest.raises(ValidationError) as error:
        services.request_update(actor=world.clerk, request_id=request.pk, status="submitted")
    assert list(error.value.message_dict) == ["status"]
    assert (reload(request).total, reload(request).requested_public) == (60_000_000, 60_000_000)
    assert AmountLedger.objects.filter(request=request).count() == 4  # the draft's own four rows


def test_plans_under_the_threshold_are_refused_with_the_threshold_named(world, cycle):
    with pytest.raises(ValidationError) as error:
        draft(world.clerk, cycle, public=3000 * WAN)
    assert error.value.message_dict == {"total": ["新興計畫總經費須達 5,000萬元以上（本案 3,000萬元）。"]}
    with pytest.raises(ValidationError) as error:
        draft(world.clerk, cycle, kind="continuing", public=800 * WAN)
    assert error.value.message_dict == {"total": ["延續性計畫年度經費須達 1,000萬元以上（本案 800萬元）。"]}
    assert not BudgetRequest.objects.exists()
    # A new medium-term plan counts all its years: 2,000 萬 this year of 6,000 萬 in total.
    request = draft(
        world.clerk, cycle, kind="new_medium_term", public=2000 * WAN, years={"117": 2000 * WAN, "118": 2000 * WAN}
    )
    assert (request.plan_total, request.years, request.central_review) == (
        6000 * WAN,
        {"116": 2000 * WAN, "117": 2000 * WAN, "118": 2000 * WAN},
        False,
    )
    assert draft(world.clerk, cycle, kind="continuing", public=1000 * WAN).status == S.DRAFT


def test_central_review_follows_the_plans_total_over_its_years(world, cycle):
    request = draft(world.clerk, cycle, public=4 * YI, years={"117": 6 * YI})
    assert (request.plan_total, request.central_review) == (10 * YI, True)
    services.request_update(actor=world.clerk, request_id=request.pk, years={"117": 5 * YI})
    assert (reload(request).plan_total, reload(request).central_review) == (9 * YI, False)
    # Changing the total alone moves the cycle's year with it and keeps the other years.
    services.request_update(actor=world.clerk, request_id=request.pk, amounts={"public": 5 * YI}, total=5 * YI)
    assert reload(request).years == {"116": 5 * YI, "117": 5 * YI}
    assert reload(request).central_review is True


def test_after_the_deadline_nothing_is_drafted_edited_or_sent_but_a_returned_request_may_be_fixed(world, cycle):
    kept = draft(world.clerk, cycle)
    services.request_document_add(actor=world.clerk, request_id=kept.pk, upload=pdf())
    returned = sent(world.clerk, world.head, cycle, title="退回案")
    services.request_return(actor=world.officer, request_id=returned.pk, reason="請補正")
    with time_machine.travel(AFTER_DEADLINE, tick=False):
        with pytest.raises(ValidationError) as error:
            draft(world.clerk, cycle, title="遲到")
        assert error.value.message_dict == {"cycle": ["已超過申請截止日（民國115年3月31日）。"]}
        with pytest.raises(ValidationError) as error:
            services.request_update(actor=world.clerk, request_id=kept.pk, title="改名")
        assert list(error.value.message_dict) == ["cycle"]
        with pytest.raises(ValidationError):
            services.request_submit(actor=world.clerk, request_id=kept.pk)
        services.request_update(actor=world.clerk, request_id=returned.pk, justification="已補正。")
        services.request_submit(actor=world.clerk, request_id=returned.pk)
    assert BudgetRequest.objects.count() == 2
    assert (reload(kept).status, reload(kept).title) == (S.DRAFT, "捷運延伸線周邊人行環境改善")
    assert reload(returned).status == S.PENDING_APPROVAL


def test_a_cycle_not_collecting_takes_no_request(world):
    cycle = make_cycle(world.officer, open_=False)
    with pytest.raises(ValidationError) as error:
        draft(world.clerk, cycle)
    assert error.value.message_dict == {"cycle": ["本年度先期作業目前不受理申請。"]}
    with pytest.raises(ValidationError) as error:
        services.request_create(
            actor=world.clerk, cycle_id=0, title="t", kind="new_annual", amounts={"public": 1}, total=1
        )
    assert list(error.value.message_dict) == ["cycle"]


def test_a_request_is_sent_with_its_plan_document_recognised_by_content(world, cycle):
    request = draft(world.clerk, cycle)
    with pytest.raises(ValidationError) as error:
        services.request_submit(actor=world.clerk, request_id=request.pk)
    assert error.value.message_dict == {"documents": ["請上傳計畫書。"]}
    fake = SimpleUploadedFile("plan.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    with pytest.raises(ValidationError) as error:
        services.request_document_add(actor=world.clerk, request_id=request.pk, upload=fake)
    assert list(error.value.message_dict) == ["file"]
    assert not BudgetDocument.objects.exists()
    services.request_document_add(actor=world.clerk, request_id=request.pk, upload=pdf())
    services.request_submit(actor=world.clerk, request_id=request.pk)
    with pytest.raises(TransitionNotAllowed) as error:
        services.request_document_add(actor=world.clerk, request_id=request.pk, upload=pdf())
    assert error.value.code == "not_editable"


def test_bad_cycle_settings_are_400_by_field(world):
    with pytest.raises(ValidationError) as error:
        make_cycle(world.officer, public_ceiling=-1, fund_ceiling=1.5)
    assert set(error.value.message_dict) == {"public_ceiling", "fund_ceiling"}
    with pytest.raises(ValidationError) as error:
        make_cycle(world.officer, meeting_end=datetime.date(2026, 4, 1))
    assert "meeting_end" in error.value.message_dict
    make_cycle(world.officer)
    with pytest.raises(ValidationError) as error:
        make_cycle(world.officer)
    assert list(error.value.message_dict) == ["fiscal_year"]
    with pytest.raises(PermissionDenied):
        make_cycle(world.clerk, fiscal_year=117)
    assert BudgetCycle.objects.count() == 1


# ---- review: meetings, recommendations, site visits ----------------------------------------------------------


def test_meeting_rules_and_recommendations(world, cycle):
    road = sent(world.clerk, world.head, cycle)
    other = sent(world.tb_clerk, world.tb_head, cycle, title="別案")
    services.cycle_start_review(actor=world.officer, cycle_id=cycle.pk)
    base = {"actor": world.officer, "cycle_id": cycle.pk, "place": "會議室", "request_ids": [road.pk]}
    with pytest.raises(ValidationError) as error:
        services.meeting_create(**base, date=datetime.date(2026, 7, 1))
    assert error.value.message_dict == {"date": ["會議日期須在初審會議期間（民國115年5月1日 至 民國115年6月30日）。"]}
    with pytest.raises(ValidationError) as error:
        services.meeting_create(**{**base, "request_ids": [road.pk, 999_999]}, date=MEETING_DAY)
    assert list(error.value.message_dict) == ["request_ids"]
    with pytest.raises(PermissionDenied):
        services.meeting_create(**{**base, "actor": world.clerk}, date=MEETING_DAY)
    assert not ReviewMeeting.objects.exists()

    meeting = services.meeting_create(**base, date=MEETING_DAY)
    with pytest.raises(ValidationError) as error:
        services.meeting_record_decision(
            actor=world.officer, meeting_id=meeting.pk, request_id=other.pk, amounts={"public": 1}
        )
    assert list(error.value.message_dict) == ["request"]
    with pytest.raises(ValidationError) as error:
        services.meeting_record_decision(
            actor=world.officer, meeting_id=meeting.pk, request_id=road.pk, amounts={"public": 70_000_000}
        )
    assert error.value.message_dict == {"amounts": ["建議總額 70,000,000 元超過申請總額 60,000,000 元。"]}
    assert not MeetingDecision.objects.exists()
    assert reload(road).status == S.IN_REVIEW
    # A second decision of the same meeting replaces the first; the ledger keeps both.
    for amount in (50_000_000, 40_000_000):
        services.meeting_record_decision(
            actor=world.officer, meeting_id=meeting.pk, request_id=road.pk, amounts={"public": amount}
        )
    assert MeetingDecision.objects.get().public == 40_000_000
    assert list(
        AmountLedger.objects.filter(request=road, field="recommended_public").values_list("from_amount", "to_amount")
    ) == [(None, 50_000_000), (50_000_000, 40_000_000)]
    services.meeting_hold(actor=world.officer, meeting_id=meeting.pk, minutes="紀錄")
    with pytest.raises(TransitionNotAllowed) as error:
        services.meeting_update(actor=world.officer, meeting_id=meeting.pk, place="別處")
    assert error.value.code == "meeting_held"
    with pytest.raises(ValidationError) as error:
        services.meeting_hold(actor=world.officer, meeting_id=meeting.pk, minutes=" ")
    assert list(error.value.message_dict) == ["minutes"]


def test_recommending_outside_the_review_stage_is_409(world, cycle):
    request = sent(world.clerk, world.head, cycle)
    services.request_start_review(actor=world.officer, request_id=request.pk)
    with pytest.raises(TransitionNotAllowed) as error:
        services.request_recommend(actor=world.officer, request_id=request.pk, amounts={"public": 1})
    assert error.value.code == "cycle_not_reviewing"
    assert reload(request).recommended_public is None
    assert not AmountLedger.objects.filter(field__startswith="recommended").exists()


def test_site_visit_photos_are_jpeg_or_png_by_content_and_at_most_10_mb(world, cycle):
    request = sent(world.clerk, world.head, cycle)
    visit = dict(actor=world.officer, cycle_id=cycle.pk, date=datetime.date(2026, 6, 3), request_ids=[request.pk])
    gif = SimpleUploadedFile("site.jpg", b"GIF89a" + b"\x00" * 32, content_type="image/jpeg")
    with pytest.raises(ValidationError) as error:
        services.site_visit_create(**visit, photos=[jpeg(), gif])
    assert error.value.message_dict == {"photos": ["照片只接受 JPEG 或 PNG 格式（依檔案內容判斷）。"]}
    huge = jpeg(content=b"\xff\xd8\xff" + b"\x00" * (10 * 1024 * 1024 - 2))
    with pytest.raises(ValidationError) as error:
        services.site_visit_create(**visit, photos=[huge])
    assert list(error.value.message_dict) == ["photos"]
    with pytest.raises(ValidationError) as error:
        services.site_visit_create(**{**visit, "request_ids": [draft(world.clerk, cycle).pk]})
    assert list(error.value.message_dict) == ["request_ids"]
    assert not SiteVisit.objects.exists() and not SiteVisitPhoto.objects.exists()
    made = services.site_visit_create(**visit, findings="施工中")
    services.site_visit_add_photo(actor=world.officer, visit_id=made.pk, upload=png())
    assert made.photos.get().format == "png"
    with pytest.raises(PermissionDenied):
        services.site_visit_add_photo(actor=world.clerk, visit_id=made.pk, upload=png())


def test_balancing_waits_for_every_recommendation(world, cycle):
    request = sent(world.clerk, world.head, cycle)
    services.cycle_start_review(actor=world.officer, cycle_id=cycle.pk)
    with pytest.raises(TransitionNotAllowed) as error:
        services.cycle_start_balancing(actor=world.officer, cycle_id=cycle.pk)
    assert (error.value.code, error.value.message) == ("requests_in_review", "尚有 1 件申請未提出初審建議。")
    services.request_recommend(actor=world.officer, request_id=request.pk, amounts={"public": 50_000_000})
    with pytest.raises(TransitionNotAllowed) as error:
        services.request_decide(actor=world.officer, request_id=request.pk, decision="rejected", reason="x")
    assert error.value.code == "cycle_not_balancing"
    services.cycle_start_balancing(actor=world.officer, cycle_id=cycle.pk)
    with pytest.raises(TransitionNotAllowed) as error:
        services.cycle_approve(actor=world.supervisor, cycle_id=cycle.pk)
    assert (error.value.code, error.value.message) == ("undecided_requests", "尚有 1 件申請未核定。")
    assert BudgetCycle.objects.get().status == BudgetCycle.Status.BALANCING


# ---- decisions and ceilings ----------------------------------------------------------------------------------


@pytest.fixture
def balancing(world):
    """Ceilings: the cycle 1億 public, PWB 5,000 萬 of its own; PWB asks 4,000 萬 and 3,000 萬, TB 8,000 萬."""
    cycle = make_cycle(world.officer, public_ceiling=1 * YI, continuing_threshold=0)
    services.cycle_ceiling_set(actor=world.officer, cycle_id=cycle.pk, agency_id=world.pwb.pk, public=5000 * WAN)
    first = sent(world.clerk, world.head, cycle, kind="continuing", public=4000 * WAN, title="甲")
    second = sent(world.clerk, world.head, cycle, kind="continuing", public=3000 * WAN, title="乙")
    third = sent(world.tb_clerk, world.tb_head, cycle, kind="continuing", public=8000 * WAN, title="丙")
    to_balancing(world, cycle, {r.pk: {"public": r.total} for r in (first, second, third)})
    return SimpleNamespace(cycle=cycle, first=first, second=second, third=third)


def test_approving_over_a_ceiling_needs_a_supervisors_override(world, balancing):
    b = balancing
    services.request_decide(actor=world.officer, request_id=b.first.pk, decision="approved")
    # PWB's own ceiling: 4,000 + 3,000 萬 > 5,000 萬.
    with pytest.raises(ValidationError) as error:
        services.request_decide(actor=world.officer, request_id=b.second.pk, decision="approved")
    assert error.value.message_dict == {
        "amounts": ["PWB局公務預算核定總額將達 7,000萬元，超過額度 5,000萬元，須由研考會主管填寫理由核可。"]
    }
    assert reload(b.second).status == S.RECOMMENDED and reload(b.second).approved_public is None
    assert not AmountLedger.objects.filter(request=b.second, field__startswith="approved").exists()
    with pytest.raises(PermissionDenied):
        services.request_decide(
            actor=world.officer, request_id=b.second.pk, decision="approved", override_reason="市長政見"
        )
    assert reload(b.second).status == S.RECOMMENDED
    services.request_decide(
        actor=world.supervisor, request_id=b.second.pk, decision="approved", override_reason="市長政見"
    )
    assert reload(b.second).status == S.APPROVED
    assert ledger_rows(b.second, "approved")["approved_public"] == (
        None,
        3000 * WAN,
        world.supervisor.pk,
        "（超過額度，主管核可：市長政見）",
    )
    # The cycle's ceiling: 7,000 + 8,000 萬 > 1億; cut to 3,000 萬 it fits.
    with pytest.raises(ValidationError) as error:
        services.request_decide(actor=world.officer, request_id=b.third.pk, decision="approved")
    assert error.value.message_dict["amounts"] == [
        "本年度公務預算核定總額將達 1億5,000萬元，超過額度 1億元，須由研考會主管填寫理由核可。"
    ]
    services.request_decide(
        actor=world.officer, request_id=b.third.pk, decision="cut", amounts={"public": 3000 * WAN}, reason="核減"
    )
    # Lowering an amount needs no override, even while the agency stays over its ceiling.
    services.request_decide(
        actor=world.officer, request_id=b.second.pk, decision="cut", amounts={"public": 2000 * WAN}, reason="調降"
    )
    assert list(
        AmountLedger.objects.filter(request=b.second, field="approved_public").values_list("from_amount", "to_amount")
    ) == [(None, 3000 * WAN), (3000 * WAN, 2000 * WAN)]


def test_decisions_are_checked_against_the_request(world, balancing):
    b = balancing
    cases = [
        ({"decision": "granted"}, "decision"),
        ({"decision": "cut", "amounts": {"public": 1000 * WAN}}, "reason"),
        ({"decision": "cut", "amounts": {"public": 4000 * WAN}, "reason": "x"}, "amounts"),
        ({"decision": "approved", "amounts": {"public": 5000 * WAN}}, "amounts"),
        ({"decision": "approved", "amounts": {"public": 0}}, "amounts"),
        ({"decision": "approved", "amounts": {"public": -1}}, "amounts"),
        ({"decision": "rejected", "amounts": {"public": 1}, "reason": "x"}, "amounts"),
    ]
    for fields, field in cases:
        with pytest.raises(ValidationError) as error:
            services.request_decide(actor=world.officer, request_id=b.first.pk, **fields)
        assert list(error.value.message_dict) == [field], fields
    assert reload(b.first).status == S.RECOMMENDED
    assert not AmountLedger.objects.filter(field__startswith="approved").exists()


def test_a_plan_code_already_taken_refuses_the_approval_and_saves_nothing(world, balancing):
    b = balancing
    for request in (b.first, b.second, b.third):
        services.request_decide(
            actor=world.supervisor, request_id=request.pk, decision="approved", override_reason="全數核定"
        )
    ControlledPlan.objects.create(
        year=FISCAL_YEAR,
        code=f"{FISCAL_YEAR}-B{b.second.pk:05d}",
        agency=world.pwb,
        title="既有",
        budget=1,
        planned_progress=[100] * 12,
    )
    with pytest.raises(Conflict) as error:
        services.cycle_approve(actor=world.supervisor, cycle_id=b.cycle.pk)
    assert error.value.code == "plan_code_taken"
    assert BudgetCycle.objects.get().status == BudgetCycle.Status.BALANCING
    assert ControlledPlan.objects.count() == 1
    assert not BudgetRequest.objects.filter(controlled_plan__isnull=False).exists()


def test_ceilings_are_set_per_agency_and_removed(world, cycle):
    ceiling = services.cycle_ceiling_set(actor=world.officer, cycle_id=cycle.pk, agency_id=world.tb.pk, fund=5 * YI)
    assert (ceiling.public, ceiling.fund) == (None, 5 * YI)
    with pytest.raises(ValidationError) as error:
        services.cycle_ceiling_set(actor=world.officer, cycle_id=cycle.pk, agency_id=world.tb.pk, public=-1)
    assert list(error.value.message_dict) == ["public"]
    assert services.cycle_ceiling_set(actor=world.officer, cycle_id=cycle.pk, agency_id=world.tb.pk) is None
    assert not BudgetCeiling.objects.exists()
    services.cycle_update(actor=world.officer, cycle_id=cycle.pk, public_ceiling=100 * YI)
    assert BudgetCycle.objects.get().public_ceiling == 100 * YI


# ---- the ledger ----------------------------------------------------------------------------------------------


def test_the_ledger_is_append_only(world, cycle):
    request = draft(world.clerk, cycle)
    row = AmountLedger.objects.filter(request=request).first()
    row.to_amount = 1
    with pytest.raises(TypeError):
        row.save()
    with pytest.raises(TypeError):
        row.delete()
    with pytest.raises(TypeError):
        AmountLedger.objects.filter(pk=row.pk).update(to_amount=1)
    with pytest.raises(TypeError):
        AmountLedger.objects.filter(pk=row.pk).delete()
    for sql in ("UPDATE plan_control_amountledger SET to_amount = 1", "DELETE FROM plan_control_amountledger"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert AmountLedger.objects.get(pk=row.pk).to_amount == 60_000_000


# ---- who may do what -----------------------------------------------------------------------------------------


def test_another_agency_sees_nothing_of_a_request(world, cycle):
    request = draft(world.clerk, cycle)
    services.request_document_add(actor=world.clerk, request_id=request.pk, upload=pdf())
    for call in (
        lambda: services.request_update(actor=world.tb_clerk, request_id=request.pk, title="搶"),
        lambda: services.request_submit(actor=world.tb_clerk, request_id=request.pk),
        lambda: services.request_withdraw(actor=world.tb_clerk, request_id=request.pk),
        lambda: services.request_document_add(actor=world.tb_clerk, request_id=request.pk, upload=pdf()),
        lambda: selectors.request_get(request_id=request.pk, viewer=world.tb_head),
        lambda: selectors.ledger(request_id=request.pk, viewer=world.tb_clerk),
    ):
        with pytest.raises(NotFound):
            call()
    services.request_submit(actor=world.clerk, request_id=request.pk)
    with pytest.raises(NotFound):
        services.request_approve(actor=world.tb_head, request_id=request.pk)
    # RDEC does not see it before the head signs it off.
    with pytest.raises(NotFound):
        services.request_return(actor=world.officer, request_id=request.pk, reason="x")
    assert reload(request).title == "捷運延伸線周邊人行環境改善" and reload(request).status == S.PENDING_APPROVAL


def test_roles_each_do_their_part_only(world, cycle):
    with pytest.raises(PermissionDenied):
        draft(world.head, cycle)  # the head signs, the clerk drafts
    request = draft(world.clerk, cycle)
    services.request_document_add(actor=world.clerk, request_id=request.pk, upload=pdf())
    with pytest.raises(PermissionDenied):
        services.request_update(actor=world.head, request_id=request.pk, title="主管改")
    services.request_submit(actor=world.clerk, request_id=request.pk)
    with pytest.raises(PermissionDenied):
        services.request_approve(actor=world.clerk, request_id=request.pk)
    services.request_approve(actor=world.head, request_id=request.pk)
    with pytest.raises(PermissionDenied):
        services.request_start_review(actor=world.clerk, request_id=request.pk)
    with pytest.raises(PermissionDenied):
        services.cycle_start_review(actor=world.clerk, cycle_id=cycle.pk)
    services.cycle_start_review(actor=world.officer, cycle_id=cycle.pk)
    with pytest.raises(PermissionDenied):
        services.request_recommend(actor=world.clerk, request_id=request.pk, amounts={"public": 1})
    services.request_recommend(actor=world.officer, request_id=request.pk, amounts={"public": 50_000_000})
    services.cycle_start_balancing(actor=world.officer, cycle_id=cycle.pk)
    with pytest.raises(PermissionDenied):
        services.request_decide(actor=world.clerk, request_id=request.pk, decision="approved")
    with pytest.raises(PermissionDenied):
        services.request_decide(actor=world.head, request_id=request.pk, decision="approved")
    with pytest.raises(NotFound):  # a reviewer at no meeting on it
        services.request_decide(actor=world.reviewer, request_id=request.pk, decision="approved")
    assert reload(request).status == S.RECOMMENDED
    services.request_decide(actor=world.supervisor, request_id=request.pk, decision="approved")
    assert reload(request).status == S.APPROVED


def test_a_withdrawn_draft_stays_with_its_agency(world, cycle):
    request = draft(world.clerk, cycle)
    services.request_withdraw(actor=world.clerk, request_id=request.pk, reason="併入他案")
    assert reload(request).status == S.WITHDRAWN
    with pytest.raises(TransitionNotAllowed):
        services.request_submit(actor=world.clerk, request_id=request.pk)
    assert list(selectors.request_list(viewer=world.officer)) == []
    assert list(selectors.request_list(viewer=world.clerk)) == [request]
