"""Reads of the review engine: the reviewer's sheets, progress, the evaluation (aggregate, rank, grade), and the
adoption questions an agency must answer."""

from __future__ import annotations

import string
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Avg, Count, DecimalField, Prefetch, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from accounts.roles import is_rdec_staff
from accounts.selectors import agency_ids_acting, is_agency_staff
from workflow_site.errors import NotFound

from . import scoring
from .models import Adoption, Panel, PanelMember, ReviewItem, ScoreSheet, TieResolution


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


def panels_visible_to(*, user) -> QuerySet[Panel]:
    """RDEC staff see every panel; others only the panels they sit on."""
    qs = Panel.objects.all() if is_rdec_staff(user) else Panel.objects.filter(members__user=user)
    return qs.select_related("rubric").prefetch_related("rubric__criteria", "members__user").order_by("pk")


def reviewer_panel_counts(*, user) -> dict[int, dict]:
    """Per panel the reviewer sits on: their sheets in total, submitted and recused. One query."""
    return {
        row["panel_id"]: row
        for row in ScoreSheet.objects.filter(member__user=user)
        .values("panel_id")
        .annotate(
            total=Count("pk"),
            submitted=Count("pk", filter=Q(status=ScoreSheet.Status.SUBMITTED)),
            recused=Count("pk", filter=Q(status=ScoreSheet.Status.RECUSED)),
        )
    }


def panels_for_reviewer(*, user) -> QuerySet[Panel]:
    return Panel.objects.filter(members__user=user).select_related("rubric").order_by("-created_at")


def panel_list(*, viewer) -> QuerySet[Panel]:
    """The panels RDEC staff oversee, newest first, with their member counts and the round each belongs to: two
    queries, plus one per kind of round (proposals, theses, ...) whatever the number of panels. Others: none."""
    if not is_rdec_staff(viewer):
        return Panel.objects.none()
    return (
        Panel.objects.select_related("round_type")
        .prefetch_related("round")
        .annotate(
            member_count=Count("members", filter=Q(members__reserve=False), distinct=True),
            reserve_count=Count("members", filter=Q(members__reserve=True), distinct=True),
        )
        .order_by("-created_at", "-pk")
    )


def panel_for_setup(*, viewer, panel_id: int) -> Panel:
    """A panel as its set-up page shows it: rubric, round and members with their agencies (404 for anyone but RDEC
    staff, or no such panel)."""
    qs = (
        panel_list(viewer=viewer)
        .select_related("rubric")
        .prefetch_related(
            Prefetch("members", queryset=PanelMember.objects.select_related("user__agency").order_by("pk"))
        )
    )
    try:
        return qs.get(pk=panel_id)
    except Panel.DoesNotExist as exc:
        raise NotFound() from exc


def reviewer_pool(*, panel: Panel) -> QuerySet:
    """Who may join the panel: active users with the reviewer role not on it yet, by name. One query."""
    from accounts.roles import Role

    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.REVIEWER)
        .exclude(panel_memberships__panel=panel)
        .select_related("agency")
        .order_by("display_name", "username")
    )


@dataclass
class Recusal:
    sheet: ScoreSheet
    declared_by: object | None  # the user who declared it; None when it was made automatically (own agency)
    declared_at: object | None  # when it was declared (None: recused when scoring started)


def panel_recusals(panel: Panel) -> list[Recusal]:
    """The panel's recused sheets with the reason and who declared them (the member, or the system for their own
    agency's items when scoring started). Two queries."""
    from workflow_site.models import TransitionLog

    sheets = list(
        ScoreSheet.objects.filter(panel=panel, status=ScoreSheet.Status.RECUSED)
        .select_related("item", "member__user")
        .order_by("item_id", "member_id")
    )
    declared: dict[int, TransitionLog] = {}
    if sheets:
        logs = (
            TransitionLog.objects.filter(
                content_type=ContentType.objects.get_for_model(ScoreSheet),
                object_id__in=[s.pk for s in sheets],
                transition="declare_conflict",
            )
            .select_related("actor")
            .order_by("pk")
        )
        declared = {log.object_id: log for log in logs}  # the latest declaration of each sheet wins
    return [
        Recusal(
            sheet,
            declared[sheet.pk].actor if sheet.pk in declared else None,
            declared[sheet.pk].created_at if sheet.pk in declared else None,
        )
        for sheet in sheets
    ]


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
    """Aggregate the submitted sheets, rank, and grade: six queries whatever the number of items.

    The totals come as plain columns and each criterion's mean per item is averaged in SQL, so the 70,000
    sheets of a 10,000-item round are never decoded from JSON in Python.
    """
    criteria = list(panel.rubric.criteria.order_by("order").values_list("code", flat=True))
    submitted = ScoreSheet.objects.filter(panel=panel, status=ScoreSheet.Status.SUBMITTED)
    rows = submitted.values_list("item_id", "member_id", "total", "member__kind")
    sheets = [
        scoring.SheetScore(item_id, member_id, total, {}, kind == PanelMember.Kind.EXTERNAL)
        for item_id, member_id, total, kind in rows.iterator(chunk_size=20000)
    ]
    mean_columns = {
        f"c{index}": Avg(Cast(KeyTextTransform(code, "scores"), DecimalField(max_digits=9, decimal_places=2)))
        for index, code in enumerate(criteria)
    }
    criterion_means = {
        row["item_id"]: tuple(row[f"c{index}"] for index in range(len(criteria)))
        for row in submitted.order_by().values("item_id").annotate(**mean_columns)
    }
    titles = dict(ReviewItem.objects.filter(panel=panel).values_list("pk", "title"))
    items = scoring.aggregate(
        sheets,
        method=panel.aggregation,
        criterion_codes=criteria,
        deviation_points=panel.deviation_points,
        item_ids=titles,
        criterion_means=criterion_means,
    )
    bands = [scoring.Band(b.grade, b.quota_count, b.quota_percent, b.min_score) for b in panel.bands.order_by("order")]
    chair_orders = list(TieResolution.objects.filter(panel=panel).order_by("pk").values_list("item_ids", flat=True))
    return Evaluation(items, scoring.rank_and_grade(items, bands, chair_orders=chair_orders), titles)


def panel_outcome(panel: Panel) -> scoring.Outcome:
    return panel_evaluation(panel).outcome


def delegation_refusals(substitute, principal) -> list[str]:
    """accounts.delegation_checks: a reviewer on a panel still judging the principal's agency may not act for it."""
    if not principal.agency_id:
        return []
    judging = PanelMember.objects.filter(user=substitute, panel__items__agency_id=principal.agency_id).exclude(
        panel__status=Panel.Status.FINALISED
    )
    if judging.exists():
        return [_("代理人為審查該機關之評審委員，不得擔任職務代理人。")]
    return []


def adoption_visibility(user) -> Q:
    """RDEC staff: every adoption question. Agency staff: those put to their agency (or to the agency of whom they
    stand in for). Nobody else: none."""
    if is_rdec_staff(user):
        return Q()
    if is_agency_staff(user):
        return Q(agency_id__in=agency_ids_acting(user))
    return Q(pk__in=[])


def adoption_list(*, viewer, subject_model: type[models.Model] | None = None) -> QuerySet[Adoption]:
    """The adoption questions `viewer` may see, soonest due first; `subject_model` keeps one process's (a page
    of proposals' adoptions shows no thesis)."""
    qs = Adoption.objects.filter(adoption_visibility(viewer))
    if subject_model is not None:
        qs = qs.filter(subject_type=ContentType.objects.get_for_model(subject_model))
    return qs.select_related("agency").order_by("due_date", "pk")


def adoption_for_update(*, adoption_id: int, viewer, subject_model: type[models.Model] | None = None) -> Adoption:
    """The question, locked: two answers arriving together are applied one after the other (404 if not visible)."""
    qs = Adoption.objects.select_for_update(of=("self",))
    if viewer is not None:
        qs = qs.filter(adoption_visibility(viewer))
    if subject_model is not None:
        qs = qs.filter(subject_type=ContentType.objects.get_for_model(subject_model))
    try:
        return qs.get(pk=adoption_id)
    except Adoption.DoesNotExist as exc:
        raise NotFound() from exc
