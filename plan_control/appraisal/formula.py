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

The formula is written twice, side by side below, over the same figures (`figures`, one GROUP BY): `components` /
`suggested_score` in Python (the reference: SQLite, the tests) and `SCORE_SQL` in PostgreSQL, which the rollup runs
inside its INSERT ... SELECT so no plan's figures leave the database. Every rounding is on exact values in both
(Python's 28 digits, PostgreSQL's numeric carried to 30 decimals), so both round the same exact number half-up;
tests/test_formula.py checks them against each other on thousands of generated cases, edges included.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, F, Max, Q, QuerySet, Sum, Value
from django.db.models.functions import Greatest

from ..models.appraisal import COMPONENTS  # also the order of SCORE_SQL's weight parameters
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


def figures(plans) -> QuerySet:
    """Per plan of `plans` (a queryset), the monthly record reduced in SQL, one GROUP BY: the columns pk,
    agency_id, budget, counted, lag_sum, months_lagging, months_late, final_actual, budget_executed."""
    counted = Q(reports__status__in=COUNTED)
    return (
        plans.order_by()
        .values("pk", "agency_id", "budget")
        .annotate(
            counted=Count("reports", filter=counted),
            lag_sum=Sum(Greatest(F("reports__lag_points"), Value(Decimal(0))), filter=counted),
            months_lagging=Count("reports", filter=counted & Q(reports__lagging=True)),
            months_late=Count("reports", filter=counted & Q(reports__submitted_at__date__gt=F("reports__due_date"))),
            final_actual=Max("reports__actual_percent", filter=counted),
            budget_executed=Max("reports__budget_executed", filter=counted),
        )
    )


def plan_figures(plans) -> dict[int, dict]:
    """`figures(plans)` by plan id."""
    return {row["pk"]: row for row in figures(plans)}


# The formula in PostgreSQL, over any relation `f` with the columns of `figures` (innermost first: the exact mean
# lag and budget execution rate; then the four components, clamped and rounded; then the JSON that `components`
# returns and the weighted sum). Its only parameters are the four weights, first in the text. Divisions are carried
# to 30 decimals (numeric(60, 30)), so what round() sees is the exact value wherever it could matter. OFFSET 0 keeps
# each level a subquery of its own: flattened, PostgreSQL would repeat those divisions in every expression that
# names mean_lag or rate (a tenth of the rollup's time).
SCORE_SQL = """
SELECT p.pk AS plan_id, p.agency_id,
       jsonb_build_object(
           'mean_lag', round(p.mean_lag, 2),
           'months_lagging', p.months_lagging,
           'months_late', p.months_late,
           'months_missing', 12 - p.counted,
           'final_completion', p.final_actual,
           'budget_execution_rate', round(p.rate, 2),
           'budget_flag', p.rate < 90,
           'progress', p.progress,
           'timeliness', p.timeliness,
           'completion', p.completion,
           'budget', p.budget_part
       ) AS components,
       round((%s * p.progress + %s * p.timeliness + %s * p.completion + %s * p.budget_part) * 0.01, 2)
           AS suggested_score
FROM (
    SELECT m.*,
           round(least(100, greatest(0, 100 - 5 * m.mean_lag - 2 * m.months_lagging)), 2) AS progress,
           round(least(100, greatest(0,
               CAST(100 * (m.counted - 0.5 * m.months_late) AS numeric(60, 30)) / 12)), 2) AS timeliness,
           round(least(100, greatest(0, m.final_actual)), 2) AS completion,
           round(least(100, greatest(0, m.rate / 90 * 100)), 2) AS budget_part
    FROM (
        SELECT f.pk, f.agency_id, f.counted, f.months_lagging, f.months_late,
               coalesce(f.final_actual, 0.00) AS final_actual,
               CASE WHEN f.counted > 0 THEN CAST(coalesce(f.lag_sum, 0) AS numeric(60, 30)) / f.counted
                    ELSE 0 END AS mean_lag,
               CASE WHEN f.budget <> 0 THEN CAST(coalesce(f.budget_executed, 0) AS numeric(60, 30)) * 100 / f.budget
                    ELSE 100 END AS rate
        FROM ({figures}) AS f
        OFFSET 0
    ) AS m
    OFFSET 0
) AS p"""


def score_sql(figures_sql: str, figures_params, weights: dict) -> tuple[str, list]:
    """SELECT plan_id, agency_id, components (jsonb, as `components` returns it) and suggested_score from the
    figures that `figures_sql` selects: the formula of `SCORE_SQL` with the round's weights as parameters."""
    weight_params = [Decimal(str(weights.get(name, 0))) for name in COMPONENTS]
    return SCORE_SQL.format(figures=figures_sql), [*weight_params, *figures_params]


def scored(plans, weights: dict) -> tuple[str, list]:
    """`score_sql` over `figures(plans)`: one statement, one GROUP BY, every plan scored in the database."""
    sql, params = figures(plans).query.sql_with_params()
    return score_sql(sql, params, weights)


__all__ = ["SCORE_SQL", "components", "figures", "plan_figures", "score_sql", "scored", "suggested_score"]
