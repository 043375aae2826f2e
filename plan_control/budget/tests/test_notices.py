"""The notices of the pre-budget review: who hears of a request sent, signed off, returned and decided, and of a
meeting scheduled or changed; nobody hears of a change that rolled back."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from notifications.models import Notification
from plan_control.budget import services
from plan_control.budget.tests.factories import MEETING_DAY, WAN, draft, pdf, sent
from plan_control.models import BudgetRequest, ReviewMeeting

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen(frozen_clock):
    pass


@pytest.fixture
def world(world, make_user):
    world.officer2 = make_user(Role.RDEC_OFFICER, username="officer2")
    world.clerk2 = UserFactory(roles=[Role.AGENCY_CLERK], agency=world.pwb, username="clerk2_pwb")
    return world


def notices():
    return Notification.objects.filter(purpose=Notification.Purpose.NOTICE, channel="in_app")


def told(**filters) -> set[tuple[int, str]]:
    return set(notices().filter(**filters).values_list("recipient_id", "subject"))


def test_sent_signed_off_and_returned_tell_the_next_person(world, cycle):
    w = world
    request = draft(w.clerk, cycle, title="河濱公園")
    services.request_document_add(actor=w.clerk, request_id=request.pk, upload=pdf())
    assert not notices().exists()  # a draft tells nobody

    services.request_submit(actor=w.clerk, request_id=request.pk)
    assert told() == {(w.head.pk, "【待核定】先期作業計畫「河濱公園」待您核定")}

    services.request_return(actor=w.head, request_id=request.pk, reason="經費請再檢討")
    returned = notices().get(recipient=w.clerk)
    assert returned.subject == "【退回修正】先期作業計畫「河濱公園」已退回"
    assert returned.body.split("\n\n")[1] == "您提出的116年度先期作業計畫申請「河濱公園」已退回修正，理由：經費請再檢討"

    services.request_submit(actor=w.clerk, request_id=request.pk)
    services.request_approve(actor=w.head, request_id=request.pk)
    arrived = "【收件通知】PWB局先期作業計畫「河濱公園」已送達"
    assert told(subject=arrived) == {(w.officer.pk, arrived), (w.officer2.pk, arrived)}

    # RDEC's own return reaches the clerk who drafted it, not the other clerk of the agency.
    services.request_return(actor=w.officer, request_id=request.pk, reason="請補充效益評估")
    assert notices().filter(recipient=w.clerk, body__contains="請補充效益評估").count() == 1
    assert not notices().filter(recipient=w.clerk2).exists()
    # Another agency hears nothing; supervisors and reviewers are not told of arrivals.
    assert not notices().filter(recipient__in=[w.tb_clerk, w.tb_head, w.supervisor, w.reviewer]).exists()
    assert all(n.url == f"/plan-control/budget/requests/{request.pk}/" for n in notices())


def test_a_decision_tells_the_agencys_clerks_and_heads(world, cycle):
    w = world
    request = sent(w.clerk, w.head, cycle, title="東西向快速道路", public=8000 * WAN)
    services.cycle_start_review(actor=w.officer, cycle_id=cycle.pk)
    services.request_recommend(actor=w.officer, request_id=request.pk, amounts={"public": 7000 * WAN})
    services.cycle_start_balancing(actor=w.officer, cycle_id=cycle.pk)
    before = set(notices().values_list("pk", flat=True))

    services.request_decide(
        actor=w.officer, request_id=request.pk, decision="cut", amounts={"public": 6000 * WAN}, reason="分年編列"
    )
    decided = notices().exclude(pk__in=before)
    subject = "【核定結果】先期作業計畫「東西向快速道路」：核減"
    assert set(decided.values_list("recipient_id", "subject")) == {
        (w.clerk.pk, subject),
        (w.clerk2.pk, subject),
        (w.head.pk, subject),
    }
    assert decided.first().body.split("\n\n")[1] == (
        "PWB局的116年度先期作業計畫申請「東西向快速道路」綜合平衡結果為「核減」，核定金額 6,000萬元。說明：分年編列"
    )


def test_scheduling_and_changing_a_meeting_tells_attendees_and_agencies(world, cycle):
    w = world
    road = sent(w.clerk, w.head, cycle, title="快速道路")
    port = sent(w.tb_clerk, w.tb_head, cycle, title="港區綠能")
    before = set(notices().values_list("pk", flat=True))
    meeting = services.meeting_create(
        actor=w.officer,
        cycle_id=cycle.pk,
        date=MEETING_DAY,
        place="市府大樓 10 樓會議室",
        request_ids=[road.pk],
        attendee_ids=[w.reviewer.pk, w.officer2.pk],
    )
    scheduled = notices().exclude(pk__in=before)
    assert set(scheduled.values_list("recipient_id", flat=True)) == {
        w.reviewer.pk,
        w.officer2.pk,
        w.clerk.pk,
        w.head.pk,
        w.clerk2.pk,
    }
    first = scheduled.first()
    assert first.subject == "【會議通知】116年度先期作業初審會議（民國115年5月12日）"
    assert "市府大樓 10 樓會議室" in first.body and "審查1件計畫" in first.body
    assert first.url == f"/plan-control/budget/meetings/{meeting.pk}/"

    # The agenda gains TB's request and loses a reviewer: both the old and the new people hear of it.
    before = set(notices().values_list("pk", flat=True))
    services.meeting_update(
        actor=w.officer,
        meeting_id=meeting.pk,
        date=MEETING_DAY + datetime.timedelta(days=1),
        request_ids=[road.pk, port.pk],
        attendee_ids=[w.officer2.pk],
    )
    changed = notices().exclude(pk__in=before)
    assert set(changed.values_list("recipient_id", flat=True)) == {
        w.reviewer.pk,
        w.officer2.pk,
        w.clerk.pk,
        w.clerk2.pk,
        w.head.pk,
        w.tb_clerk.pk,
        w.tb_head.pk,
    }
    assert {n.subject for n in changed} == {"【會議異動】116年度先期作業初審會議（民國115年5月13日）"}

    # An update that changes nothing tells nobody.
    before = notices().count()
    services.meeting_update(actor=w.officer, meeting_id=meeting.pk)
    assert notices().count() == before


def test_nothing_is_told_when_the_change_rolls_back_or_is_refused(world, cycle):
    w = world
    request = draft(w.clerk, cycle, title="河濱公園")
    services.request_document_add(actor=w.clerk, request_id=request.pk, upload=pdf())
    with pytest.raises(RuntimeError), transaction.atomic():
        services.request_submit(actor=w.clerk, request_id=request.pk)
        assert notices().count() == 1  # written in the same transaction as the change...
        raise RuntimeError("the caller fails after the service")
    assert not notices().exists()  # ...and gone with it
    assert BudgetRequest.objects.get(pk=request.pk).status == BudgetRequest.Status.DRAFT

    services.request_submit(actor=w.clerk, request_id=request.pk)
    with pytest.raises(ValidationError):
        services.request_return(actor=w.head, request_id=request.pk, reason="  ")
    with pytest.raises(ValidationError):
        services.meeting_create(
            actor=w.officer, cycle_id=cycle.pk, date=MEETING_DAY, place="會議室", request_ids=[request.pk]
        )  # not at RDEC yet
    assert not notices().filter(recipient=w.clerk).exists()
    assert not ReviewMeeting.objects.exists()
    assert notices().count() == 1  # the head's sign-off request only
