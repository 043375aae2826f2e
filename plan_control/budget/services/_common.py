"""What the budget services share: the status shorthands, checking amounts by source, the amount ledger and
locking a cycle or a request (always the cycle first), and telling people what just happened (notices)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import Role
from workflow_site import notices
from workflow_site.errors import NotFound

from ...models import (
    AmountLedger,
    BudgetCycle,
    BudgetRequest,
)
from ...models.budget import SOURCES, Source, amount_problem
from .. import selectors
from ..deadlines import request_url

S = BudgetRequest.Status
C = BudgetCycle.Status
Kind = BudgetRequest.Kind


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


# ---- locking ------------------------------------------------------------------------------------------------


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


# ---- notices -------------------------------------------------------------------------------------------------


def _agency_staff(agency_ids, roles=(Role.AGENCY_CLERK, Role.AGENCY_HEAD)) -> list[int]:
    """Active users of these agencies holding one of `roles` (one query)."""
    return list(
        User.objects.filter(is_active=True, groups__name__in=roles, agency_id__in=set(agency_ids))
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )


def _officers() -> list[int]:
    return list(User.objects.filter(is_active=True, groups__name=Role.RDEC_OFFICER).values_list("pk", flat=True))


def _notify(request: BudgetRequest, recipient_ids, subject: str, body: str, reason: str = "", **facts) -> None:
    """A notice about `request`, written in the caller's transaction (none if it rolls back): `subject` and `body`
    may name %(title)s, %(agency)s, %(cycle)s and the `facts` given; `reason` is the person's own words, appended
    as typed."""
    facts = {"title": request.title, "agency": request.agency, "cycle": request.cycle, **facts}
    notices.send(
        recipient_ids=recipient_ids,
        subject=subject % facts,
        body=body % facts + reason,
        item=request,
        url=request_url(request.pk),
    )
