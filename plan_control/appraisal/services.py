"""Every write of the year-end appraisal: the round, the Celery rollup, self-assessment, review, grades."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Value
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow_site.errors import Conflict, NotFound, TransitionNotAllowed
from workflow_site.permissions import require
from workflow_site.transitions import apply_bulk_transition, apply_transition

from ..models import Appraisal, AppraisalRound, ControlledPlan
from ..models.appraisal import round_in_review, round_in_self_assessment
from ..monitoring.selectors import ACTIVE_PLAN_STATES
from . import formula, selectors
from .errors import Code


@transaction.atomic
def appraisal_round_create(
    *,
    actor,
    year: int,
    weights: dict | None = None,
    grade_bands: list[dict] | None = None,
    self_assessment_due: datetime.date | None = None,
    review_due: datetime.date | None = None,
) -> AppraisalRound:
    """A year's appraisal round, open, with its weights and grade bands (defaults: 40/20/25/15; 90/80/70/0)."""
    require(actor, "plan_control.run_control")
    round_ = AppraisalRound(year=year, self_assessment_due=self_assessment_due, review_due=review_due)
    if weights is not None:
        round_.weights = weights
    if grade_bands is not None:
        round_.grade_bands = grade_bands
    round_.full_clean()
    round_.save()
    return round_


def _round(round_id: int, *, lock: bool = True) -> AppraisalRound:
    qs = AppraisalRound.objects.select_for_update() if lock else AppraisalRound.objects.all()
    try:
        return qs.get(pk=round_id)
    except AppraisalRound.DoesNotExist as exc:
        raise NotFound() from exc


@transaction.atomic
def appraisal_rollup_start(*, round_id: int, actor) -> AppraisalRound:
    """open | rolling_up | self_assessment -> rolling_up: Celery tasks, each computing the suggested scores of a
    batch of whole agencies (`selectors.rollup_batches`, APPRAISAL_ROLLUP_BATCH_PLANS), fill the round; the last
    to finish moves it to self_assessment. A rerun recomputes the same rows."""
    from .tasks import rollup_agencies

    round_ = _round(round_id)
    plans = ControlledPlan.objects.filter(year=round_.year, status__in=ACTIVE_PLAN_STATES)
    total, batches = selectors.rollup_batches(plans, batch_plans=settings.APPRAISAL_ROLLUP_BATCH_PLANS)
    apply_transition(
        round_,
        "start_rollup",
        actor=actor,
        kwargs={"task_id": uuid.uuid4().hex, "total": total, "at": Now()},
        update_fields=["rollup_task_id", "rollup_total", "rollup_started_at"],
    )
    round_.refresh_from_db(fields=["rollup_started_at"])
    if not batches:
        transaction.on_commit(lambda: appraisal_rollup_finish_if_done(round_id=round_.pk))
    else:
        from celery import group

        # robust: with the broker down the round stays rolling_up (logged) and RDEC reruns the rollup; no 500 for a
        # change that committed.
        transaction.on_commit(
            lambda: group(rollup_agencies.s(round_.pk, batch) for batch in batches).apply_async(), robust=True
        )
    return round_


def appraisal_rollup_agencies(*, round_id: int, agency_ids: list[int]) -> int:
    """Compute (or recompute) the suggested scores of these agencies' plans in one upsert, safe to run twice."""
    round_ = AppraisalRound.objects.get(pk=round_id)
    if round_.status != AppraisalRound.Status.ROLLING_UP:
        return 0  # a late redelivery after the rollup finished: nothing to do
    plans = ControlledPlan.objects.filter(year=round_.year, agency_id__in=agency_ids, status__in=ACTIVE_PLAN_STATES)
    # Durable: the rows must be committed before this task (or a sibling finishing at the same moment) counts
    # them, or the round could wait for rows nobody else can see yet.
    with transaction.atomic(durable=True):
        if connection.vendor == "postgresql":
            rolled = _upsert_scores_in_sql(round_, plans)
        else:
            rolled = _upsert_scores_in_python(round_, plans)
    # Only a task that may be the last takes the round's lock: the others see (without waiting behind the lock,
    # or making a sibling's commit wait on it) that plans are still to be computed.
    if selectors.rollup_progress(round_)["done"] >= round_.rollup_total:
        appraisal_rollup_finish_if_done(round_id=round_id)
    return rolled


def _upsert_scores_in_sql(round_: AppraisalRound, plans) -> int:
    """One statement: the figures' GROUP BY, the formula (`formula.SCORE_SQL`) and the upsert, in PostgreSQL.
    The unique (round, plan) key makes a rerun or a redelivered task update the same rows, and only the computed
    columns: the self-assessment and the review stay. A new row is `suggested`, with no transition log row, as
    `Appraisal`'s default state has always been created."""
    select, params = formula.scored(plans, round_.weights)
    table = connection.ops.quote_name(Appraisal._meta.db_table)
    with connection.cursor() as cursor:
        # The fan-out is the parallelism: several tasks run at once, so a parallel plan's extra processes would only
        # take cores from the sibling tasks (and cost more to start than a batch takes to scan).
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        # A batch needs a twentieth of the reports, through the (plan, month) index; at the default random page cost
        # (4, a spinning disk's) PostgreSQL reads the whole reports table (every year's) for each batch instead,
        # which made the national rollup (20 batches) 2.6 times slower. 1.1 is the usual figure for SSDs and cached
        # tables; the full-year aggregate still chooses its hash join.
        cursor.execute("SET LOCAL random_page_cost = 1.1")
        cursor.execute(
            f"""
            INSERT INTO {table} (round_id, plan_id, agency_id, components, suggested_score, status,
                                 self_assessment, review_comment, grade)
            SELECT %s, s.plan_id, s.agency_id, s.components, s.suggested_score, %s, '', '', ''
            FROM ({select}) AS s
            ON CONFLICT (round_id, plan_id) DO UPDATE
            SET components = EXCLUDED.components,
                suggested_score = EXCLUDED.suggested_score,
                computed_at = EXCLUDED.computed_at
            """,
            [round_.pk, Appraisal.Status.SUGGESTED, *params],
        )
        return cursor.rowcount


def _upsert_scores_in_python(round_: AppraisalRound, plans) -> int:
    """The same upsert with the formula in Python (`formula.components`), for SQLite (`make run`)."""
    rows = []
    for plan_id, row in formula.plan_figures(plans).items():
        parts = formula.components(
            counted=row["counted"],
            lag_sum=row["lag_sum"],
            months_lagging=row["months_lagging"],
            months_late=row["months_late"],
            final_actual=row["final_actual"],
            budget_executed=row["budget_executed"],
            budget=row["budget"],
        )
        rows.append(
            Appraisal(
                round=round_,
                plan_id=plan_id,
                agency_id=row["agency_id"],
                components=parts,
                suggested_score=formula.suggested_score(parts, round_.weights),
            )
        )
    Appraisal.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["round", "plan"],
        update_fields=["components", "suggested_score", "computed_at"],
    )
    return len(rows)


# Durable: the last rollup task (or the commit hook of a rollup with no plans) closes the round in a transaction
# of its own, never one that could still roll back the move.
@transaction.atomic(durable=True)
def appraisal_rollup_finish_if_done(*, round_id: int) -> bool:
    """rolling_up -> self_assessment once every plan has been computed in this run (the last task does it)."""
    round_ = _round(round_id)  # the lock: two agencies finishing together close the round once
    if round_.status != AppraisalRound.Status.ROLLING_UP:
        return False
    if selectors.rollup_progress(round_)["done"] < round_.rollup_total:
        return False
    apply_transition(round_, "finish_rollup", actor=None, reason=_("月報彙整完成"))
    return True


def _appraisal(appraisal_id: int, viewer) -> Appraisal:
    try:
        return (
            selectors.appraisal_list(viewer=viewer)
            .select_for_update(of=("self",))
            .select_related("round")
            .get(pk=appraisal_id)
        )
    except Appraisal.DoesNotExist as exc:
        raise NotFound() from exc


def _in_stage(item: Appraisal, condition) -> None:
    """Refuse (409) with the transition condition's own message and code when the round is not at its stage:
    asked before the input is looked at, so a late or early submission hears about the stage, not its score."""
    if not condition(item):
        message, code = condition.refusal
        raise TransitionNotAllowed(message, code=code)


def _score(value, field: str) -> Decimal:
    try:
        score = Decimal(str(value))
    except ArithmeticError as exc:
        raise ValidationError({field: [_("分數須為數字。")]}) from exc
    if not score.is_finite() or not 0 <= score <= 100:
        raise ValidationError({field: [_("分數須介於 0 到 100。")]})
    return score.quantize(Decimal("0.01"))


@transaction.atomic
def appraisal_submit_self_assessment(*, actor, appraisal_id: int, score, text: str) -> Appraisal:
    """The agency's own score and explanation, while the round is in self-assessment."""
    item = _appraisal(appraisal_id, actor)
    _in_stage(item, round_in_self_assessment)
    # The transition checks the right, so an acting substitute (職務代理人) may assess for the agency too.
    if not text.strip():
        raise ValidationError({"self_assessment": [_("請填寫自評說明。")]})
    apply_transition(
        item,
        "submit_self_assessment",
        actor=actor,
        kwargs={"score": _score(score, "self_score"), "text": text},
        update_fields=["self_score", "self_assessment"],
    )
    return item


@transaction.atomic
def appraisal_open_review(*, round_id: int, actor) -> AppraisalRound:
    """self_assessment -> review."""
    round_ = _round(round_id)
    apply_transition(round_, "open_review", actor=actor)
    return round_


@transaction.atomic
def appraisal_review(*, actor, appraisal_id: int, score, comment: str = "") -> Appraisal:
    """RDEC's review score (the final score the committee confirms) and comments, while the round is in review."""
    item = _appraisal(appraisal_id, actor)
    _in_stage(item, round_in_review)
    apply_transition(
        item,
        "review",
        actor=actor,
        reason=comment,
        kwargs={"score": _score(score, "review_score"), "comment": comment, "by": actor},
        update_fields=["review_score", "review_comment", "reviewed_by", "final_score"],
    )
    return item


@transaction.atomic
def appraisal_round_finalise(*, round_id: int, actor) -> AppraisalRound:
    """review -> finalised: final scores map to grades by the bands (minimum score, optional quota); 409
    `unreviewed` while any plan lacks its review score."""
    round_ = _round(round_id)
    require(actor, "plan_control.finalise_appraisal")
    waiting = round_.appraisals.exclude(status=Appraisal.Status.REVIEWED).count()
    if waiting and round_.status == AppraisalRound.Status.REVIEW:
        raise Conflict(
            _("尚有 %(n)d 項計畫未完成複核。") % {"n": waiting}, code=Code.UNREVIEWED, extra={"unreviewed": waiting}
        )
    # The round moves first: from any state but review this is the clean 409 for the round.
    apply_transition(round_, "finalise", actor=actor, kwargs={"at": timezone.now()}, update_fields=["finalised_at"])
    grades = selectors.grades_for(round_)
    by_grade: dict[str, list[int]] = {}
    for appraisal_id, grade in grades.items():
        by_grade.setdefault(grade, []).append(appraisal_id)
    for grade, ids in by_grade.items():
        apply_bulk_transition(
            round_.appraisals.filter(pk__in=ids),
            "set_grade",
            actor=actor,
            reason=_("考核確定"),
            also_set={"grade": Value(grade)},
        )
    return round_
