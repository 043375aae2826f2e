"""Every write of the pre-budget review (先期作業). State changes go through workflow_site.transitions; every change
of an amount (requested, recommended, approved) leaves `AmountLedger` rows in the same transaction.

Amounts come in as `amounts`, a dict {source: NT$} over `models.budget.SOURCES` ("public", "fund", "central",
"other"; a missing source is 0), integers only. Bad input is a 400 by field (Django ValidationError) and saves
nothing; a refused stage is a 409 with a code from `errors.Code`.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from accounts.models import Agency, User
from accounts.roles import Role, user_roles
from workflow_site.documents import sniff_kind
from workflow_site.errors import Conflict, NotFound, PermissionDenied, TransitionNotAllowed
from workflow_site.permissions import require
from workflow_site.roc_calendar.calendar import today
from workflow_site.roc_calendar.roc import format_roc_date
from workflow_site.transitions import apply_bulk_transition, apply_transition, log_event

from ...models import (
    AmountLedger,
    BudgetCeiling,
    BudgetCycle,
    BudgetDocument,
    BudgetRequest,
    ControlledPlan,
    MeetingDecision,
    ReviewMeeting,
    SiteVisit,
    SiteVisitPhoto,
)
from ...models.budget import CEILING_SOURCES, SOURCES, Source, amount_problem, years_problem
from ...monitoring import selectors as monitoring_selectors
from .. import selectors
from ..errors import Code
from ..money import format_amount
from ..uploads import sniff_photo

S = BudgetRequest.Status
C = BudgetCycle.Status
Kind = BudgetRequest.Kind
CYCLE_AMOUNTS = (
    "public_ceiling",
    "fund_ceiling",
    "new_plan_threshold",
    "continuing_threshold",
    "central_review_threshold",
)
CYCLE_DATES = ("request_deadline", "meeting_start", "meeting_end", "balancing_date")
REQUEST_FIELDS = ("title", "kind", "amounts", "total", "years", "justification")
EDITABLE = (S.DRAFT, S.RETURNED)
DECISIONS = {"approved": "approve", "cut": "cut", "rejected": "reject"}
# Until the agency's work plan gives its own, a controlled plan made from a request is planned evenly over the
# year (8.33% a month, 100% in December).
EVEN_CURVE = [round(month * 100 / 12, 2) for month in range(1, 13)]


# ---- amounts and the ledger ----------------------------------------------------------------------------------


def _amounts(amounts, *, field: str = "amounts") -> dict[str, int]:
    """`amounts` with every source (a missing one 0), each an integer of NT$ within range; 400 naming `field`."""
    if not isinstance(amounts, dict):
        raise ValidationError({field: [_("金額須依經費來源（public、fund、central、other）分列。")]})
    unknown = sorted(str(key) for key in amounts if key not in SOURCES)
    if unknown:
        raise ValidationError({field: [_("未知的經費來源：%(keys)s") % {"keys": "、".join(unknown)}]})
    problems = [amount_problem(amounts.get(source, 0), Source(source).label) for source in SOURCES]
    problems = [p for p in problems if p]
    if problems:
        raise ValidationError({field: problems})
    return {source: amounts.get(source, 0) for source in SOURCES}


def _ledger(request: BudgetRequest, stage: str, old: dict, new: dict, *, actor, reason: str) -> None:
    """One AmountLedger row per source of `stage` whose amount changes from `old` to `new`."""
    at = timezone.now()
    AmountLedger.objects.bulk_create(
        AmountLedger(
            request=request,
            field=f"{stage}_{source}",
            from_amount=old[source],
            to_amount=new[source],
            actor=actor,
            at=at,
            reason=reason,
        )
        for source in SOURCES
        if old[source] != new[source]
    )


def _set_amounts(request: BudgetRequest, stage: str, amounts: dict[str, int]) -> list[str]:
    for source in SOURCES:
        setattr(request, f"{stage}_{source}", amounts[source])
    return [f"{stage}_{source}" for source in SOURCES]


# ---- cycles --------------------------------------------------------------------------------------------------


def _cycle(cycle_id: int) -> BudgetCycle:
    try:
        # Locks the cycle: its stage changes, settings and decisions queue behind each other.
        return BudgetCycle.objects.select_for_update().get(pk=cycle_id)
    except BudgetCycle.DoesNotExist as exc:
        raise NotFound() from exc


def _locked(request_id: int, actor) -> BudgetRequest:
    """The request, locked after its cycle, if `actor` may see it (404 otherwise).

    Every service that moves a request locks its cycle first (the cycle's own services do the same before moving
    requests in bulk): a request cannot be signed off, reviewed or decided by rules of a stage the cycle is leaving.
    """
    cycle_id = (
        BudgetRequest.objects.filter(selectors.request_visibility(actor), pk=request_id)
        .values_list("cycle_id", flat=True)
        .first()
    )
    if cycle_id is None:
        raise NotFound()
    cycle = _cycle(cycle_id)
    request = selectors.request_for_update(request_id=request_id, viewer=actor)
    request.cycle = cycle
    return request


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


# ---- requests: the agency ------------------------------------------------------------------------------------


def _check_open(cycle: BudgetCycle, *, returned: bool = False) -> None:
    """400 `cycle` unless the cycle takes requests: collecting and, for a new request or a draft, by the deadline
    (a request returned for changes may be fixed and sent again while the cycle still collects)."""
    if cycle.status != C.COLLECTING:
        raise ValidationError({"cycle": [_("本年度先期作業目前不受理申請。")]})
    if not returned and today() > cycle.request_deadline:
        raise ValidationError(
            {"cycle": [_("已超過申請截止日（%(date)s）。") % {"date": format_roc_date(cycle.request_deadline)}]}
        )


def _check_threshold(cycle: BudgetCycle, kind: str, total: int, plan_total: int) -> None:
    if kind == Kind.CONTINUING:
        if total < cycle.continuing_threshold:
            raise ValidationError(
                {
                    "total": [
                        _("延續性計畫年度經費須達 %(min)s以上（本案 %(this)s）。")
                        % {"min": format_amount(cycle.continuing_threshold), "this": format_amount(total)}
                    ]
                }
            )
    elif plan_total < cycle.new_plan_threshold:
        raise ValidationError(
            {
                "total": [
                    _("新興計畫總經費須達 %(min)s以上（本案 %(this)s）。")
                    % {"min": format_amount(cycle.new_plan_threshold), "this": format_amount(plan_total)}
                ]
            }
        )


def _years(years, cycle: BudgetCycle, total: int) -> dict[str, int]:
    """The plan's amounts by ROC year, keys as strings; the cycle's year is the request's total (added if missing,
    400 `years` if it differs)."""
    problem = years_problem(years, cycle.fiscal_year) if years else ""
    if problem:
        raise ValidationError({"years": [problem]})
    clean = {str(int(key)): value for key, value in (years or {}).items()}
    if len(clean) != len(years or {}):
        raise ValidationError({"years": [_("同一年度只能填一次。")]})
    this_year = str(cycle.fiscal_year)
    if this_year not in clean:
        clean[this_year] = total
    elif clean[this_year] != total:
        raise ValidationError(
            {
                "years": [
                    _("%(year)s年度經費 %(amount)s 元須等於本年度申請總額 %(total)s 元。")
                    % {"year": this_year, "amount": f"{clean[this_year]:,}", "total": f"{total:,}"}
                ]
            }
        )
    return dict(sorted(clean.items()))


def _fill(request: BudgetRequest, values: dict) -> dict[str, int]:
    """Check a request's values together (400 naming every bad field at once, then the threshold) and set them on
    `request`; returns the requested amounts by source."""
    cycle = request.cycle
    errors = {}
    kind = values["kind"]
    if kind not in Kind.values:
        errors["kind"] = [_("計畫類別須為新興中長程計畫、新興年度計畫或延續性計畫。")]
    amounts = None
    try:
        amounts = _amounts(values["amounts"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    total = values["total"]
    problem = amount_problem(total, _("申請總額"))
    if problem:
        errors["total"] = [problem]
    if not errors and sum(amounts.values()) != total:
        errors["amounts"] = [
            _("各經費來源合計 %(sum)s 元，不等於申請總額 %(total)s 元。")
            % {"sum": f"{sum(amounts.values()):,}", "total": f"{total:,}"}
        ]
    if errors:
        raise ValidationError(errors)
    years = _years(values["years"], cycle, total)
    plan_total = sum(years.values())
    _check_threshold(cycle, kind, total, plan_total)
    request.title = values["title"]
    request.kind = kind
    request.justification = values["justification"]
    request.total = total
    request.years = years
    request.plan_total = plan_total
    request.central_review = plan_total >= cycle.central_review_threshold
    _set_amounts(request, "requested", amounts)
    return amounts


@transaction.atomic
def request_create(
    *,
    actor,
    cycle_id: int,
    title: str,
    kind: str,
    amounts: dict[str, int],
    total: int,
    years: dict | None = None,
    justification: str = "",
) -> BudgetRequest:
    """An agency clerk drafts a request for their agency while the cycle collects, by the request deadline (400
    `cycle` otherwise). 400 by field for bad amounts (`amounts`, `total`, `years`) and for a plan under the
    threshold (`total`, naming it); the central-review flag follows the plan's total over its years."""
    if Role.AGENCY_CLERK not in user_roles(actor) or actor.agency_id is None:
        raise PermissionDenied(_("只有機關承辦人可以提出申請。"))
    try:
        # Locks the cycle: a request drafted while the review starts would be left behind as a draft.
        cycle = BudgetCycle.objects.select_for_update().get(pk=cycle_id)
    except BudgetCycle.DoesNotExist as exc:
        raise ValidationError({"cycle": [_("找不到此年度。")]}) from exc
    _check_open(cycle)
    request = BudgetRequest(cycle=cycle, agency_id=actor.agency_id, created_by=actor)
    values = {
        "title": title,
        "kind": kind,
        "amounts": amounts,
        "total": total,
        "years": years,
        "justification": justification,
    }
    requested = _fill(request, values)
    request.full_clean()
    request.save()
    _ledger(request, "requested", dict.fromkeys(SOURCES), requested, actor=actor, reason=_("提出申請"))
    return request


def _own(request_id: int, actor) -> BudgetRequest:
    """The request, locked, for its agency's clerk: 404 if not visible, 403 if not theirs to draft, 409
    `not_editable` once it has left the agency."""
    request = _locked(request_id, actor)
    require(actor, "plan_control.draft_budget_request", request)
    if request.status not in EDITABLE:
        raise TransitionNotAllowed(_("只有草稿或退回修正的申請可以修改。"), code=Code.NOT_EDITABLE)
    _check_open(request.cycle, returned=request.status == S.RETURNED)
    return request


@transaction.atomic
def request_update(*, actor, request_id: int, **fields) -> BudgetRequest:
    """The clerk edits a draft or returned request: any of title, kind, amounts (every source; a missing one is 0),
    total, years, justification. The same 400s as `request_create`; changed requested amounts are in the ledger."""
    request = _own(request_id, actor)
    unknown = set(fields) - set(REQUEST_FIELDS)
    if unknown:
        raise ValidationError({key: [_("此欄位不可修改。")] for key in sorted(unknown)})
    old = request.amounts("requested")
    this_year = str(request.cycle.fiscal_year)
    values = {
        "title": request.title,
        "kind": request.kind,
        "amounts": old,
        "total": request.total,
        # The other years as they were; the cycle's year follows the total unless `years` is given.
        "years": {year: amount for year, amount in request.years.items() if year != this_year},
        "justification": request.justification,
        **fields,
    }
    requested = _fill(request, values)
    request.full_clean()
    request.save(
        update_fields=[
            "title",
            "kind",
            "justification",
            "total",
            "years",
            "plan_total",
            "central_review",
            *(f"requested_{source}" for source in SOURCES),
            "updated_at",
        ]
    )
    _ledger(request, "requested", old, requested, actor=actor, reason=_("修正申請"))
    return request


@transaction.atomic
def request_document_add(*, actor, request_id: int, upload) -> BudgetDocument:
    """The plan document (計畫書) of a draft or returned request: PDF, DOCX or ODT by content, 20 MB at most (400
    `file`)."""
    request = _own(request_id, actor)
    try:
        kind = sniff_kind(upload)
    except ValidationError as exc:
        raise ValidationError({"file": exc.messages}) from exc
    document = BudgetDocument(
        request=request,
        name=(getattr(upload, "name", "") or "file")[-255:],
        format=kind,
        size=upload.size,
        uploaded_by=actor,
    )
    document.file.save(f"{kind}.{kind}", upload, save=False)
    document.save()
    return document


@transaction.atomic
def request_submit(*, actor, request_id: int) -> BudgetRequest:
    """draft | returned -> pending_approval: to the agency's head. 400 `documents` without a plan document, 400
    `cycle` past the deadline (a draft), 400 `total` under a threshold changed since it was drafted."""
    request = _own(request_id, actor)
    if not request.documents.exists():
        raise ValidationError({"documents": [_("請上傳計畫書。")]})
    _check_threshold(request.cycle, request.kind, request.total, request.plan_total)
    apply_transition(request, "submit", actor=actor)
    return request


@transaction.atomic
def request_approve(*, actor, request_id: int) -> BudgetRequest:
    """pending_approval -> submitted: the agency's head signs off and the request reaches RDEC (while the cycle
    collects)."""
    request = _locked(request_id, actor)
    apply_transition(
        request, "sign_off", actor=actor, kwargs={"at": timezone.now()}, update_fields=["submitted_at", "return_reason"]
    )
    return request


@transaction.atomic
def request_return(*, actor, request_id: int, reason: str) -> BudgetRequest:
    """pending_approval -> returned (the head) or submitted -> returned (RDEC), with the reason; the clerk edits it
    and sends it again."""
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("請說明退回理由。")]})
    request = _locked(request_id, actor)
    apply_transition(
        request,
        "return_for_changes",
        actor=actor,
        reason=reason,
        kwargs={"reason": reason},
        update_fields=["return_reason"],
    )
    return request


@transaction.atomic
def request_withdraw(*, actor, request_id: int, reason: str = "") -> BudgetRequest:
    """draft | returned -> withdrawn (the agency's clerk)."""
    request = _locked(request_id, actor)
    apply_transition(request, "withdraw", actor=actor, reason=reason)
    return request


# ---- requests: RDEC ------------------------------------------------------------------------------------------


@transaction.atomic
def request_start_review(*, actor, request_id: int) -> BudgetRequest:
    """submitted -> in_review (RDEC; all at once when the cycle's review starts)."""
    request = _locked(request_id, actor)
    apply_transition(request, "start_review", actor=actor)
    return request


def _recommend(request: BudgetRequest, amounts, *, actor, note: str, meeting: ReviewMeeting | None) -> None:
    require(actor, "plan_control.run_budget")
    recommended = _amounts(amounts)
    if sum(recommended.values()) > request.total:
        raise ValidationError(
            {
                "amounts": [
                    _("建議總額 %(sum)s 元超過申請總額 %(total)s 元。")
                    % {"sum": f"{sum(recommended.values()):,}", "total": f"{request.total:,}"}
                ]
            }
        )
    old = request.amounts("recommended")
    fields = _set_amounts(request, "recommended", recommended)
    apply_transition(request, "recommend", actor=actor, reason=note, update_fields=[*fields, "updated_at"])
    if meeting is not None:  # the meeting's own record of it, replaced if the meeting decides again
        decision = MeetingDecision.objects.filter(meeting=meeting, request=request).first() or MeetingDecision(
            meeting=meeting, request=request
        )
        for source in SOURCES:
            setattr(decision, source, recommended[source])
        decision.note = note
        decision.recorded_by = actor
        decision.full_clean(validate_constraints=False)
        decision.save()
    why = note or (
        _("初審會議（%(date)s）建議") % {"date": format_roc_date(meeting.date)} if meeting else _("初審建議")
    )
    _ledger(request, "recommended", old, recommended, actor=actor, reason=why)


@transaction.atomic
def request_recommend(*, actor, request_id: int, amounts: dict[str, int], note: str = "") -> BudgetRequest:
    """in_review | recommended -> recommended: RDEC's recommended amounts by source, outside a meeting (a written
    review); at most the requested total (400 `amounts`); 409 `cycle_not_reviewing` outside the review stage."""
    request = _locked(request_id, actor)
    _recommend(request, amounts, actor=actor, note=note, meeting=None)
    return request


@transaction.atomic
def request_decide(
    *,
    actor,
    request_id: int,
    decision: str,
    amounts: dict[str, int] | None = None,
    reason: str = "",
    override_reason: str = "",
) -> BudgetRequest:
    """During balancing (409 `cycle_not_balancing` otherwise) RDEC decides a recommended request, or changes its
    decision: `approved` (0 < total <= requested; `amounts` defaults to the recommendation), `cut` (0 < total <
    requested, a reason), `rejected` (nothing, a reason). Raising a source so that the cycle's or the agency's
    approved sum exceeds its ceiling needs `override_reason` (400 `amounts` naming the ceiling without it) and an
    RDEC supervisor (403 otherwise). Approved amounts and their changes go to the ledger."""
    request = _locked(request_id, actor)
    require(actor, "plan_control.decide_budget")
    if decision not in DECISIONS:
        raise ValidationError({"decision": [_("決定須為 approved（照案核定）、cut（核減）或 rejected（不予核列）。")]})
    name = DECISIONS[decision]
    if not can_proceed(getattr(request, name)):
        # The stage or the state refuses: apply_transition raises the refusal (409) the model states.
        apply_transition(request, name, actor=actor)
    if decision != "approved" and not (reason or "").strip():
        raise ValidationError({"reason": [_("核減或不予核列須說明理由。")]})
    approved = _decided_amounts(request, decision, amounts)
    over = _over_ceilings(request, approved)
    log_reason = reason
    if over:
        if not (override_reason or "").strip():
            raise ValidationError({"amounts": over})
        require(actor, "plan_control.override_budget_ceiling")
        log_reason = _("%(reason)s（超過額度，主管核可：%(why)s）") % {"reason": reason, "why": override_reason}
    old = request.amounts("approved")
    fields = _set_amounts(request, "approved", approved)
    request.decision_note = reason
    apply_transition(
        request,
        name,
        actor=actor,
        reason=log_reason,
        kwargs={"at": timezone.now()},
        update_fields=[*fields, "decision_note", "decided_at", "updated_at"],
    )
    _ledger(request, "approved", old, approved, actor=actor, reason=log_reason)
    return request


def _decided_amounts(request: BudgetRequest, decision: str, amounts) -> dict[str, int]:
    if decision == "rejected":
        approved = _amounts(amounts or {})
        if any(approved.values()):
            raise ValidationError({"amounts": [_("不予核列者核定金額須為 0。")]})
        return approved
    if amounts is None:
        recommended = request.amounts("recommended")
        if None in recommended.values():
            raise ValidationError({"amounts": [_("請填寫核定金額。")]})
        amounts = recommended
    approved = _amounts(amounts)
    total = sum(approved.values())
    if total == 0:
        raise ValidationError({"amounts": [_("核定金額須大於 0；不予補助請選擇不予核列。")]})
    if total > request.total:
        raise ValidationError(
            {
                "amounts": [
                    _("核定總額 %(sum)s 元超過申請總額 %(total)s 元。")
                    % {"sum": f"{total:,}", "total": f"{request.total:,}"}
                ]
            }
        )
    if decision == "cut" and total == request.total:
        message = _("核減後總額須低於申請總額 %(total)s 元。") % {"total": f"{request.total:,}"}
        raise ValidationError({"amounts": [message]})
    return approved


def _over_ceilings(request: BudgetRequest, approved: dict[str, int]) -> list[str]:
    """The ceilings (the cycle's, the agency's) that the decision's raised sources would exceed, as messages."""
    cycle = request.cycle
    granted_now = request.status in selectors.GRANTED
    before = {s: (getattr(request, f"approved_{s}") or 0) if granted_now else 0 for s in CEILING_SOURCES}
    raised = [s for s in CEILING_SOURCES if approved[s] > before[s]]
    if not raised:
        return []
    sums = selectors.approved_sums(cycle_id=cycle.pk, agency_id=request.agency_id)
    own = BudgetCeiling.objects.filter(cycle=cycle, agency_id=request.agency_id).first()
    messages = []
    for source in raised:
        scopes = [("cycle", getattr(cycle, f"{source}_ceiling"), _("本年度"))]
        if own is not None and getattr(own, source) is not None:
            scopes.append(("agency", getattr(own, source), str(request.agency)))
        for scope, ceiling, whose in scopes:
            after = sums[scope][source] - before[source] + approved[source]
            if after > ceiling:
                messages.append(
                    _("%(whose)s%(source)s核定總額將達 %(after)s，超過額度 %(ceiling)s，須由研考會主管填寫理由核可。")
                    % {
                        "whose": whose,
                        "source": Source(source).label,
                        "after": format_amount(after),
                        "ceiling": format_amount(ceiling),
                    }
                )
    return messages


# ---- meetings ------------------------------------------------------------------------------------------------


def _agenda(cycle: BudgetCycle, request_ids) -> list[BudgetRequest]:
    ids = list(dict.fromkeys(request_ids or ()))
    if not ids:
        raise ValidationError({"request_ids": [_("請至少列入一件審查案件。")]})
    found = list(
        BudgetRequest.objects.filter(
            pk__in=ids, cycle=cycle, status__in=[S.SUBMITTED, S.IN_REVIEW, S.RECOMMENDED]
        ).order_by("pk")
    )
    missing = sorted(set(ids) - {r.pk for r in found})
    if missing:
        raise ValidationError(
            {
                "request_ids": [
                    _("以下案件不屬本年度或不在審查中：%(ids)s") % {"ids": "、".join(str(pk) for pk in missing)}
                ]
            }
        )
    return found


def _people(user_ids) -> list[int]:
    ids = list(dict.fromkeys(user_ids or ()))
    found = set(User.objects.filter(pk__in=ids, is_active=True).values_list("pk", flat=True))
    missing = [pk for pk in ids if pk not in found]
    if missing:
        raise ValidationError({"attendee_ids": [_("找不到以下人員：%(ids)s") % {"ids": "、".join(map(str, missing))}]})
    return ids


def _agencies(agency_ids, agenda: list[BudgetRequest]) -> list[int]:
    ids = list(dict.fromkeys(agency_ids or ()))
    found = set(Agency.objects.filter(pk__in=ids).values_list("pk", flat=True))
    missing = [pk for pk in ids if pk not in found]
    if missing:
        raise ValidationError({"agency_ids": [_("找不到以下機關：%(ids)s") % {"ids": "、".join(map(str, missing))}]})
    return list(dict.fromkeys([*ids, *(r.agency_id for r in agenda)]))


def _check_meeting_date(cycle: BudgetCycle, date: datetime.date) -> None:
    if not cycle.meeting_start <= date <= cycle.meeting_end:
        raise ValidationError(
            {
                "date": [
                    _("會議日期須在初審會議期間（%(start)s 至 %(end)s）。")
                    % {"start": format_roc_date(cycle.meeting_start), "end": format_roc_date(cycle.meeting_end)}
                ]
            }
        )


def _check_meeting_stage(cycle: BudgetCycle) -> None:
    if cycle.status not in (C.PLANNING, C.COLLECTING, C.REVIEWING):
        raise TransitionNotAllowed(_("本年度已結束初審。"), code=Code.CYCLE_NOT_REVIEWING)


@transaction.atomic
def meeting_create(
    *,
    actor,
    cycle_id: int,
    date: datetime.date,
    place: str,
    request_ids: list[int],
    attendee_ids: list[int] = (),
    agency_ids: list[int] = (),
) -> ReviewMeeting:
    """RDEC schedules a preliminary review meeting within the cycle's meeting window (400 `date`), its agenda the
    cycle's requests at RDEC not yet decided (400 `request_ids`); the agencies concerned are those given and the
    agenda's. 409 `cycle_not_reviewing` once balancing has begun."""
    require(actor, "plan_control.run_budget")
    cycle = _cycle(cycle_id)
    _check_meeting_stage(cycle)
    _check_meeting_date(cycle, date)
    agenda = _agenda(cycle, request_ids)
    attendees = _people(attendee_ids)
    agencies = _agencies(agency_ids, agenda)
    meeting = ReviewMeeting(cycle=cycle, date=date, place=place, created_by=actor)
    meeting.full_clean()
    meeting.save()
    meeting.agenda.set(agenda)
    meeting.attendees.set(attendees)
    meeting.agencies.set(agencies)
    log_event(meeting, "schedule", source="", target=meeting.status, actor=actor)
    return meeting


def _meeting(meeting_id: int, actor) -> ReviewMeeting:
    try:
        return (
            ReviewMeeting.objects.filter(selectors.meeting_visibility(actor))
            .select_for_update(of=("self",))
            .select_related("cycle")
            .get(pk=meeting_id)
        )
    except ReviewMeeting.DoesNotExist as exc:
        raise NotFound() from exc


@transaction.atomic
def meeting_update(
    *,
    actor,
    meeting_id: int,
    date: datetime.date | None = None,
    place: str | None = None,
    request_ids: list[int] | None = None,
    attendee_ids: list[int] | None = None,
    agency_ids: list[int] | None = None,
) -> ReviewMeeting:
    """Reschedule a meeting or change its agenda, attendees or agencies (what is given) until it is held (409
    `meeting_held`); the same 400s as `meeting_create`."""
    meeting = _meeting(meeting_id, actor)
    require(actor, "plan_control.run_budget")
    if meeting.status != ReviewMeeting.Status.SCHEDULED:
        raise TransitionNotAllowed(_("已召開的會議不能再修改。"), code=Code.MEETING_HELD)
    _check_meeting_stage(meeting.cycle)
    fields = []
    if date is not None:
        _check_meeting_date(meeting.cycle, date)
        meeting.date = date
        fields.append("date")
    if place is not None:
        meeting.place = place
        fields.append("place")
    agenda = _agenda(meeting.cycle, request_ids) if request_ids is not None else list(meeting.agenda.all())
    attendees = _people(attendee_ids) if attendee_ids is not None else None
    agencies = _agencies(agency_ids, agenda) if agency_ids is not None or request_ids is not None else None
    meeting.full_clean()
    if fields:
        meeting.save(update_fields=fields)
    if request_ids is not None:
        meeting.agenda.set(agenda)
    if attendees is not None:
        meeting.attendees.set(attendees)
    if agencies is not None:
        if agency_ids is None:  # the agenda changed: keep the agencies named by hand, add the new agenda's
            agencies = list(dict.fromkeys([*meeting.agencies.values_list("pk", flat=True), *agencies]))
        meeting.agencies.set(agencies)
    return meeting


@transaction.atomic
def meeting_hold(*, actor, meeting_id: int, minutes: str) -> ReviewMeeting:
    """scheduled -> held: the meeting took place; its minutes (400 `minutes` when empty)."""
    if not (minutes or "").strip():
        raise ValidationError({"minutes": [_("請填寫會議紀錄。")]})
    meeting = _meeting(meeting_id, actor)
    meeting.minutes = minutes
    meeting.full_clean()
    apply_transition(
        meeting,
        "hold",
        actor=actor,
        kwargs={"minutes": minutes, "at": timezone.now()},
        update_fields=["minutes", "held_at"],
    )
    return meeting


@transaction.atomic
def meeting_record_decision(
    *, actor, meeting_id: int, request_id: int, amounts: dict[str, int], note: str = ""
) -> MeetingDecision:
    """A meeting's recommendation on a request of its agenda (400 `request` otherwise): the amounts by source and a
    note; the request moves in_review | recommended -> recommended with them (a later decision of the same meeting
    replaces this one). The same 400s and 409s as `request_recommend`."""
    meeting = _meeting(meeting_id, actor)
    require(actor, "plan_control.run_budget")
    request = _locked(request_id, actor)
    if not meeting.agenda.filter(pk=request.pk).exists():
        raise ValidationError({"request": [_("此案不在本次會議的審查案件中。")]})
    _recommend(request, amounts, actor=actor, note=note, meeting=meeting)
    return MeetingDecision.objects.get(meeting=meeting, request=request)


# ---- site visits ---------------------------------------------------------------------------------------------


def _photo(visit: SiteVisit, upload, actor) -> SiteVisitPhoto:
    try:
        kind = sniff_photo(upload)
    except ValidationError as exc:
        raise ValidationError({"photos": exc.messages}) from exc
    photo = SiteVisitPhoto(
        visit=visit,
        name=(getattr(upload, "name", "") or "photo")[-255:],
        format=kind,
        size=upload.size,
        uploaded_by=actor,
    )
    return photo


@transaction.atomic
def site_visit_create(
    *,
    actor,
    cycle_id: int,
    date: datetime.date,
    request_ids: list[int],
    findings: str = "",
    photos=(),
) -> SiteVisit:
    """RDEC records a site visit to requests of the cycle at RDEC (400 `request_ids`), with its findings and photos
    (JPEG or PNG by content, 10 MB each at most: 400 `photos`, nothing saved)."""
    require(actor, "plan_control.run_budget")
    cycle = _cycle(cycle_id)
    ids = list(dict.fromkeys(request_ids or ()))
    if not ids:
        raise ValidationError({"request_ids": [_("請至少選擇一件訪查計畫。")]})
    requests = list(BudgetRequest.objects.filter(pk__in=ids, cycle=cycle, status__in=selectors.IN_CYCLE))
    missing = sorted(set(ids) - {r.pk for r in requests})
    if missing:
        raise ValidationError(
            {"request_ids": [_("以下案件不屬本年度或未送研考會：%(ids)s") % {"ids": "、".join(map(str, missing))}]}
        )
    visit = SiteVisit(cycle=cycle, date=date, findings=findings, created_by=actor)
    visit.full_clean()
    pending = [(_photo(visit, upload, actor), upload) for upload in photos]  # every photo checked before any is saved
    visit.save()
    visit.requests.set(requests)
    for photo, upload in pending:
        photo.visit = visit
        photo.file.save(f"{photo.format}.{photo.format}", upload, save=False)
        photo.save()
    return visit


@transaction.atomic
def site_visit_update(
    *, actor, visit_id: int, findings: str | None = None, date: datetime.date | None = None
) -> SiteVisit:
    """Correct a site visit's date or findings."""
    require(actor, "plan_control.run_budget")
    visit = _visit(visit_id, actor)
    fields = []
    if findings is not None:
        visit.findings = findings
        fields.append("findings")
    if date is not None:
        visit.date = date
        fields.append("date")
    visit.full_clean()
    if fields:
        visit.save(update_fields=fields)
    return visit


def _visit(visit_id: int, actor) -> SiteVisit:
    try:
        return SiteVisit.objects.filter(selectors.site_visit_visibility(actor)).select_for_update().get(pk=visit_id)
    except SiteVisit.DoesNotExist as exc:
        raise NotFound() from exc


@transaction.atomic
def site_visit_add_photo(*, actor, visit_id: int, upload) -> SiteVisitPhoto:
    """One more photo of a visit (JPEG or PNG by content, 10 MB at most: 400 `photos`)."""
    require(actor, "plan_control.run_budget")
    visit = _visit(visit_id, actor)
    photo = _photo(visit, upload, actor)
    photo.file.save(f"{photo.format}.{photo.format}", upload, save=False)
    photo.save()
    return photo
