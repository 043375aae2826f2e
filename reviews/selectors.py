"""Reads of the review engine: the reviewer's sheets, progress, and the evaluation (aggregate, rank, grade)."""

from __future__ import annotations

import string
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from . import scoring
from .models import Panel, PanelMember, ReviewItem, ScoreSheet, TieResolution


def sheet_for_update(*, sheet_id: int) -> ScoreSheet:
    # Locks the sheet only (of=self): two submits of the same sheet queue instead of both passing the check.
    return (
        ScoreSheet.objects.select_for_update(of=("self",))
        .select_related("panel__rubric", "member__user", "item")
        .prefetch_related("panel__rubric__criteria", "panel__members")
        .get(pk=sheet_id)
    )


def sheets_for_reviewer(*, user, panel_id: int | None = None) -> QuerySet[ScoreSheet]:
    """The reviewer's own sheets, nothing else: blindness starts here."""
    qs = ScoreSheet.objects.filter(member__user=user).select_related("item__agency", "panel", "member")
    if panel_id is not None:
        qs = qs.filter(panel_id=panel_id)
    return qs.order_by("panel_id", "item_id")


def panels_for_reviewer(*, user) -> QuerySet[Panel]:
    return Panel.objects.filter(members__user=user).select_related("rubric").order_by("-created_at")


@dataclass
class MemberProgress:
    member: PanelMember
    total: int
    submitted: int
    recused: int
    overdue: bool

    @property
    def remaining(self) -> int:
        return self.total - self.submitted - self.recused


def panel_progress(panel: Panel, *, today=None) -> list[MemberProgress]:
    """Per member: sheets submitted of those to score, recusals, and whether they are late. Two queries."""
    from workflow_site.roc_calendar.calendar import today as taipei_today

    day = today or taipei_today()
    counts = {
        row["member_id"]: row
        for row in ScoreSheet.objects.filter(panel=panel)
        .values("member_id")
        .annotate(
            total=Count("pk"),
            submitted=Count("pk", filter=Q(status=ScoreSheet.Status.SUBMITTED)),
            recused=Count("pk", filter=Q(status=ScoreSheet.Status.RECUSED)),
        )
    }
    late = panel.scoring_deadline is not None and day > panel.scoring_deadline
    progress = []
    for member in panel.members.select_related("user").order_by("pk"):
        row = counts.get(member.pk, {"total": 0, "submitted": 0, "recused": 0})
        remaining = row["total"] - row["submitted"] - row["recused"]
        progress.append(MemberProgress(member, row["total"], row["submitted"], row["recused"], late and remaining > 0))
    return progress


def member_letters(panel: Panel) -> dict[int, str]:
    """Anonymous names for the members, in the order they joined: 委員A, 委員B, ..."""
    letters = string.ascii_uppercase
    names = {}
    for index, member_id in enumerate(panel.members.order_by("pk").values_list("pk", flat=True)):
        suffix = letters[index % 26] * (index // 26 + 1)
        names[member_id] = f"委員{suffix}"
    return names


@dataclass
class Evaluation:
    items: dict[int, scoring.ItemScore]
    outcome: scoring.Outcome
    titles: dict[int, str]


def panel_evaluation(panel: Panel) -> Evaluation:
    """Aggregate the submitted sheets, rank, and grade: five queries whatever the number of items."""
    criteria = list(panel.rubric.criteria.order_by("order").values_list("code", flat=True))
    rows = ScoreSheet.objects.filter(panel=panel, status=ScoreSheet.Status.SUBMITTED).values_list(
        "item_id", "member_id", "total", "scores", "member__kind"
    )
    sheets = [
        scoring.SheetScore(item_id, member_id, total, scores, kind == PanelMember.Kind.EXTERNAL)
        for item_id, member_id, total, scores, kind in rows.iterator(chunk_size=10000)
    ]
    titles = dict(ReviewItem.objects.filter(panel=panel).values_list("pk", "title"))
    items = scoring.aggregate(
        sheets,
        method=panel.aggregation,
        criterion_codes=criteria,
        deviation_points=panel.deviation_points,
        item_ids=titles,
    )
    bands = [scoring.Band(b.grade, b.quota_count, b.quota_percent, b.min_score) for b in panel.bands.order_by("order")]
    chair_orders = list(TieResolution.objects.filter(panel=panel).order_by("pk").values_list("item_ids", flat=True))
    return Evaluation(items, scoring.rank_and_grade(items, bands, chair_orders=chair_orders), titles)


def panel_outcome(panel: Panel) -> scoring.Outcome:
    return panel_evaluation(panel).outcome
