"""Reads of the proposal process: who sees what is decided here, once."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from accounts.roles import Role, is_rdec_staff, user_roles
from accounts.selectors import agency_ids_acting, is_agency_staff
from reviews import selectors as review_selectors
from reviews.errors import Code as ReviewCode
from reviews.models import Adoption, Panel, ScoreSheet
from reviews.selectors import panel_evaluation
from workflow_site.errors import NotFound, PermissionDenied, TransitionNotAllowed

from .models import Proposal, ProposalRound

# What stays inside the agency until its head signs off (and what it withdrew before that).
AGENCY_PRIVATE = (Proposal.Status.DRAFT, Proposal.Status.PENDING_APPROVAL, Proposal.Status.WITHDRAWN)


def proposal_visibility(user) -> Q:
    """Agencies: their own proposals, drafts included. RDEC: what agencies have sent. Reviewers: what they
    score (not recused). Nobody else: nothing."""
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    visible = Q(pk__in=[])
    if is_rdec_staff(user):
        visible |= ~Q(status__in=AGENCY_PRIVATE)
    if is_agency_staff(user):
        visible |= Q(agency_id__in=agency_ids_acting(user))
    if Role.REVIEWER in user_roles(user):
        assigned = ScoreSheet.objects.filter(
            member__user=user,
            item__subject_type=ContentType.objects.get_for_model(Proposal),
            item__subject_id=OuterRef("pk"),
        ).exclude(status=ScoreSheet.Status.RECUSED)
        visible |= Q(Exists(assigned))
    return visible


def proposal_list(*, viewer) -> QuerySet[Proposal]:
    return (
        Proposal.objects.filter(proposal_visibility(viewer))
        .select_related("agency", "round")
        .order_by("round_id", "pk")
    )


def proposal_for_update(*, proposal_id: int, viewer) -> Proposal:
    # Locks the proposal row: an approval and a withdrawal arriving together are applied one after the other.
    qs = Proposal.objects.select_for_update(of=("self",)).select_related("round", "agency")
    if viewer is not None:
        qs = qs.filter(proposal_visibility(viewer))
    try:
        return qs.get(pk=proposal_id)
    except Proposal.DoesNotExist as exc:
        raise NotFound() from exc


def adoption_list(*, viewer) -> QuerySet[Adoption]:
    """The proposals' adoption questions `viewer` may see (reviews.selectors decides who sees which)."""
    return review_selectors.adoption_list(viewer=viewer, subject_model=Proposal)


def round_list() -> QuerySet[ProposalRound]:
    return ProposalRound.objects.select_related("panel").prefetch_related("panel__rubric__criteria").order_by("-year")


def open_rounds() -> QuerySet[ProposalRound]:
    return ProposalRound.objects.filter(status=ProposalRound.Status.OPEN).order_by("-year")


def round_results(*, round_: ProposalRound) -> QuerySet[Proposal]:
    """Finalised ranking: proposals with a rank, best first."""
    return round_.proposals.filter(rank__isnull=False).select_related("agency").order_by("rank", "pk")


def published_winners(*, query: str = "", year: int | None = None) -> QuerySet[Proposal]:
    """What the public may read: graded proposals of published rounds, by grade and rank."""
    qs = (
        Proposal.objects.filter(
            round__status__in=[ProposalRound.Status.PUBLISHED, ProposalRound.Status.CLOSED],
            round__published_at__isnull=False,
        )
        .exclude(grade="")
        .select_related("agency", "round")
        .prefetch_related("attachments")
        .order_by("-round__year", "rank", "pk")
    )
    if year:
        qs = qs.filter(round__year=year)
    for word in query.split():
        qs = qs.filter(
            Q(title__icontains=word)
            | Q(summary__icontains=word)
            | Q(problem__icontains=word)
            | Q(approach__icontains=word)
            | Q(benefits__icontains=word)
            | Q(agency__name__icontains=word)
        )
    return qs


def published_rounds() -> QuerySet[ProposalRound]:
    return ProposalRound.objects.filter(
        status__in=[ProposalRound.Status.PUBLISHED, ProposalRound.Status.CLOSED], published_at__isnull=False
    ).order_by("-year")


def round_preview(*, round_: ProposalRound, viewer):
    """The what-if ranking and grades before finalising: RDEC staff, once scoring has closed."""
    if not viewer.has_perm("proposals.finalise_round"):
        raise PermissionDenied()
    if round_.panel.status not in (Panel.Status.CLOSED, Panel.Status.FINALISED):
        raise TransitionNotAllowed(_("評分尚未結束，不能預覽結果。"), code=ReviewCode.PANEL_NOT_CLOSED)
    return panel_evaluation(round_.panel)


def proposal_counts_by_agency(*, year: int, agency_ids: set[int] | None = None) -> dict[int, dict]:
    """Per agency, the year's proposals sent to RDEC (`submitted`) and those graded (`awarded`), in one GROUP BY:
    what the agency annual summaries (plan_control.appraisal) count. `agency_ids` narrows it (None: every agency)."""
    sent = Proposal.objects.filter(round__year=year).exclude(status__in=AGENCY_PRIVATE)
    if agency_ids is not None:
        sent = sent.filter(agency_id__in=agency_ids)
    return {
        row["agency_id"]: row
        for row in sent.values("agency_id")
        .annotate(submitted=Count("pk"), awarded=Count("pk", filter=~Q(grade="")))
        .order_by()
    }


def round_overview() -> QuerySet[ProposalRound]:
    """The rounds for RDEC's list, newest first, with how many proposals each has sent and has in each agency's
    hands: one query."""
    return ProposalRound.objects.annotate(
        sent=Count("proposals", filter=~Q(proposals__status__in=AGENCY_PRIVATE)),
        in_agencies=Count(
            "proposals",
            filter=Q(proposals__status__in=[Proposal.Status.DRAFT, Proposal.Status.PENDING_APPROVAL]),
        ),
    ).order_by("-year")


def round_counts(*, round_: ProposalRound) -> dict[str, int]:
    """How many of the round's proposals are in each state (every state present, 0 when none): one query."""
    counts = dict.fromkeys(Proposal.Status.values, 0)
    counts.update(round_.proposals.values_list("status").annotate(n=Count("pk")).order_by())
    return counts


def round_rubric(round_: ProposalRound) -> list[dict]:
    """The round's rubric criteria as rubric_create takes them (to copy into a new round)."""
    if round_.panel is None:
        return []
    return [
        {"code": c.code, "name": c.name, "weight": c.weight, "max_score": c.max_score, "guidance": c.guidance}
        for c in round_.panel.rubric.criteria.all()
    ]
