"""Reads of the pre-budget review: who sees which requests, meetings and site visits (decided here, once), the
ledger of a request, and the balancing board's totals in SQL."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from accounts.roles import is_rdec_staff
from workflow_site.errors import NotFound

from ..models import (
    AmountLedger,
    BudgetCeiling,
    BudgetCycle,
    BudgetRequest,
    MeetingDecision,
    ReviewMeeting,
    SiteVisit,
)
from ..models.budget import CEILING_SOURCES, SOURCES
from ..monitoring.selectors import agency_ids_seen

S = BudgetRequest.Status
# Requests RDEC has and the cycle counts: sent by the agency and not returned to it.
IN_CYCLE = (S.SUBMITTED, S.IN_REVIEW, S.RECOMMENDED, S.APPROVED, S.CUT, S.REJECTED)
# Requests whose approved amounts are money granted (a rejected request's are zero).
GRANTED = (S.APPROVED, S.CUT)
DECIDED = (S.APPROVED, S.CUT, S.REJECTED)
# The states a request may end a cycle in: decided, or withdrawn before it counted.
FINAL = (*DECIDED, S.WITHDRAWN)
STAGES = ("requested", "recommended", "approved")


# ---- visibility ----------------------------------------------------------------------------------------------


def request_visibility(user) -> Q:
    """Agency staff: their agency's requests (and those of whom they stand in for), drafts included. RDEC staff:
    every request that has reached RDEC (signed off by its head at least once). Anyone attending a review meeting
    (the reviewers): the requests on its agenda."""
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    visible = Q(pk__in=[])
    if is_rdec_staff(user):
        visible |= Q(submitted_at__isnull=False)
    agencies = agency_ids_seen(user)
    if agencies:
        visible |= Q(agency_id__in=agencies)
    attending = ReviewMeeting.objects.filter(agenda=OuterRef("pk"), attendees=user)
    visible |= Q(Exists(attending))
    return visible


def meeting_visibility(user) -> Q:
    """RDEC staff: every meeting. Attendees: theirs. Agency staff: the meetings their agency is concerned in."""
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    if is_rdec_staff(user):
        return Q()
    visible = Q(Exists(ReviewMeeting.attendees.through.objects.filter(reviewmeeting_id=OuterRef("pk"), user=user)))
    agencies = agency_ids_seen(user)
    if agencies:
        visible |= Q(
            Exists(
                ReviewMeeting.agencies.through.objects.filter(reviewmeeting_id=OuterRef("pk"), agency_id__in=agencies)
            )
        )
    return visible


def site_visit_visibility(user) -> Q:
    """RDEC staff: every visit. Agency staff: the visits to their agency's requests."""
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    if is_rdec_staff(user):
        return Q()
    agencies = agency_ids_seen(user)
    if not agencies:
        return Q(pk__in=[])
    visited = SiteVisit.requests.through.objects.filter(
        sitevisit_id=OuterRef("pk"), budgetrequest__agency_id__in=agencies
    )
    return Q(Exists(visited))


# ---- cycles --------------------------------------------------------------------------------------------------


def cycle_list() -> QuerySet[BudgetCycle]:
    """Every cycle, newest first: their settings are no secret to anyone signed in."""
    return BudgetCycle.objects.order_by("-fiscal_year")


def cycle_get(*, cycle_id: int) -> BudgetCycle:
    try:
        return BudgetCycle.objects.get(pk=cycle_id)
    except BudgetCycle.DoesNotExist as exc:
        raise NotFound() from exc


def ceiling_list(*, cycle_id: int) -> QuerySet[BudgetCeiling]:
    return BudgetCeiling.objects.filter(cycle_id=cycle_id).select_related("agency").order_by("agency__code")


def cycle_details() -> QuerySet[BudgetCycle]:
    """Every cycle with its agencies' ceilings (by agency code): two queries for any number of cycles (the API)."""
    ceilings = BudgetCeiling.objects.select_related("agency").order_by("agency__code")
    return cycle_list().prefetch_related(Prefetch("ceilings", queryset=ceilings))


# ---- requests ------------------------------------------------------------------------------------------------


def request_list(
    *, viewer, cycle_id: int | None = None, agency_id: int | None = None, status: str | None = None
) -> QuerySet[BudgetRequest]:
    qs = BudgetRequest.objects.filter(request_visibility(viewer))
    if cycle_id is not None:
        qs = qs.filter(cycle_id=cycle_id)
    if agency_id is not None:
        qs = qs.filter(agency_id=agency_id)
    if status is not None:
        qs = qs.filter(status=status)
    return qs.select_related("cycle", "agency", "created_by").order_by("cycle_id", "agency__code", "pk")


def request_details(*, viewer) -> QuerySet[BudgetRequest]:
    """`request_list` with each request's documents: a constant number of queries for a page of any size."""
    return request_list(viewer=viewer).prefetch_related("documents")


def request_get(*, request_id: int, viewer) -> BudgetRequest:
    """The request with its documents, if `viewer` may see it (else 404: another agency's does not exist for them)."""
    try:
        return request_list(viewer=viewer).prefetch_related("documents").get(pk=request_id)
    except BudgetRequest.DoesNotExist as exc:
        raise NotFound() from exc


def request_for_update(*, request_id: int, viewer) -> BudgetRequest:
    """The request, locked, with its cycle, if `viewer` may see it (None: the system sees everything)."""
    qs = BudgetRequest.objects.select_for_update(of=("self",)).select_related("cycle")
    if viewer is not None:
        qs = qs.filter(request_visibility(viewer))
    try:
        return qs.get(pk=request_id)
    except BudgetRequest.DoesNotExist as exc:
        raise NotFound() from exc


def ledger(*, request_id: int, viewer) -> QuerySet[AmountLedger]:
    """The request's amount changes, oldest first (who, when, from, to, why); 404 if the request is not visible."""
    if not BudgetRequest.objects.filter(request_visibility(viewer), pk=request_id).exists():
        raise NotFound()
    return AmountLedger.objects.filter(request_id=request_id).select_related("actor").order_by("at", "pk")


# ---- meetings and visits -------------------------------------------------------------------------------------


def meeting_list(*, viewer, cycle_id: int | None = None) -> QuerySet[ReviewMeeting]:
    qs = ReviewMeeting.objects.filter(meeting_visibility(viewer))
    if cycle_id is not None:
        qs = qs.filter(cycle_id=cycle_id)
    return qs.select_related("cycle").prefetch_related("agenda", "attendees", "agencies").order_by("date", "pk")


def meeting_get(*, meeting_id: int, viewer) -> ReviewMeeting:
    try:
        return meeting_list(viewer=viewer).prefetch_related("decisions").get(pk=meeting_id)
    except ReviewMeeting.DoesNotExist as exc:
        raise NotFound() from exc


def meeting_details(*, viewer) -> QuerySet[ReviewMeeting]:
    """The meetings `viewer` may see, each with the part of its agenda and of its decisions about requests the viewer
    may see (an agency concerned in a meeting learns nothing of another agency's request in it), its attendees and
    agencies: a constant number of queries."""
    visible = BudgetRequest.objects.filter(request_visibility(viewer)).order_by("pk")
    decisions = MeetingDecision.objects.filter(request__in=visible.values("pk")).order_by("request_id")
    return (
        ReviewMeeting.objects.filter(meeting_visibility(viewer))
        .select_related("cycle")
        .prefetch_related(
            Prefetch("agenda", queryset=visible),
            Prefetch("decisions", queryset=decisions),
            "attendees",
            "agencies",
        )
        .order_by("date", "pk")
    )


def site_visit_details(*, viewer) -> QuerySet[SiteVisit]:
    """The site visits `viewer` may see, each with the visited requests the viewer may see and its photos."""
    visible = BudgetRequest.objects.filter(request_visibility(viewer)).order_by("pk")
    return (
        SiteVisit.objects.filter(site_visit_visibility(viewer))
        .select_related("cycle")
        .prefetch_related(Prefetch("requests", queryset=visible), "photos")
        .order_by("date", "pk")
    )


def site_visit_list(*, viewer, cycle_id: int | None = None) -> QuerySet[SiteVisit]:
    qs = SiteVisit.objects.filter(site_visit_visibility(viewer))
    if cycle_id is not None:
        qs = qs.filter(cycle_id=cycle_id)
    return qs.select_related("cycle").prefetch_related("requests", "photos").order_by("date", "pk")


def site_visit_get(*, visit_id: int, viewer) -> SiteVisit:
    try:
        return site_visit_list(viewer=viewer).get(pk=visit_id)
    except SiteVisit.DoesNotExist as exc:
        raise NotFound() from exc


# ---- the balancing board -------------------------------------------------------------------------------------


def _stage_sums() -> dict:
    sums = {}
    for source in SOURCES:
        sums[f"sum_requested_{source}"] = Coalesce(Sum(f"requested_{source}"), 0)
        sums[f"sum_recommended_{source}"] = Coalesce(Sum(f"recommended_{source}"), 0)
        sums[f"sum_approved_{source}"] = Coalesce(Sum(f"approved_{source}", filter=Q(status__in=GRANTED)), 0)
    return sums


def _by_stage(row: dict) -> dict:
    figures = {}
    for stage in STAGES:
        by_source = {source: row[f"sum_{stage}_{source}"] for source in SOURCES}
        figures[stage] = {**by_source, "total": sum(by_source.values())}
    return figures


def _over(figures: dict, ceiling: dict) -> list[str]:
    return [s for s in CEILING_SOURCES if ceiling.get(s) is not None and figures["approved"][s] > ceiling[s]]


def totals(*, cycle: BudgetCycle) -> dict:
    """The balancing board of a cycle: requested / recommended / approved per source (and their total), for the
    cycle and per agency, against the cycle's and each agency's ceilings. Two queries whatever the size: one GROUP BY
    agency with the sums (the approved ones conditional on a granted decision), one for the agencies' ceilings.

    Counted: the requests at RDEC (`IN_CYCLE`); recommended: what the meetings last recommended; approved: the
    approved and cut requests. `over_ceiling` lists the sources whose approved sum exceeds the ceiling. Returns
    {"fiscal_year", "sources", "ceiling", "overall": {...}, "agencies": [{"agency_id", "code", "name", "count",
    "requested", "recommended", "approved", "ceiling", "over_ceiling"}, ...]} by agency code; an agency with a ceiling
    and no request is listed with zeros.
    """
    rows = list(
        BudgetRequest.objects.filter(cycle_id=cycle.pk, status__in=IN_CYCLE)
        .values("agency_id", "agency__code", "agency__name")
        .annotate(count=Count("pk"), **_stage_sums())
        .order_by()
    )
    ceilings = {
        c["agency_id"]: c
        for c in BudgetCeiling.objects.filter(cycle_id=cycle.pk).values(
            "agency_id", "agency__code", "agency__name", "public", "fund"
        )
    }
    zero = {key: 0 for key in _stage_sums()}
    with_requests = {r["agency_id"] for r in rows}
    rows += [{**c, "count": 0, **zero} for agency_id, c in ceilings.items() if agency_id not in with_requests]
    agencies = []
    for row in sorted(rows, key=lambda r: r["agency__code"]):
        own = ceilings.get(row["agency_id"], {})
        ceiling = {source: own.get(source) for source in CEILING_SOURCES}
        figures = _by_stage(row)
        agencies.append(
            {
                "agency_id": row["agency_id"],
                "code": row["agency__code"],
                "name": row["agency__name"],
                "count": row["count"],
                **figures,
                "ceiling": ceiling,
                "over_ceiling": _over(figures, ceiling),
            }
        )
    overall_row = {key: sum(r[key] for r in rows) for key in zero}
    overall = _by_stage(overall_row)
    ceiling = {"public": cycle.public_ceiling, "fund": cycle.fund_ceiling}
    return {
        "fiscal_year": cycle.fiscal_year,
        "sources": list(SOURCES),
        "ceiling": ceiling,
        "overall": {
            "count": sum(r["count"] for r in rows),
            **overall,
            "ceiling": ceiling,
            "over_ceiling": _over(overall, ceiling),
        },
        "agencies": agencies,
    }


def approved_sums(*, cycle_id: int, agency_id: int) -> dict[str, dict[str, int]]:
    """What the cycle, and one agency in it, have been granted so far per ceiling source: {"cycle": {"public",
    "fund"}, "agency": {...}}, one query (the decision's ceiling check)."""
    granted = Q(status__in=GRANTED)
    mine = granted & Q(agency_id=agency_id)
    row = BudgetRequest.objects.filter(cycle_id=cycle_id).aggregate(
        **{f"cycle_{s}": Coalesce(Sum(f"approved_{s}", filter=granted), 0) for s in CEILING_SOURCES},
        **{f"agency_{s}": Coalesce(Sum(f"approved_{s}", filter=mine), 0) for s in CEILING_SOURCES},
    )
    return {scope: {s: row[f"{scope}_{s}"] for s in CEILING_SOURCES} for scope in ("cycle", "agency")}
