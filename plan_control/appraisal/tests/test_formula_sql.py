"""The formula in PostgreSQL (`formula.SCORE_SQL`, what the rollup runs) against the Python reference
(`formula.components` / `suggested_score`): thousands of generated figures with their edges, then a year of real
reports rolled up by the service, plan by plan."""

import json
import random
from decimal import Decimal

import pytest
from django.db import connection

from plan_control.appraisal import formula
from plan_control.appraisal.services import appraisal_rollup_agencies, appraisal_round_create
from plan_control.appraisal.tasks import rollup_agency
from plan_control.models import Appraisal, AppraisalRound, ControlledPlan

from .test_rollup import build_year, expected_score, report_specs

pytestmark = pytest.mark.django_db

FIGURE_COLUMNS = ("pk", "agency_id", "budget", "counted", "lag_sum", "months_lagging", "months_late", "final_actual",
                  "budget_executed")  # fmt: skip
WEIGHT_SETS = [
    {"progress": 40, "timeliness": 20, "completion": 25, "budget": 15},
    {"progress": 25, "timeliness": 25, "completion": 25, "budget": 25},
    {"progress": 33.33, "timeliness": 33.33, "completion": 33.34, "budget": 0},
    {"progress": 12.5, "timeliness": 37.5, "completion": 0, "budget": 50},
]


def cents(rng: random.Random, high: int) -> Decimal:
    return Decimal(rng.randint(0, high * 100)) / 100


def generated_figures(n: int, seed: int = 16) -> list[tuple]:
    """Figures as `formula.figures` selects them, random and at the edges: nothing counted, a zero or a huge
    budget, rates landing exactly on a half cent (budget 200,000 executed 9 x odd), lags that divide unevenly."""
    rng = random.Random(seed)
    rows = []
    for pk in range(1, n + 1):
        counted = rng.choice([0, 1, 5, 7, 11, 12, 12, 12])
        lagging = rng.randint(0, counted)
        late = rng.randint(0, counted)
        lag_sum = cents(rng, 30) * counted if counted and rng.random() < 0.7 else (cents(rng, 400) if counted else None)
        final = cents(rng, 100) if counted else None
        budget = rng.choice([0, 1, 7, 200_000, 1_200_000, 10_000_000, 359_533_000, 9_999_999_999_999])
        if not counted:
            executed = None
        elif budget == 200_000 and rng.random() < 0.5:
            executed = 9 * rng.randrange(1, 3000, 2)  # rate / 90 x 100 on a half cent exactly
        else:
            executed = rng.randint(0, int(budget * 1.2) + 5)
        rows.append((pk, 1, budget, counted, lag_sum, lagging, late, final, executed))
    return rows


def python_scores(rows: list[tuple], weights: dict) -> dict[int, tuple[dict, Decimal]]:
    scores = {}
    for row in rows:
        f = dict(zip(FIGURE_COLUMNS, row, strict=True))
        parts = formula.components(
            counted=f["counted"],
            lag_sum=f["lag_sum"],
            months_lagging=f["months_lagging"],
            months_late=f["months_late"],
            final_actual=f["final_actual"],
            budget_executed=f["budget_executed"],
            budget=f["budget"],
        )
        scores[f["pk"]] = (parts, formula.suggested_score(parts, weights))
    return scores


def sql_scores(rows: list[tuple], weights: dict) -> dict[int, tuple[dict, Decimal]]:
    row = "(%s, %s, %s::bigint, %s::bigint, %s::numeric, %s::bigint, %s::bigint, %s::numeric(5, 2), %s::bigint)"
    placeholders = ", ".join([row] * len(rows))
    figures_sql = f"SELECT * FROM (VALUES {placeholders}) AS v({', '.join(FIGURE_COLUMNS)})"
    sql, params = formula.score_sql(figures_sql, [v for row in rows for v in row], weights)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {pk: (json.loads(parts) if isinstance(parts, str) else parts, score) for pk, _a, parts, score in cursor}


@pytest.mark.parametrize("weights", WEIGHT_SETS)
def test_the_sql_formula_equals_the_python_formula_on_generated_figures(weights):
    rows = generated_figures(3000, seed=len(str(weights)))
    expected = python_scores(rows, weights)
    got = sql_scores(rows, weights)
    assert got.keys() == expected.keys()
    wrong = [(pk, got[pk], expected[pk]) for pk in expected if got[pk] != expected[pk]]
    assert not wrong, wrong[:3]
    # Same JSON types too: floats stay floats (two decimals), counts integers, the flag a boolean.
    for pk, (parts, _score) in list(got.items())[:50]:
        for key, value in expected[pk][0].items():
            assert type(parts[key]) is type(value), (key, parts[key], value)


def test_the_half_cent_edges_round_up_in_both():
    # 100 x (12 - 0.5 x 1) / 12 = 95.8333 and mean lag 0.125 x 5 = 0.625 -> 99.375 -> 99.38 (half up);
    # 9 x 1 / 200,000 x 100 = 0.0045% -> budget 0.005 -> 0.01 (half up, not to even).
    rows = [(1, 1, 200_000, 12, Decimal("1.50"), 0, 1, Decimal("50.00"), 9)]
    weights = WEIGHT_SETS[0]
    got, expected = sql_scores(rows, weights)[1], python_scores(rows, weights)[1]
    assert got == expected
    assert (got[0]["progress"], got[0]["budget"]) == (99.38, 0.01)


def test_the_rollup_stores_what_the_python_formula_computes_on_a_varied_year(make_user):
    """Missing months, returned and pending reports, late ones, a zero budget, completed plans (scored) and
    terminated, registered or last year's plans (not), through the service that the Celery task runs."""
    from accounts.roles import Role

    officer = make_user(Role.RDEC_OFFICER)
    numbers = build_year(agencies=3, per_agency=12, prefix="FS")
    zero = ControlledPlan.objects.filter(pk__in=numbers).order_by("code")[5]
    ControlledPlan.objects.filter(pk=zero.pk).update(budget=0)
    weights = {"progress": 30, "timeliness": 30, "completion": 25.5, "budget": 14.5}
    round_ = appraisal_round_create(actor=officer, year=zero.year, weights=weights)
    AppraisalRound.objects.filter(pk=round_.pk).update(status=AppraisalRound.Status.ROLLING_UP, rollup_total=10**6)
    agency_ids = sorted(set(ControlledPlan.objects.filter(pk__in=numbers).values_list("agency_id", flat=True)))
    # What the Celery tasks run (their durable block nests in the test's): a batch of two agencies, and one agency
    # through the task that a rollup started by a release before the batches may still have queued.
    assert appraisal_rollup_agencies(round_id=round_.pk, agency_ids=agency_ids[1:]) == 24
    assert rollup_agency.name == "plan_control.tasks.rollup_agency"
    assert rollup_agency.apply(args=(round_.pk, agency_ids[0])).get() == 12
    rows_by_plan = {a.plan_id: a for a in Appraisal.objects.filter(round=round_)}
    assert set(rows_by_plan) == set(numbers)
    plans = ControlledPlan.objects.filter(pk__in=numbers)
    for plan_id, fig in formula.plan_figures(plans).items():
        parts = formula.components(
            counted=fig["counted"],
            lag_sum=fig["lag_sum"],
            months_lagging=fig["months_lagging"],
            months_late=fig["months_late"],
            final_actual=fig["final_actual"],
            budget_executed=fig["budget_executed"],
            budget=fig["budget"],
        )
        row = rows_by_plan[plan_id]
        assert row.components == parts
        assert row.suggested_score == formula.suggested_score(parts, weights)
        if plan_id != zero.pk:  # and the test's own from-the-record formula agrees (its budget is fixed)
            assert row.suggested_score == expected_score(report_specs(numbers[plan_id]), weights)
    assert rows_by_plan[zero.pk].components["budget"] == 100.0  # no budget: nothing to under-spend


def test_the_sqlite_path_stores_the_same_rows_as_the_postgresql_statement(make_user):
    """`make run` (SQLite) upserts with the Python formula: on the same year it writes what the SQL wrote."""
    from django.db import transaction

    from accounts.roles import Role
    from plan_control.appraisal.services import _upsert_scores_in_python, _upsert_scores_in_sql

    officer = make_user(Role.RDEC_OFFICER)
    numbers = build_year(agencies=2, per_agency=12, prefix="SQ")
    round_ = appraisal_round_create(actor=officer, year=ControlledPlan.objects.get(pk=next(iter(numbers))).year)
    plans = ControlledPlan.objects.filter(pk__in=numbers)
    with transaction.atomic():
        assert _upsert_scores_in_sql(round_, plans) == len(numbers)
    in_sql = {a.plan_id: (a.components, a.suggested_score) for a in Appraisal.objects.filter(round=round_)}
    Appraisal.objects.filter(round=round_).update(components={}, suggested_score=0, self_score=77)
    with transaction.atomic():
        assert _upsert_scores_in_python(round_, plans) == len(numbers)
    rows = list(Appraisal.objects.filter(round=round_))
    assert {a.plan_id: (a.components, a.suggested_score) for a in rows} == in_sql
    assert {a.self_score for a in rows} == {Decimal(77)}  # the upsert leaves the self-assessment alone
    with transaction.atomic():
        _upsert_scores_in_sql(round_, plans)
    assert set(Appraisal.objects.filter(round=round_).values_list("self_score", flat=True)) == {Decimal(77)}
