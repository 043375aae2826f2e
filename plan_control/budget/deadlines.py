"""The pre-budget review's deadlines, told to the reminder engine (notifications imports nothing from here).

Four sources, each in a constant number of queries whatever the number of items: requests still at their agency
by the request deadline (its clerks), requests waiting for the head's sign-off (its heads), review meetings (their
attendees and the staff of the agencies concerned) and the balancing date (RDEC's officers, while decisions are
missing). Their rules are rows (migration 0010), editable in the admin.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, Q
from django.urls import reverse

from accounts.models import Agency, User
from accounts.roles import AGENCY_STAFF, Role, user_roles
from accounts.selectors import users_by_agency
from notifications.registry import DeadlineSource, DueItem
from workflow_site.roc_calendar.calendar import today

from ..models import BudgetCycle, BudgetRequest, ReviewMeeting
from .selectors import FINAL

REQUEST_DEADLINE = "plan_control.budget_request"
SIGN_OFF = "plan_control.budget_sign_off"
MEETING = "plan_control.budget_meeting"
BALANCING = "plan_control.budget_balancing"
S = BudgetRequest.Status
C = BudgetCycle.Status


def request_url(request_id: int) -> str:
    return reverse("plan_control:budget-request", args=[request_id])


def meeting_url(meeting_id: int) -> str:
    return reverse("plan_control:budget-meeting", args=[meeting_id])


def cycle_url(cycle_id: int) -> str:
    return reverse("plan_control:budget-board", args=[cycle_id])


def _requests(queryset, role: str, title_of):
    """One DueItem per request, due on its cycle's request deadline, to the agency's users holding `role`."""
    requests = list(queryset.select_related("cycle").order_by("pk"))
    people = users_by_agency({r.agency_id for r in requests}, role) if requests else {}
    for r in requests:
        yield DueItem(
            object_id=r.pk,
            title=title_of(r),
            due_date=r.cycle.request_deadline,
            recipient_ids=people.get(r.agency_id, ()),
            agency_id=r.agency_id,
            url=request_url(r.pk),
        )


def _holds(user, role: str) -> bool:
    return bool(user.agency_id) and role in user_roles(user)


# 1. Requests still at their agency (drafts, returned for changes) to send by the request deadline: its clerks.
def _at_agency(extra: Q):
    return BudgetRequest.objects.filter(extra, status__in=[S.DRAFT, S.RETURNED], cycle__status=C.COLLECTING)


def _request_title(r) -> str:
    prefix = "退回修正：" if r.status == S.RETURNED else ""
    return f"{prefix}{r.cycle}計畫申請「{r.title}」送出期限"


def request_due(start, end):
    return _requests(_at_agency(Q(cycle__request_deadline__range=(start, end))), Role.AGENCY_CLERK, _request_title)


def request_open(ids):
    # A draft cannot be sent after the deadline: nothing left to remind of. A returned request may still be sent
    # while the cycle collects.
    return set(
        _at_agency(Q(pk__in=ids) & (Q(cycle__request_deadline__gte=today()) | Q(status=S.RETURNED))).values_list(
            "pk", flat=True
        )
    )


def request_for_user(user):
    if not _holds(user, Role.AGENCY_CLERK):
        return []
    return _requests(
        _at_agency(Q(agency_id=user.agency_id) & (Q(cycle__request_deadline__gte=today()) | Q(status=S.RETURNED))),
        Role.AGENCY_CLERK,
        _request_title,
    )


# 2. Requests waiting for the head's sign-off, which must reach RDEC by the request deadline: the agency's heads.
def _pending(extra: Q):
    return BudgetRequest.objects.filter(extra, status=S.PENDING_APPROVAL, cycle__status=C.COLLECTING)


def _sign_off_title(r) -> str:
    return f"待核定：{r.cycle}計畫申請「{r.title}」"


def sign_off_due(start, end):
    return _requests(_pending(Q(cycle__request_deadline__range=(start, end))), Role.AGENCY_HEAD, _sign_off_title)


def sign_off_open(ids):
    return set(_pending(Q(pk__in=ids)).values_list("pk", flat=True))


def sign_off_for_user(user):
    if not _holds(user, Role.AGENCY_HEAD):
        return []
    return _requests(_pending(Q(agency_id=user.agency_id)), Role.AGENCY_HEAD, _sign_off_title)


# 3. A scheduled review meeting: its attendees and the clerks and heads of the agencies concerned.
def _scheduled(extra: Q):
    return ReviewMeeting.objects.filter(extra, status=ReviewMeeting.Status.SCHEDULED)


def _meetings(queryset):
    meetings = list(
        queryset.select_related("cycle")
        .prefetch_related(
            Prefetch("attendees", queryset=User.objects.filter(is_active=True).only("pk")),
            Prefetch("agencies", queryset=Agency.objects.only("pk")),
        )
        .order_by("pk")
    )
    agency_ids = {a.pk for m in meetings for a in m.agencies.all()}
    staff: dict[int, list[int]] = {}
    if agency_ids:
        for pk, agency_id in (
            User.objects.filter(is_active=True, groups__name__in=AGENCY_STAFF, agency_id__in=agency_ids)
            .values_list("pk", "agency_id")
            .distinct()
        ):
            staff.setdefault(agency_id, []).append(pk)
    for m in meetings:
        people = [u.pk for u in m.attendees.all()] + [pk for a in m.agencies.all() for pk in staff.get(a.pk, ())]
        yield DueItem(
            object_id=m.pk,
            title=f"{m.cycle}初審會議（{m.place}）",
            due_date=m.date,
            recipient_ids=tuple(dict.fromkeys(people)),
            agency_id=None,
            url=meeting_url(m.pk),
        )


def meeting_due(start, end):
    return _meetings(_scheduled(Q(date__range=(start, end))))


def meeting_open(ids):
    # A meeting is held on its day (the minutes may come later): no reminder after it.
    return set(_scheduled(Q(pk__in=ids, date__gte=today())).values_list("pk", flat=True))


def meeting_for_user(user):
    concerned = Q(attendees=user)
    if user.agency_id and AGENCY_STAFF & user_roles(user):
        concerned |= Q(agencies=user.agency_id)
    return _meetings(_scheduled(Q(date__gte=today()) & Q(pk__in=ReviewMeeting.objects.filter(concerned).values("pk"))))


# 4. The balancing date, while requests of the cycle still lack their decision: RDEC's officers (its work, so an
#    escalation goes to a supervisor).
def _undecided(extra: Q):
    missing = BudgetRequest.objects.filter(cycle=OuterRef("pk")).exclude(status__in=FINAL)
    return BudgetCycle.objects.filter(extra, Exists(missing), status__in=[C.REVIEWING, C.BALANCING])


def _officers():
    return tuple(User.objects.filter(is_active=True, groups__name=Role.RDEC_OFFICER).values_list("pk", flat=True))


def _cycles(queryset):
    cycles = list(queryset.order_by("pk"))
    officers = _officers() if cycles else ()
    for c in cycles:
        yield DueItem(
            object_id=c.pk,
            title=f"{c}綜合平衡（尚有計畫未核定）",
            due_date=c.balancing_date,
            recipient_ids=officers,
            agency_id=None,
            url=cycle_url(c.pk),
            rdec_work=True,
        )


def balancing_due(start, end):
    return _cycles(_undecided(Q(balancing_date__range=(start, end))))


def balancing_open(ids):
    return set(_undecided(Q(pk__in=ids)).values_list("pk", flat=True))


def balancing_for_user(user):
    if Role.RDEC_OFFICER not in user_roles(user):
        return []
    return _cycles(_undecided(Q()))


SOURCES = [
    DeadlineSource(
        REQUEST_DEADLINE, "先期作業計畫申請期限", BudgetRequest, request_due, request_open, request_for_user
    ),
    DeadlineSource(
        SIGN_OFF, "先期作業計畫待機關主管核定", BudgetRequest, sign_off_due, sign_off_open, sign_off_for_user
    ),
    DeadlineSource(MEETING, "先期作業初審會議", ReviewMeeting, meeting_due, meeting_open, meeting_for_user),
    DeadlineSource(BALANCING, "先期作業綜合平衡", BudgetCycle, balancing_due, balancing_open, balancing_for_user),
]
