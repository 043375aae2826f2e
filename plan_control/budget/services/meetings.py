"""Preliminary review meetings: scheduled within the cycle's meeting window, held with minutes, recording a
recommendation on each request of their agenda. Scheduling or changing one tells its attendees and the staff of
the agencies concerned."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Agency, User
from workflow_site import notices
from workflow_site.errors import NotFound, TransitionNotAllowed
from workflow_site.permissions import require
from workflow_site.roc_calendar.roc import format_roc_date
from workflow_site.transitions import apply_transition, log_event

from ...models import (
    BudgetCycle,
    BudgetRequest,
    MeetingDecision,
    ReviewMeeting,
)
from .. import selectors
from ..deadlines import meeting_url
from ..errors import Code
from ._common import C, S, _agency_staff, _cycle, _locked
from .requests import _recommend


def _agenda(cycle: BudgetCycle, request_ids) -> list[BudgetRequest]:
    ids = list(dict.fromkeys(request_ids or ()))
    if not ids:
        raise ValidationError({"request_ids": [_("請至少列入一件審查案件。")]})
    found = list(
        BudgetRequest.objects.filter(
            pk__in=ids, cycle=cycle, status__in=[S.SUBMITTED, S.IN_REVIEW, S.RECOMMENDED]
        ).order_by("pk")
    )
    missing = sorted(set(ids) - {r.pk for r in found})
    if missing:
        raise ValidationError(
            {
                "request_ids": [
                    _("以下案件不屬本年度或不在審查中：%(ids)s") % {"ids": "、".join(str(pk) for pk in missing)}
                ]
            }
        )
    return found


def _people(user_ids) -> list[int]:
    ids = list(dict.fromkeys(user_ids or ()))
    found = set(User.objects.filter(pk__in=ids, is_active=True).values_list("pk", flat=True))
    missing = [pk for pk in ids if pk not in found]
    if missing:
        raise ValidationError({"attendee_ids": [_("找不到以下人員：%(ids)s") % {"ids": "、".join(map(str, missing))}]})
    return ids


def _agencies(agency_ids, agenda: list[BudgetRequest]) -> list[int]:
    ids = list(dict.fromkeys(agency_ids or ()))
    found = set(Agency.objects.filter(pk__in=ids).values_list("pk", flat=True))
    missing = [pk for pk in ids if pk not in found]
    if missing:
        raise ValidationError({"agency_ids": [_("找不到以下機關：%(ids)s") % {"ids": "、".join(map(str, missing))}]})
    return list(dict.fromkeys([*ids, *(r.agency_id for r in agenda)]))


def _check_meeting_date(cycle: BudgetCycle, date: datetime.date) -> None:
    if not cycle.meeting_start <= date <= cycle.meeting_end:
        raise ValidationError(
            {
                "date": [
                    _("會議日期須在初審會議期間（%(start)s 至 %(end)s）。")
                    % {"start": format_roc_date(cycle.meeting_start), "end": format_roc_date(cycle.meeting_end)}
                ]
            }
        )


def _check_meeting_stage(cycle: BudgetCycle) -> None:
    if cycle.status not in (C.PLANNING, C.COLLECTING, C.REVIEWING):
        raise TransitionNotAllowed(_("本年度已結束初審。"), code=Code.CYCLE_NOT_REVIEWING)


@transaction.atomic
def meeting_create(
    *,
    actor,
    cycle_id: int,
    date: datetime.date,
    place: str,
    request_ids: list[int],
    attendee_ids: list[int] = (),
    agency_ids: list[int] = (),
) -> ReviewMeeting:
    """RDEC schedules a preliminary review meeting within the cycle's meeting window (400 `date`), its agenda the
    cycle's requests at RDEC not yet decided (400 `request_ids`); the agencies concerned are those given and the
    agenda's. 409 `cycle_not_reviewing` once balancing has begun."""
    require(actor, "plan_control.run_budget")
    cycle = _cycle(cycle_id)
    _check_meeting_stage(cycle)
    _check_meeting_date(cycle, date)
    agenda = _agenda(cycle, request_ids)
    attendees = _people(attendee_ids)
    agencies = _agencies(agency_ids, agenda)
    meeting = ReviewMeeting(cycle=cycle, date=date, place=place, created_by=actor)
    meeting.full_clean()
    meeting.save()
    meeting.agenda.set(agenda)
    meeting.attendees.set(attendees)
    meeting.agencies.set(agencies)
    log_event(meeting, "schedule", source="", target=meeting.status, actor=actor)
    _notify_meeting(
        meeting,
        [*attendees, *_agency_staff(agencies)],
        _("【會議通知】%(cycle)s初審會議（%(date)s）"),
        _("%(cycle)s初審會議訂於%(date)s在%(place)s召開，審查%(n)d件計畫，敬請出席。"),
    )
    return meeting


def _notify_meeting(meeting: ReviewMeeting, recipient_ids, subject: str, body: str) -> None:
    """A notice about `meeting` (in the caller's transaction): `subject` and `body` may name %(cycle)s, %(date)s
    (the ROC date), %(place)s and %(n)s (the agenda's size)."""
    facts = {
        "cycle": meeting.cycle,
        "date": format_roc_date(meeting.date),
        "place": meeting.place,
        "n": meeting.agenda.count(),
    }
    notices.send(
        recipient_ids=recipient_ids,
        subject=subject % facts,
        body=body % facts,
        item=meeting,
        url=meeting_url(meeting.pk),
    )


def _meeting(meeting_id: int, actor) -> ReviewMeeting:
    try:
        return (
            ReviewMeeting.objects.filter(selectors.meeting_visibility(actor))
            .select_for_update(of=("self",))
            .select_related("cycle")
            .get(pk=meeting_id)
        )
    except ReviewMeeting.DoesNotExist as exc:
        raise NotFound() from exc


@transaction.atomic
def meeting_update(
    *,
    actor,
    meeting_id: int,
    date: datetime.date | None = None,
    place: str | None = None,
    request_ids: list[int] | None = None,
    attendee_ids: list[int] | None = None,
    agency_ids: list[int] | None = None,
) -> ReviewMeeting:
    """Reschedule a meeting or change its agenda, attendees or agencies (what is given) until it is held (409
    `meeting_held`); the same 400s as `meeting_create`. Everyone concerned before or after the change is told."""
    meeting = _meeting(meeting_id, actor)
    require(actor, "plan_control.run_budget")
    if meeting.status != ReviewMeeting.Status.SCHEDULED:
        raise TransitionNotAllowed(_("已召開的會議不能再修改。"), code=Code.MEETING_HELD)
    _check_meeting_stage(meeting.cycle)
    fields = []
    if date is not None:
        _check_meeting_date(meeting.cycle, date)
        meeting.date = date
        fields.append("date")
    if place is not None:
        meeting.place = place
        fields.append("place")
    agenda = _agenda(meeting.cycle, request_ids) if request_ids is not None else list(meeting.agenda.all())
    attendees = _people(attendee_ids) if attendee_ids is not None else None
    agencies = _agencies(agency_ids, agenda) if agency_ids is not None or request_ids is not None else None
    meeting.full_clean()
    concerned = (
        set(meeting.attendees.values_list("pk", flat=True)),
        set(meeting.agencies.values_list("pk", flat=True)),
    )
    if fields:
        meeting.save(update_fields=fields)
    if request_ids is not None:
        meeting.agenda.set(agenda)
    if attendees is not None:
        meeting.attendees.set(attendees)
    if agencies is not None:
        if agency_ids is None:  # the agenda changed: keep the agencies named by hand, add the new agenda's
            agencies = list(dict.fromkeys([*meeting.agencies.values_list("pk", flat=True), *agencies]))
        meeting.agencies.set(agencies)
    if fields or request_ids is not None or attendee_ids is not None or agency_ids is not None:
        people, agencies_concerned = concerned
        people |= set(meeting.attendees.values_list("pk", flat=True))
        agencies_concerned |= set(meeting.agencies.values_list("pk", flat=True))
        _notify_meeting(
            meeting,
            sorted(people) + _agency_staff(agencies_concerned),
            _("【會議異動】%(cycle)s初審會議（%(date)s）"),
            _("%(cycle)s初審會議已有異動：訂於%(date)s在%(place)s召開，審查%(n)d件計畫，請至系統查看最新議程。"),
        )
    return meeting


@transaction.atomic
def meeting_hold(*, actor, meeting_id: int, minutes: str) -> ReviewMeeting:
    """scheduled -> held: the meeting took place; its minutes (400 `minutes` when empty)."""
    if not (minutes or "").strip():
        raise ValidationError({"minutes": [_("請填寫會議紀錄。")]})
    meeting = _meeting(meeting_id, actor)
    meeting.minutes = minutes
    meeting.full_clean()
    apply_transition(
        meeting,
        "hold",
        actor=actor,
        kwargs={"minutes": minutes, "at": timezone.now()},
        update_fields=["minutes", "held_at"],
    )
    return meeting


@transaction.atomic
def meeting_record_decision(
    *, actor, meeting_id: int, request_id: int, amounts: dict[str, int], note: str = ""
) -> MeetingDecision:
    """A meeting's recommendation on a request of its agenda (400 `request` otherwise): the amounts by source and a
    note; the request moves in_review | recommended -> recommended with them (a later decision of the same meeting
    replaces this one). The same 400s and 409s as `request_recommend`."""
    meeting = _meeting(meeting_id, actor)
    require(actor, "plan_control.run_budget")
    request = _locked(request_id, actor)
    if not meeting.agenda.filter(pk=request.pk).exists():
        raise ValidationError({"request": [_("此案不在本次會議的審查案件中。")]})
    _recommend(request, amounts, actor=actor, note=note, meeting=meeting)
    return MeetingDecision.objects.get(meeting=meeting, request=request)
