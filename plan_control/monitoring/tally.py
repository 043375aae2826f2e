"""The monthly tally (月分析統計) behind the monthly analysis: per year, month and agency, the plans in control and
the month's counted reports that lag or are on track, kept up to date by the services that change them.

`tally_refresh` recomputes some agencies' months from the plans and reports (their plans in control, then their
counted reports grouped by agency and month) and upserts them, under the year's lock; each service that can
change a count calls it inside its own transaction, after its write (a plan transition: the twelve months; a
report transition: its month). Recomputing rather than adding +1 / -1 keeps a refresh idempotent and lets it
repair what it touches. `monthly_tally_rebuild` recomputes a whole year: for data written around the services
(COPY, the benches, a repair by hand), and the `rebuild_monthly_tally` command.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, Q

from ..models import ControlledPlan, ControlYear, MonthlyTally, ProgressReport
from .selectors import ACTIVE_PLAN_STATES, COUNTED, control_year

MONTHS = range(1, 13)


def _lock_year(year: int) -> None:
    """Lock the year's settings row (created with the defaults the first time)."""
    # Refreshes of a year queue here: the next one's counting statement starts after this transaction
    # commits, so under READ COMMITTED it sees this writer's rows and no refresh overwrites a newer count.
    locked = ControlYear.objects.select_for_update(no_key=True).filter(year=year).values_list("pk", flat=True)
    if not list(locked):
        control_year(year)
        list(locked.all())


def _counts(
    year: int, agency_ids: list[int], months: Iterable[int] = MONTHS, *, whole_year: bool = False
) -> list[MonthlyTally]:
    """Fresh rows for `agency_ids`' `months` of `year`, zeros included. `whole_year`: `agency_ids` are all the
    year's agencies, so the counting need not be narrowed to them (a join instead of thousands of keys)."""
    months = sorted(set(months))
    plans = ControlledPlan.objects.filter(year=year, status__in=ACTIVE_PLAN_STATES).order_by()
    # Only the reports of plans in control count, by the plan's agency as the analysis groups them.
    reports = ProgressReport.objects.filter(year=year, month__in=months, status__in=COUNTED)
    if whole_year:
        per_agency = Counter(dict(plans.values("agency_id").annotate(n=Count("pk")).values_list("agency_id", "n")))
        reports = reports.filter(plan__year=year, plan__status__in=ACTIVE_PLAN_STATES)
    else:
        in_control = dict(plans.filter(agency_id__in=agency_ids).values_list("pk", "agency_id"))
        per_agency = Counter(in_control.values())
        # By the plans' keys: the (plan, month) unique index finds a few agencies' reports whatever the planner's
        # statistics say (none at all for rows a long transaction, such as the demo's seeding, has just written).
        reports = reports.filter(plan_id__in=list(in_control))
    reports = (
        reports.values("plan__agency_id", "month")
        .annotate(n_lagging=Count("pk", filter=Q(lagging=True)), n_on_track=Count("pk", filter=Q(lagging=False)))
        .order_by()
        .values_list("plan__agency_id", "month", "n_lagging", "n_on_track")
    )
    counted = {(agency_id, month): (lagging, on_track) for agency_id, month, lagging, on_track in reports}
    return [
        MonthlyTally(
            year=year,
            month=month,
            agency_id=agency_id,
            plans=per_agency[agency_id],
            lagging=counted.get((agency_id, month), (0, 0))[0],
            on_track=counted.get((agency_id, month), (0, 0))[1],
        )
        for agency_id in agency_ids
        for month in months
    ]


def _write(rows: list[MonthlyTally]) -> None:
    MonthlyTally.objects.bulk_create(
        rows,
        batch_size=5000,
        update_conflicts=True,
        unique_fields=["year", "month", "agency"],
        update_fields=["plans", "lagging", "on_track"],
    )


def tally_refresh(*, year: int, agency_ids: Iterable[int], months: Iterable[int] = MONTHS) -> None:
    """Recompute `agency_ids`' months of `year` (all twelve unless `months` says which) in the caller's
    transaction, after its write: a plan entering or leaving control moves every month, a report only its own."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("tally_refresh must run inside the writing service's transaction.atomic()")
    agency_ids = sorted(set(agency_ids))
    if not agency_ids:
        return
    _lock_year(year)
    _write(_counts(year, agency_ids, months))


@transaction.atomic
def monthly_tally_rebuild(*, year: int) -> int:
    """Recompute the whole of `year`'s tally from the plans and reports; rows of agencies that no longer have a
    plan that year go. Returns the number of rows written."""
    _lock_year(year)
    agency_ids = sorted(
        set(ControlledPlan.objects.filter(year=year).order_by().values_list("agency_id", flat=True).distinct())
    )
    MonthlyTally.objects.filter(year=year).exclude(agency_id__in=agency_ids).delete()
    rows = _counts(year, agency_ids, whole_year=True)
    _write(rows)
    return len(rows)


def tally_years() -> list[int]:
    """Every year that has plans or tally rows: what a rebuild of everything covers."""
    plan_years = set(ControlledPlan.objects.order_by().values_list("year", flat=True).distinct())
    return sorted(plan_years | set(MonthlyTally.objects.order_by().values_list("year", flat=True).distinct()))
