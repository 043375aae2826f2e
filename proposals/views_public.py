"""The public results page: winners of published rounds, for anyone, without signing in (WCAG 2.1 AA)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from . import selectors
from .models import GRADE_ORDER, Attachment, Grade, Proposal, ProposalRound

MAX_QUERY_LENGTH = 100


@dataclass
class GradeGroup:
    grade: str
    label: str
    winners: list[Proposal] = field(default_factory=list)


@dataclass
class RoundGroup:
    round: ProposalRound
    grades: list[GradeGroup]


def _award_report(proposal: Proposal) -> Attachment | None:
    # From the prefetched attachments: no query per winner.
    return next((a for a in proposal.attachments.all() if a.is_award_report), None)


def _group(winners: list[Proposal]) -> list[RoundGroup]:
    """Rounds newest first; in each, 優等, 甲等, 乙等, 佳作 (those with winners), each by rank."""
    labels = dict(Grade.choices)
    rounds: dict[int, RoundGroup] = {}
    for proposal in winners:
        proposal.award_report = _award_report(proposal)
        group = rounds.get(proposal.round_id)
        if group is None:
            group = rounds[proposal.round_id] = RoundGroup(
                round=proposal.round, grades=[GradeGroup(grade=g, label=str(labels[g])) for g in GRADE_ORDER]
            )
        for grade_group in group.grades:
            if grade_group.grade == proposal.grade:
                grade_group.winners.append(proposal)
    for group in rounds.values():
        group.grades = [g for g in group.grades if g.winners]
    return sorted(rounds.values(), key=lambda g: -g.round.year)


def _year(raw: str) -> int | None:
    raw = raw.strip()
    return int(raw) if raw.isdigit() and 0 < int(raw) < 1000 else None


@require_safe
def results(request: HttpRequest) -> HttpResponse:
    """Winners of every published round, or of one year (`?year=107`), optionally matching `?q=` keywords."""
    query = request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]
    year = _year(request.GET.get("year", ""))
    winners = list(selectors.published_winners(query=query, year=year))
    context = {
        "query": query,
        "year": year,
        "years": list(selectors.published_rounds().values_list("year", flat=True)),
        "rounds": _group(winners),
        "count": len(winners),
    }
    return render(request, "proposals/public/results.html", context)


@require_safe
def result_detail(request: HttpRequest, proposal_id: int) -> HttpResponse:
    """One winner of a published round; 404 for anything else (unpublished, ungraded, or a draft)."""
    try:
        proposal = selectors.published_winners().get(pk=proposal_id)
    except Proposal.DoesNotExist as exc:
        raise Http404 from exc
    proposal.award_report = _award_report(proposal)
    return render(request, "proposals/public/detail.html", {"proposal": proposal})


@require_safe
def award_report(request: HttpRequest, proposal_id: int) -> FileResponse:
    """A published winner's award report, served by the application: media files are not public, and only
    what this page shows may be downloaded without signing in."""
    try:
        proposal = selectors.published_winners().get(pk=proposal_id)
    except Proposal.DoesNotExist as exc:
        raise Http404 from exc
    report = _award_report(proposal)
    if report is None:
        raise Http404
    return FileResponse(report.file.open("rb"), as_attachment=True, filename=report.name)
