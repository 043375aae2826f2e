"""A request's services: the agency drafts and sends it, the head signs it off, RDEC reviews, recommends and
decides it (every change of an amount in the ledger)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from accounts.roles import Role, user_roles
from workflow_site.documents import sniff_kind
from workflow_site.errors import PermissionDenied, TransitionNotAllowed
from workflow_site.permissions import require
from workflow_site.roc_calendar.calendar import today
from workflow_site.roc_calendar.roc import format_roc_date
from workflow_site.transitions import apply_transition

from ...models import (
    BudgetCeiling,
    BudgetCycle,
    BudgetDocument,
    BudgetRequest,
    MeetingDecision,
    ReviewMeeting,
)
from ...models.budget import CEILING_SOURCES, SOURCES, Source, amount_problem, years_problem
from .. import selectors
from ..errors import Code
from ..money import format_amount
from ._common import C, Kind, S, _agency_staff, _amounts, _ledger, _locked, _notify, _officers, _set_amounts

REQUEST_FIELDS = ("title", "kind", "amounts", "total", "years", "justification")
EDITABLE = (S.DRAFT, S.RETURNED)
DECISIONS = {"approved": "approve", "cut": "cut", "rejected": "reject"}


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
    """draft | returned -> pending_approval: to the agency's head, whom a notice tells. 400 `documents` without a plan
    document, 400 `cycle` past the deadline (a draft), 400 `total` under a threshold changed since it was drafted."""
    request = _own(request_id, actor)
    if not request.documents.exists():
        raise ValidationError({"documents": [_("請上傳計畫書。")]})
    _check_threshold(request.cycle, request.kind, request.total, request.plan_total)
    apply_transition(request, "submit", actor=actor)
    _notify(
        request,
        _agency_staff([request.agency_id], [Role.AGENCY_HEAD]),
        _("【待核定】先期作業計畫「%(title)s」待您核定"),
        _("%(agency)s的%(cycle)s計畫申請「%(title)s」已由承辦人送出，待您核定後送研考會。"),
    )
    return request


@transaction.atomic
def request_approve(*, actor, request_id: int) -> BudgetRequest:
    """pending_approval -> submitted: the agency's head signs off and the request reaches RDEC (while the cycle
    collects); RDEC's officers are told."""
    request = _locked(request_id, actor)
    apply_transition(
        request, "sign_off", actor=actor, kwargs={"at": timezone.now()}, update_fields=["submitted_at", "return_reason"]
    )
    _notify(
        request,
        _officers(),
        _("【收件通知】%(agency)s先期作業計畫「%(title)s」已送達"),
        _("%(agency)s的%(cycle)s計畫申請「%(title)s」已經機關主管核定，送達研考會待初審。"),
    )
    return request


@transaction.atomic
def request_return(*, actor, request_id: int, reason: str) -> BudgetRequest:
    """pending_approval -> returned (the head) or submitted -> returned (RDEC), with the reason, which a notice gives
    the clerk who drafted it; the clerk edits it and sends it again."""
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
    _notify(
        request,
        [request.created_by_id],
        _("【退回修正】先期作業計畫「%(title)s」已退回"),
        _("您提出的%(cycle)s計畫申請「%(title)s」已退回修正，理由："),
        reason,
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
    RDEC supervisor (403 otherwise). Approved amounts and their changes go to the ledger; the agency's clerks and
    heads are told the decision."""
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
    _notify(
        request,
        _agency_staff([request.agency_id]),
        _("【核定結果】先期作業計畫「%(title)s」：%(decision)s"),
        _("%(agency)s的%(cycle)s計畫申請「%(title)s」綜合平衡結果為「%(decision)s」，核定金額 %(amount)s。")
        + (_("說明：") if reason else ""),
        reason,
        decision=request.get_status_display(),
        amount=format_amount(sum(approved.values())),
    )
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
