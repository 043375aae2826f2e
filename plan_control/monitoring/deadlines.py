"""The monthly monitoring's deadlines, told to the reminder engine."""

import datetime

from django.db.models import Max, Min, Q
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role, user_roles
from accounts.selectors import users_by_agency
from notifications.registry import DeadlineSource, DueItem
from workflow_site.roc_calendar.calendar import WorkingCalendar

from ..models import ControlledPlan, ControlYear, ProgressReport
from .selectors import COUNTED

REPORT_DUE = "plan_control.report_due"
RETURNED = "plan_control.report_returned"
ACCEPTANCE = "plan_control.acceptance"
LAG_ALERT = "plan_control.lag_alert"
ACCEPTANCE_WORKING_DAYS = 5  # RDEC accepts or returns a report within a working week of submission


def _items(queryset, recipients, due_of, title_of, *, rdec_work=False):
    reports = list(queryset.select_related("plan").order_by("pk"))
    who = recipients(reports)
    for r in reports:
        yield DueItem(
            object_id=r.pk,
            title=title_of(r),
            due_date=due_of(r),
            recipient_ids=who(r),
            agency_id=r.agency_id,
            url=f"/plan-control/reports/{r.pk}/",
            rdec_work=rdec_work,
        )


def _clerks(reports):
    people = users_by_agency({r.agency_id for r in reports}, Role.AGENCY_CLERK)
    return lambda r: people.get(r.agency_id, ())


def _heads(reports):
    people = users_by_agency({r.agency_id for r in reports}, Role.AGENCY_HEAD)
    return lambda r: people.get(r.agency_id, ())


def _officers(reports):
    officers = tuple(User.objects.filter(is_active=True, groups__name=Role.RDEC_OFFICER).values_list("pk", flat=True))
    return lambda r: (r.plan.officer_id,) if r.plan.officer_id else officers


def _title(r) -> str:
    return f"{r.plan.code} {r.plan.title}（{r.year}年{r.month}月進度）"


OPEN_PLAN = Q(plan__status=ControlledPlan.Status.IN_EXECUTION)


# 1. Reports to fill in by the monthly deadline: the agency's clerks.
def report_due(start, end):
    return _items(
        ProgressReport.objects.filter(OPEN_PLAN, status=ProgressReport.Status.PENDING, due_date__range=(start, end)),
        _clerks,
        lambda r: r.due_date,
        _title,
    )


def report_due_open(ids):
    return set(
        ProgressReport.objects.filter(pk__in=ids, status=ProgressReport.Status.PENDING).values_list("pk", flat=True)
    )


def report_due_for_user(user):
    if not user.agency_id or Role.AGENCY_CLERK not in user_roles(user):
        return []
    return _items(
        ProgressReport.objects.filter(OPEN_PLAN, status=ProgressReport.Status.PENDING, agency_id=user.agency_id),
        _clerks,
        lambda r: r.due_date,
        _title,
    )


# 2. Returned reports to correct, due by the same deadline (or at once when it has passed).
def returned(start, end):
    return _items(
        ProgressReport.objects.filter(OPEN_PLAN, status=ProgressReport.Status.RETURNED, due_date__range=(start, end)),
        _clerks,
        lambda r: r.due_date,
        lambda r: f"退回修正：{_title(r)}",
    )


def returned_open(ids):
    return set(
        ProgressReport.objects.filter(pk__in=ids, status=ProgressReport.Status.RETURNED).values_list("pk", flat=True)
    )


def returned_for_user(user):
    if not user.agency_id or Role.AGENCY_CLERK not in user_roles(user):
        return []
    return _items(
        ProgressReport.objects.filter(OPEN_PLAN, status=ProgressReport.Status.RETURNED, agency_id=user.agency_id),
        _clerks,
        lambda r: r.due_date,
        lambda r: f"退回修正：{_title(r)}",
    )


# 3. Submitted reports waiting for RDEC's acceptance: the plan's officer (or every officer).
def _acceptance_due(queryset):
    """Due five working days after submission, on one calendar loaded once for all of `queryset`'s dates:
    a calendar per report would query the overrides once per report."""
    calendar = WorkingCalendar()
    span = queryset.aggregate(first=Min("submitted_at"), last=Max("submitted_at"))
    if span["first"] is not None:
        # Generously past the last date: add_working_days reads at most 2 * n + 30 days ahead.
        ahead = datetime.timedelta(days=ACCEPTANCE_WORKING_DAYS * 2 + 60)
        calendar.preload(timezone.localdate(span["first"]), timezone.localdate(span["last"]) + ahead)
    return lambda r: calendar.add_working_days(timezone.localdate(r.submitted_at), ACCEPTANCE_WORKING_DAYS)


def acceptance(start, end):
    # Narrowed in SQL by submission date (five working days are at most two calendar weeks), exact in Python.
    qs = ProgressReport.objects.filter(
        status=ProgressReport.Status.SUBMITTED,
        submitted_at__date__range=(start - datetime.timedelta(days=14), end),
    )
    items = _items(qs, _officers, _acceptance_due(qs), lambda r: f"待審核：{_title(r)}", rdec_work=True)
    return [i for i in items if start <= i.due_date <= end]


def acceptance_open(ids):
    return set(
        ProgressReport.objects.filter(pk__in=ids, status=ProgressReport.Status.SUBMITTED).values_list("pk", flat=True)
    )


def acceptance_for_user(user):
    if Role.RDEC_OFFICER not in user_roles(user):
        return []
    qs = ProgressReport.objects.filter(status=ProgressReport.Status.SUBMITTED).filter(
        Q(plan__officer=user) | Q(plan__officer__isnull=True)
    )
    return _items(qs, _officers, _acceptance_due(qs), lambda r: f"待審核：{_title(r)}", rdec_work=True)


# 4. A plan lagging for the year's alert number of months in a row: the agency head is told once.


def lag_alert(start, end):
    # Each year's own alert level (default 3), as one condition: no row is loaded that will not be sent.
    levels = dict(ControlYear.objects.values_list("year", "alert_after_months"))
    reached = ~Q(year__in=list(levels)) & Q(consecutive_lagging__gte=3)
    for year, level in levels.items():
        reached |= Q(year=year, consecutive_lagging__gte=level)
    qs = ProgressReport.objects.filter(
        reached, status__in=COUNTED, lagging=True, submitted_at__date__range=(start, end)
    )
    return _items(qs, _heads, lambda r: timezone.localdate(r.submitted_at), _lag_title)


def _points(value) -> str:
    """12.50 -> "12.5", 18.00 -> "18": percentage points as people write them."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _lag_title(r) -> str:
    return (
        f"計畫進度落後 {_points(r.lag_points)} 個百分點（連續 {r.consecutive_lagging} 個月落後）："
        f"{r.plan.code} {r.plan.title}（{r.year}年{r.month}月進度）"
    )


# A lag alert is news about a plan, not a deadline to meet: its own wording (the rule's admin text still wins).
LAG_ALERT_SUBJECT = "【落後警示】{{ title }}"
LAG_ALERT_BODY = """{{ recipient }} 您好：

{% if on_behalf_of %}您目前代理 {{ on_behalf_of }} 的職務。
{% endif %}貴機關列管計畫已達落後警示標準：{{ title }}。
請督促承辦單位檢討落後原因、落實因應對策，並於下月月報說明改善情形。

月報內容：{{ url }}

研考會工作流程系統（本信由系統自動寄發，請勿直接回覆）
"""


def lag_alert_open(ids):
    return set(ProgressReport.objects.filter(pk__in=ids, status__in=COUNTED, lagging=True).values_list("pk", flat=True))


SOURCES = [
    DeadlineSource(REPORT_DUE, "月進度填報期限", ProgressReport, report_due, report_due_open, report_due_for_user),
    DeadlineSource(RETURNED, "退回月報修正", ProgressReport, returned, returned_open, returned_for_user),
    DeadlineSource(ACCEPTANCE, "月報待審核", ProgressReport, acceptance, acceptance_open, acceptance_for_user),
    DeadlineSource(
        LAG_ALERT,
        "列管計畫落後警示",
        ProgressReport,
        lag_alert,
        lag_alert_open,
        None,
        subject_template=LAG_ALERT_SUBJECT,
        body_template=LAG_ALERT_BODY,
    ),
]
