"""Reads of the monthly monitoring: who sees which plans and reports, the year's settings, and the monthly
analysis in SQL."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from django.db.models import Count, F, FilteredRelation, Q, QuerySet
from django.utils import timezone

from accounts.roles import is_rdec_staff
from accounts.selectors import agency_ids_staffed

from ..models import ControlledPlan, ControlYear, MonthlyTally, ProgressReport

COUNTED = (ProgressReport.Status.SUBMITTED, ProgressReport.Status.ACCEPTED)
ACTIVE_PLAN_STATES = (ControlledPlan.Status.IN_EXECUTION, ControlledPlan.Status.COMPLETED)


def visible_to(user) -> Q:
    """The rows of an agency-owned model (`agency_id`) that `user` may see: RDEC staff all, agencies their own
    (and those of whom they stand in for), nobody else any. Plans, reports and appraisals alike."""
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    if is_rdec_staff(user):
        return Q()
    return Q(agency_id__in=agency_ids_seen(user))


def agency_ids_seen(user) -> set[int]:
    """The agencies whose plan control data a user who is not RDEC staff sees: an agency clerk's or head's own, and
    those of whom they stand in for. Working at an agency is not enough: a reviewer from a bureau (an internal
    representative) or an applicant sees none of its plans, reports or appraisals."""
    return agency_ids_staffed(user)


def control_year(year: int) -> ControlYear:
    """The year's settings, created with the defaults the first time the year is used (so a read never lacks
    them: the services, the tally's lock and the monthly analysis all rely on the row being there)."""
    settings_row, _created = ControlYear.objects.get_or_create(year=year)
    return settings_row


def default_month() -> tuple[int, int]:
    """The month whose reports are due now (ROC year, month): last month in Taipei time."""
    today = timezone.localdate()
    year, month = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    return year - 1911, month


def plan_list(*, viewer) -> QuerySet[ControlledPlan]:
    """RDEC staff see every plan; agencies their own (and those of whom they stand in for)."""
    return ControlledPlan.objects.filter(visible_to(viewer)).select_related("agency").order_by("year", "code")


def report_list(*, viewer) -> QuerySet[ProgressReport]:
    return (
        ProgressReport.objects.filter(visible_to(viewer))
        .select_related("plan", "agency")
        .order_by("year", "month", "plan__code")
    )


def board_plans(*, viewer, year: int, month: int, agency=None, lagging_only: bool = False):
    """The year's plans in control (in execution or completed, as monthly_analysis counts them) that `viewer` may
    see, each with its `month` report's figures annotated (null when no slot was opened). One query."""
    plans = (
        plan_list(viewer=viewer)
        .filter(year=year, status__in=ACTIVE_PLAN_STATES)
        .annotate(month_report=FilteredRelation("reports", condition=Q(reports__month=month)))
        .annotate(
            report_id=F("month_report__id"),
            report_status=F("month_report__status"),
            report_planned=F("month_report__planned_percent"),
            report_actual=F("month_report__actual_percent"),
            report_lag=F("month_report__lag_points"),
            report_lagging=F("month_report__lagging"),
        )
    )
    if agency is not None:
        plans = plans.filter(agency=agency)
    if lagging_only:
        plans = plans.filter(month_report__status__in=COUNTED, month_report__lagging=True)
    return plans


def largest_remainder(counts: list[int], *, places: int = 1) -> list[Decimal]:
    """Percentages of `counts` rounded to `places` decimals that still sum to exactly 100 (Hamilton's method)."""
    total = sum(counts)
    if total == 0:
        return [Decimal(0).quantize(Decimal(1).scaleb(-places)) for _ in counts]
    unit = Decimal(1).scaleb(-places)
    exact = [Decimal(c) * 100 / total for c in counts]
    floors = [e.quantize(unit, rounding=ROUND_DOWN) for e in exact]
    leftover = int(((Decimal(100) - sum(floors)) / unit).to_integral_value())
    order = sorted(range(len(counts)), key=lambda i: (exact[i] - floors[i], counts[i]), reverse=True)
    for i in order[:leftover]:
        floors[i] += unit
    return floors


def monthly_analysis(*, year: int, month: int) -> dict:
    """月分析報告 for a month: on track (completed or lagging below the threshold), lagging, not reported;
    by agency; the lagging plans. Three queries, whatever the number of plans.

    The counts come from the monthly tally (MonthlyTally: per agency, its plans in control and the month's
    counted reports, lagging or not), which the services keep in step with every write that moves a count;
    the lagging plans are read from the reports themselves."""
    by_agency = list(
        MonthlyTally.objects.filter(year=year, month=month, plans__gt=0)
        .order_by("agency__code")
        .values_list("agency_id", "agency__code", "agency__name", "plans", "on_track", "lagging")
    )
    total = sum(row[3] for row in by_agency)
    on_track = sum(row[4] for row in by_agency)
    lagging = sum(row[5] for row in by_agency)
    not_reported = total - lagging - on_track
    on_track_pct, lagging_pct, not_reported_pct = largest_remainder([on_track, lagging, not_reported])
    # Plain values, not model instances: building thousands of fsm models costs ten times the SQL.
    names = {row[0]: row[2] for row in by_agency}
    lagging_rows = (
        ProgressReport.objects.filter(
            year=year, month=month, status__in=COUNTED, lagging=True, plan__status__in=ACTIVE_PLAN_STATES
        )
        .order_by("-lag_points", "plan__code")
        .values_list(
            "plan_id",
            "plan__code",
            "plan__title",
            "agency_id",
            "planned_percent",
            "actual_percent",
            "lag_points",
            "lag_reason",
            "remedy",
            "consecutive_lagging",
        )
    )
    settings_row = ControlYear.objects.filter(year=year).first()
    return {
        "year": year,
        "month": month,
        "threshold": settings_row.lag_threshold if settings_row else Decimal("5.0"),
        "total": total,
        "on_track": {"count": on_track, "percent": on_track_pct},
        "lagging": {"count": lagging, "percent": lagging_pct},
        "not_reported": {"count": not_reported, "percent": not_reported_pct},
        "by_agency": [
            {
                "agency": agency_id,
                "agency_code": code,
                "agency_name": name,
                "total": plans,
                "on_track": agency_on_track,
                "lagging": agency_lagging,
                "not_reported": plans - agency_on_track - agency_lagging,
            }
            for agency_id, code, name, plans, agency_on_track, agency_lagging in by_agency
        ],
        "lagging_plans": [
            {
                "plan": plan_id,
                "code": code,
                "title": title,
                "agency": agency_id,
                "agency_name": names.get(agency_id, ""),
                "planned_percent": planned,
                "actual_percent": actual,
                "lag_points": lag_points,
                "lag_reason": lag_reason,
                "remedy": remedy,
                "consecutive_months": consecutive,
            }
            for (
                plan_id,
                code,
                title,
                agency_id,
                planned,
                actual,
                lag_points,
                lag_reason,
                remedy,
                consecutive,
            ) in lagging_rows
        ],
    }


def lagging_share_by_month(*, year: int) -> list[dict]:
    """For the board's chart: per month, plans reported lagging out of plans in control. One query."""
    rows = (
        ProgressReport.objects.filter(year=year, plan__status__in=ACTIVE_PLAN_STATES)
        .values("month")
        .annotate(total=Count("pk"), lagging=Count("pk", filter=Q(status__in=COUNTED, lagging=True)))
        .order_by("month")
    )
    return [
        {
            **row,
            "percent": (Decimal(row["lagging"]) * 100 / row["total"]).quantize(Decimal("0.1"))
            if row["total"]
            else Decimal(0),
        }
        for row in rows
    ]


def report_filled_in_by(report: ProgressReport) -> tuple[int, ...]:
    """Who filled in and submitted `report` last: the clerk (and, when a substitute submitted, the colleague they
    stood in for); () when it was never submitted. One query."""
    from django.contrib.contenttypes.models import ContentType

    from workflow_site.models import TransitionLog

    row = (
        TransitionLog.objects.filter(
            content_type=ContentType.objects.get_for_model(ProgressReport), object_id=report.pk, transition="submit"
        )
        .order_by("-created_at", "-pk")
        .values_list("actor_id", "acting_for_id")
        .first()
    )
    return tuple(pk for pk in row or () if pk is not None)


def plan_report_counts(plan: ControlledPlan) -> dict:
    """What ending a plan leaves behind: its reports still to fill in (pending or returned). One query."""
    return plan.reports.aggregate(
        open=Count("pk", filter=Q(status__in=[ProgressReport.Status.PENDING, ProgressReport.Status.RETURNED]))
    )


def registered_count(*, year: int) -> dict:
    """The year's plans still registered (imported, not started), and their agencies. One query."""
    return ControlledPlan.objects.filter(year=year, status=ControlledPlan.Status.REGISTERED).aggregate(
        plans=Count("pk"), agencies=Count("agency", distinct=True)
    )
