"""The year-end appraisal's formula: from a plan's twelve monthly reports to a suggested score.

Components (taken in SQL from the reports that count: submitted or accepted):
- progress:   100 - 5 x the mean lag in points (lag below zero, ahead of plan, counts as 0)
                  - 2 x the months reported lagging; within 0..100.
- timeliness: 100 x (12 - months missing - 0.5 x months late) / 12; within 0..100. Late = submitted after
              the month's deadline day; missing = no counted report for the month.
- completion: the final cumulative actual progress (the highest reported), 0..100.
- budget:     budget executed / budget, as a percent, against the 90% that plan-control rules expect:
              min(100, rate / 90 x 100); a rate below 90% is flagged.
suggested score = sum of weight x component / 100 (the round's weights sum to 100), two decimals half-up.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, F, Max, Q, Sum, Value
from django.db.models.functions import Greatest

from ..monitoring.selectors import COUNTED

BUDGET_EXPECTED_RATE = Decimal(90)
TWO = Decimal("0.01")


def _clamp(value: Decimal) -> Decimal:
    return min(Decimal(100), max(Decimal(0), value))


def components(*, counted: int, lag_sum, months_lagging: int, months_late: int, final_actual, budget_executed, budget):
    """The four components and the raw figures behind them, for one plan (pure arithmetic)."""
    lag_sum = Decimal(lag_sum or 0)
    mean_lag = (lag_sum / counted) if counted else Decimal(0)
    missing = 12 - counted
    rate = (Decimal(budget_executed or 0) * 100 / Decimal(budget)) if budget else Decimal(100)
    return {
        "mean_lag": float(mean_lag.quantize(TWO, ROUND_HALF_UP)),
        "months_lagging": months_lagging,
        "months_late": months_late,
        "months_missing": missing,
        "final_completion": float(Decimal(final_actual or 0)),
        "budget_execution_rate": float(rate.quantize(TWO, ROUND_HALF_UP)),
        "budget_flag": rate < BUDGET_EXPECTED_RATE,
        "progress": float(_clamp(100 - 5 * mean_lag - 2 * months_lagging).quantize(TWO, ROUND_HALF_UP)),
        "timeliness": float(
            _clamp(Decimal(100) * (12 - missing - Decimal("0.5") * months_late) / 12).quantize(TWO, ROUND_HALF_UP)
        ),
        "completion": float(_clamp(Decimal(final_actual or 0)).quantize(TWO, ROUND_HALF_UP)),
        "budget": float(_clamp(rate / BUDGET_EXPECTED_RATE * 100).quantize(TWO, ROUND_HALF_UP)),
    }


def suggested_score(parts: dict, weights: dict) -> Decimal:
    total = sum(Decimal(str(parts[name])) * Decimal(str(weight)) for name, weight in weights.items()) / 100
    return total.quantize(TWO, ROUND_HALF_UP)


def plan_figures(plans) -> dict[int, dict]:
    """Per plan of `plans` (a queryset), the monthly record reduced in SQL: one GROUP BY query."""
    counted = Q(reports__status__in=COUNTED)
    rows = plans.values("pk", "budget").annotate(
        counted=Count("reports", filter=counted),
        lag_sum=Sum(Greatest(F("reports__lag_points"), Value(Decimal(0))), filter=counted),
        months_lagging=Count("reports", filter=counted & Q(reports__lagging=True)),
        months_late=Count("reports", filter=counted & Q(reports__submitted_at__date__gt=F("reports__due_date"))),
        final_actual=Max("reports__actual_percent", filter=counted),
        budget_executed=Max("reports__budget_executed", filter=counted),
    )
    return {row["pk"]: row for row in rows}


__all__ = ["components", "plan_figures", "suggested_score"]
