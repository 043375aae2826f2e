"""Reads of the year-end appraisal: progress, grades and their distribution."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet

from accounts.models import Agency
from accounts.roles import is_rdec_staff
from proposals.selectors import proposal_counts_by_agency

from ..models import Appraisal, AppraisalGrade, AppraisalRound, ControlledPlan, ProgressReport
from ..monitoring.selectors import ACTIVE_PLAN_STATES, COUNTED, agency_ids_seen, largest_remainder, visible_to


def appraisal_list(*, viewer) -> QuerySet[Appraisal]:
    """RDEC staff see every appraisal; an agency only its own plans'."""
    return Appraisal.objects.filter(visible_to(viewer)).select_related("plan", "agency").order_by("plan__code")


def round_list() -> QuerySet[AppraisalRound]:
    """Every year's round, latest first, with its plans counted and the reviewed ones among them: one query."""
    return AppraisalRound.objects.annotate(
        plan_count=Count("appraisals"),
        reviewed_count=Count("appraisals", filter=Q(appraisals__review_score__isnull=False)),
    ).order_by("-year")


def round_pending_counts(round_: AppraisalRound) -> dict:
    """What finalising `round_` settles: its plans, those reviewed, and the agencies concerned. One query."""
    return round_.appraisals.aggregate(
        plans=Count("pk"),
        reviewed=Count("pk", filter=Q(review_score__isnull=False)),
        agencies=Count("agency", distinct=True),
    )


def rollup_batches(plans, *, batch_plans: int) -> tuple[int, list[list[int]]]:
    """The rollup's fan-out: the agencies of `plans`, in id order, grouped into batches of at least `batch_plans`
    plans each (the last may be smaller); an agency is never split. Returns (plans in all, batches). One query."""
    limit = max(batch_plans, 1)
    batches: list[list[int]] = []
    total = size = 0
    counts = plans.order_by("agency_id").values("agency_id").annotate(n=Count("pk")).values_list("agency_id", "n")
    for agency_id, count in counts:
        if not batches or size >= limit:
            batches.append([])
            size = 0
        batches[-1].append(agency_id)
        size += count
        total += count
    return total, batches


def rollup_progress(round_: AppraisalRound) -> dict:
    """Plans computed in the current rollup run, of those to compute. One query."""
    done = 0
    if round_.rollup_started_at is not None:
        done = round_.appraisals.filter(computed_at__gte=round_.rollup_started_at).count()
    return {"done": min(done, round_.rollup_total), "total": round_.rollup_total}


def grades_for(round_: AppraisalRound) -> dict[int, str]:
    """Grade per appraisal from its final score: best first, each band within its minimum and quota."""
    rows = list(
        round_.appraisals.filter(final_score__isnull=False)
        .order_by("-final_score", "plan__code")
        .values_list("pk", "final_score")
    )
    n = len(rows)
    bands = round_.grade_bands
    seats = [
        int(Decimal(str(b["quota_percent"])) * n / 100) if b.get("quota_percent") is not None else n for b in bands
    ]
    grades: dict[int, str] = {}
    band = 0
    for pk, score in rows:
        while band < len(bands) - 1 and (seats[band] <= 0 or score < Decimal(str(bands[band]["min_score"]))):
            band += 1
        grades[pk] = bands[band]["grade"]
        seats[band] -= 1
    return grades


def round_results(round_: AppraisalRound) -> dict:
    """The distribution (count and percent per grade, percents to two decimals summing to 100.00) and items."""
    items = list(
        round_.appraisals.exclude(grade="")
        .order_by("-final_score", "plan__code")
        .values_list("plan_id", "final_score", "grade")
    )
    counts = {g.value: 0 for g in AppraisalGrade}
    for _plan, _score, grade in items:
        counts[grade] += 1
    percents = largest_remainder(list(counts.values()), places=2)
    return {
        "distribution": [
            {"grade": grade, "count": count, "percent": percent}
            for (grade, count), percent in zip(counts.items(), percents, strict=True)
        ],
        "items": [{"plan": plan, "final_score": score, "grade": grade} for plan, score, grade in items],
    }


def agency_summaries(*, year: int, viewer) -> list[dict]:
    """機關年度概況: per agency, the year's proposals (submitted to RDEC, awarded), monthly reports (on time, late,
    missing of the 12 expected per plan in control), plans lagging at year end and, once the year's appraisal is
    finalised, the count per grade. RDEC staff see every agency with a figure; an agency only its own row.
    Six queries (GROUP BYs), whatever the number of agencies, plans or reports."""
    if not getattr(viewer, "is_authenticated", False):
        return []
    own: set[int] | None = None if is_rdec_staff(viewer) else agency_ids_seen(viewer)
    if own is not None and not own:
        return []

    def mine(qs, field: str = "agency_id"):
        return qs if own is None else qs.filter(**{f"{field}__in": own})

    proposals = proposal_counts_by_agency(year=year, agency_ids=own)
    plans = {
        row["agency_id"]: row["n"]
        for row in mine(ControlledPlan.objects.filter(year=year, status__in=ACTIVE_PLAN_STATES))
        .values("agency_id")
        .annotate(n=Count("pk"))
        .order_by()
    }
    # Timeliness by the Taipei calendar day (the current time zone) against the month's deadline day.
    reports = {
        row["plan__agency_id"]: row
        for row in mine(
            ProgressReport.objects.filter(plan__year=year, plan__status__in=ACTIVE_PLAN_STATES, status__in=COUNTED),
            "plan__agency_id",
        )
        .values("plan__agency_id")
        .annotate(
            counted=Count("pk"),
            on_time=Count("pk", filter=Q(submitted_at__date__lte=F("due_date"))),
            late=Count("pk", filter=Q(submitted_at__date__gt=F("due_date"))),
            lagging_year_end=Count("pk", filter=Q(month=12, lagging=True)),
        )
        .order_by()
    }
    round_status = AppraisalRound.objects.filter(year=year).values_list("status", flat=True).first()
    finalised = round_status == AppraisalRound.Status.FINALISED
    grades: dict[int, dict[str, int]] = {}
    if finalised:
        for row in (
            mine(Appraisal.objects.filter(round__year=year).exclude(grade=""))
            .values("agency_id", "grade")
            .annotate(n=Count("pk"))
            .order_by()
        ):
            grades.setdefault(row["agency_id"], {})[row["grade"]] = row["n"]
    ids = set(proposals) | set(plans) | set(reports) | set(grades) | (own or set())
    agencies = Agency.objects.filter(pk__in=ids).order_by("code").values_list("pk", "code", "name")
    rows = []
    for pk, code, name in agencies:
        proposal = proposals.get(pk, {})
        report = reports.get(pk, {})
        expected = 12 * plans.get(pk, 0)
        counted = report.get("counted", 0)
        rows.append(
            {
                "agency": pk,
                "agency_code": code,
                "agency_name": name,
                "proposals_submitted": proposal.get("submitted", 0),
                "proposals_awarded": proposal.get("awarded", 0),
                "plans_in_control": plans.get(pk, 0),
                "reports_expected": expected,
                "reports_on_time": report.get("on_time", 0),
                "reports_late": report.get("late", 0),
                "reports_missing": max(expected - counted, 0),
                "plans_lagging_year_end": report.get("lagging_year_end", 0),
                "appraisal_grades": (
                    {g.value: grades.get(pk, {}).get(g.value, 0) for g in AppraisalGrade} if finalised else None
                ),
            }
        )
    return rows
