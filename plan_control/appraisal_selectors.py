"""Reads of the year-end appraisal: progress, grades and their distribution."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import QuerySet

from .models import Appraisal, AppraisalGrade, AppraisalRound
from .selectors import _visible, largest_remainder


def appraisal_list(*, viewer) -> QuerySet[Appraisal]:
    """RDEC staff see every appraisal; an agency only its own plans'."""
    return Appraisal.objects.filter(_visible(viewer)).select_related("plan", "agency").order_by("plan__code")


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
