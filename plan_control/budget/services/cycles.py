"""The cycle's services: its settings, ceilings and stages, and the controlled plans it registers once
approved."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Agency
from workflow_site.errors import Conflict, TransitionNotAllowed
from workflow_site.permissions import require
from workflow_site.transitions import apply_bulk_transition, apply_transition, log_event

from ...models import (
    BudgetCeiling,
    BudgetCycle,
    BudgetRequest,
    ControlledPlan,
)
from ...models.budget import Source, amount_problem
from ...monitoring import selectors as monitoring_selectors
from .. import selectors
from ..errors import Code
from ._common import C, S, _cycle

CYCLE_AMOUNTS = (
    "public_ceiling",
    "fund_ceiling",
    "new_plan_threshold",
    "continuing_threshold",
    "central_review_threshold",
)
CYCLE_DATES = ("request_deadline", "meeting_start", "meeting_end", "balancing_date")
# Until the agency's work plan gives its own, a controlled plan made from a request is planned evenly over the
# year (8.33% a month, 100% in December).
EVEN_CURVE = [round(month * 100 / 12, 2) for month in range(1, 13)]


def _check_cycle_amounts(fields: dict) -> None:
    labels = {name: BudgetCycle._meta.get_field(name).verbose_name for name in CYCLE_AMOUNTS}
    errors = {}
    for name in CYCLE_AMOUNTS:
        if name in fields:
            problem = amount_problem(fields[name], labels[name])
            if problem:
                errors[name] = [problem]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def cycle_create(
    *,
    actor,
    fiscal_year: int,
    public_ceiling: int,
    fund_ceiling: int,
    request_deadline: datetime.date,
    meeting_start: datetime.date,
    meeting_end: datetime.date,
    balancing_date: datetime.date,
    new_plan_threshold: int | None = None,
    continuing_threshold: int | None = None,
    central_review_threshold: int | None = None,
) -> BudgetCycle:
    """A fiscal year's cycle, in planning, with its ceilings and timeline; the thresholds default to NT$50,000,000
    (new plans, in total), 10,000,000 (continuing plans, a year) and 1,000,000,000 (central review)."""
    require(actor, "plan_control.run_budget")
    fields = {"public_ceiling": public_ceiling, "fund_ceiling": fund_ceiling}
    for name, value in (
        ("new_plan_threshold", new_plan_threshold),
        ("continuing_threshold", continuing_threshold),
        ("central_review_threshold", central_review_threshold),
    ):
        if value is not None:
            fields[name] = value
    _check_cycle_amounts(fields)
    cycle = BudgetCycle(
        fiscal_year=fiscal_year,
        request_deadline=request_deadline,
        meeting_start=meeting_start,
        meeting_end=meeting_end,
        balancing_date=balancing_date,
        **fields,
    )
    cycle.full_clean()
    cycle.save()
    return cycle


@transaction.atomic
def cycle_update(*, actor, cycle_id: int, **fields) -> BudgetCycle:
    """Change a cycle's ceilings, thresholds or dates (409 `cycle_locked` once approved). A changed threshold holds
    for requests sent from now on; a lowered ceiling shows on the balancing board, it undoes no decision."""
    cycle = _cycle(cycle_id)
    require(actor, "plan_control.run_budget")
    if cycle.status in (C.APPROVED, C.CLOSED):
        raise TransitionNotAllowed(_("已核定的年度不能再修改。"), code=Code.CYCLE_LOCKED)
    unknown = set(fields) - {*CYCLE_AMOUNTS, *CYCLE_DATES}
    if unknown:
        raise ValidationError({key: [_("此欄位不可修改。")] for key in sorted(unknown)})
    _check_cycle_amounts(fields)
    for key, value in fields.items():
        setattr(cycle, key, value)
    cycle.full_clean()
    cycle.save(update_fields=list(fields))
    return cycle


@transaction.atomic
def cycle_ceiling_set(
    *, actor, cycle_id: int, agency_id: int, public: int | None = None, fund: int | None = None
) -> BudgetCeiling | None:
    """An agency's own ceilings in the cycle (None: no ceiling of its own for that source; both None removes it)."""
    cycle = _cycle(cycle_id)
    require(actor, "plan_control.run_budget")
    if cycle.status in (C.APPROVED, C.CLOSED):
        raise TransitionNotAllowed(_("已核定的年度不能再修改。"), code=Code.CYCLE_LOCKED)
    if not Agency.objects.filter(pk=agency_id).exists():
        raise ValidationError({"agency": [_("找不到此機關。")]})
    errors = {}
    for name, value in (("public", public), ("fund", fund)):
        problem = "" if value is None else amount_problem(value, Source(name).label)
        if problem:
            errors[name] = [problem]
    if errors:
        raise ValidationError(errors)
    if public is None and fund is None:
        BudgetCeiling.objects.filter(cycle=cycle, agency_id=agency_id).delete()
        return None
    ceiling, _created = BudgetCeiling.objects.update_or_create(
        cycle=cycle, agency_id=agency_id, defaults={"public": public, "fund": fund}
    )
    return ceiling


@transaction.atomic
def cycle_open(*, actor, cycle_id: int) -> BudgetCycle:
    """planning -> collecting: agencies draft and send requests until the request deadline."""
    cycle = _cycle(cycle_id)
    apply_transition(cycle, "open", actor=actor)
    return cycle


@transaction.atomic
def cycle_start_review(*, actor, cycle_id: int) -> BudgetCycle:
    """collecting -> reviewing: every request sent to RDEC moves to in_review at once; those still at their agency
    (draft, awaiting the head, returned) lapse to withdrawn, logged with the reason."""
    cycle = _cycle(cycle_id)
    apply_transition(cycle, "start_review", actor=actor)
    requests = BudgetRequest.objects.filter(cycle=cycle)
    apply_bulk_transition(requests.filter(status=S.SUBMITTED), "start_review", actor=actor)
    apply_bulk_transition(
        requests.filter(status__in=[S.DRAFT, S.PENDING_APPROVAL, S.RETURNED]),
        "lapse",
        actor=actor,
        reason=_("初審開始時尚未送達研考會"),
    )
    return cycle


@transaction.atomic
def cycle_start_balancing(*, actor, cycle_id: int) -> BudgetCycle:
    """reviewing -> balancing; 409 `requests_in_review` while a request still lacks its recommendation."""
    cycle = _cycle(cycle_id)
    require(actor, "plan_control.run_budget")
    waiting = cycle.requests.filter(status=S.IN_REVIEW).count()
    if waiting and cycle.status == C.REVIEWING:
        raise TransitionNotAllowed(
            _("尚有 %(n)d 件申請未提出初審建議。") % {"n": waiting}, code=Code.REQUESTS_IN_REVIEW
        )
    apply_transition(cycle, "start_balancing", actor=actor)
    return cycle


def plan_code(request: BudgetRequest) -> str:
    """The code of the controlled plan an approved request becomes: its fiscal year and the request's number."""
    return f"{request.cycle.fiscal_year}-B{request.pk:05d}"


@transaction.atomic
def cycle_approve(*, actor, cycle_id: int) -> BudgetCycle:
    """balancing -> approved (an RDEC supervisor): 409 `undecided_requests` while a request awaits its decision.
    Every approved or cut request becomes a registered controlled plan of the fiscal year, its budget the approved
    total, linked from the request (a request already linked is skipped), each with a log row."""
    cycle = _cycle(cycle_id)
    require(actor, "plan_control.approve_budget")
    undecided = cycle.requests.exclude(status__in=selectors.FINAL).count()
    if undecided and cycle.status == C.BALANCING:
        raise TransitionNotAllowed(_("尚有 %(n)d 件申請未核定。") % {"n": undecided}, code=Code.UNDECIDED_REQUESTS)
    apply_transition(cycle, "approve", actor=actor, kwargs={"at": timezone.now()}, update_fields=["approved_at"])
    _register_plans(cycle, actor)
    return cycle


def _register_plans(cycle: BudgetCycle, actor) -> int:
    granted = list(
        cycle.requests.filter(status__in=selectors.GRANTED, controlled_plan__isnull=True)
        .select_related("cycle")
        .order_by("pk")
    )
    if not granted:
        return 0
    codes = {r.pk: plan_code(r) for r in granted}
    taken = sorted(
        ControlledPlan.objects.filter(year=cycle.fiscal_year, code__in=codes.values()).values_list("code", flat=True)
    )
    if taken:
        raise Conflict(_("列管計畫編號已被使用：%(codes)s") % {"codes": "、".join(taken)}, code=Code.PLAN_CODE_TAKEN)
    monitoring_selectors.control_year(cycle.fiscal_year)
    plans = ControlledPlan.objects.bulk_create(
        ControlledPlan(
            year=cycle.fiscal_year,
            code=codes[r.pk],
            agency_id=r.agency_id,
            title=r.title,
            budget=sum(r.amounts("approved").values()),
            planned_progress=EVEN_CURVE,
        )
        for r in granted
    )
    for request, plan in zip(granted, plans, strict=True):
        request.controlled_plan = plan
        log_event(
            plan,
            "register_from_budget",
            source="",
            target=plan.status,
            actor=actor,
            reason=_("%(cycle)s核定：%(title)s") % {"cycle": cycle, "title": request.title},
        )
    BudgetRequest.objects.bulk_update(granted, ["controlled_plan"])
    return len(plans)


@transaction.atomic
def cycle_close(*, actor, cycle_id: int) -> BudgetCycle:
    """approved -> closed."""
    cycle = _cycle(cycle_id)
    apply_transition(cycle, "close", actor=actor)
    return cycle
