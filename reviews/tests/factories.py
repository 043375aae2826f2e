"""Builders for the review engine: rubrics, panels, members, items and sheets, through the services.

`staffed_panel()` gives a forming panel with its members and items in one call; `submit_all()` scores it
through `services.sheet_submit`; `bulk_submitted_sheets()` writes submitted sheets directly when a test only
needs many scores (query-count tests), skipping the services on purpose.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import factory

from accounts.models import Agency
from accounts.roles import Role
from accounts.tests.factories import AgencyFactory, UserFactory
from reviews import scoring, services
from reviews.models import Panel, PanelMember, ReviewItem, Rubric, ScoreSheet

# A small rubric whose totals are easy to compute by hand: score / max x weight.
#   total = innovation x 4 + feasibility x 3.5 + benefit x 1.25
CRITERIA = [
    {"code": "innovation", "name": "創新性", "weight": 40, "max_score": 10, "guidance": "前所未有的作法"},
    {"code": "feasibility", "name": "可行性", "weight": 35, "max_score": 10, "guidance": "人力、經費與時程"},
    {"code": "benefit", "name": "效益", "weight": 25, "max_score": 20, "guidance": "對市民的實質效益"},
]
CODES = [c["code"] for c in CRITERIA]


def rubric_create(criteria: list[dict] | None = None, *, name: str = "市政創新提案評分表") -> Rubric:
    return services.rubric_create(actor=None, name=name, criteria=criteria if criteria is not None else CRITERIA)


def panel_create(
    *,
    round_obj=None,
    rubric: Rubric | None = None,
    actor=None,
    bands: list[dict] | None = None,
    title: str = "107年度市政創新提案評審會",
    **kwargs,
) -> Panel:
    """A forming panel; the round is any saved row (a fresh Agency by default)."""
    return services.panel_create(
        actor=actor,
        round_obj=round_obj if round_obj is not None else AgencyFactory(),
        title=title,
        rubric_id=(rubric if rubric is not None else rubric_create()).pk,
        bands=bands,
        **kwargs,
    )


def reviewer(**kwargs):
    return UserFactory(roles=[Role.REVIEWER], **kwargs)


def member_add(
    panel: Panel, *, user=None, kind: str = PanelMember.Kind.EXTERNAL, is_chair: bool = False, reserve: bool = False
) -> PanelMember:
    return services.panel_member_add(
        panel_id=panel.pk, actor=None, user_id=(user or reviewer()).pk, kind=kind, is_chair=is_chair, reserve=reserve
    )


def items_sync(panel: Panel, subjects: Sequence[Agency] | int = 3) -> list[ReviewItem]:
    """Items whose subjects (and agencies) are Agency rows: `subjects` rows, or that many fresh ones."""
    if isinstance(subjects, int):
        subjects = [AgencyFactory() for _ in range(subjects)]
    services.review_items_sync(panel_id=panel.pk, actor=None, subjects=[(a, f"{a.name}的提案", a.pk) for a in subjects])
    return list(panel.items.order_by("pk"))


@dataclass
class StaffedPanel:
    panel: Panel
    members: list[PanelMember]  # in joining order: 委員A, 委員B, ...
    items: list[ReviewItem] = field(default_factory=list)

    @property
    def chair(self) -> PanelMember:
        return next(m for m in self.members if m.is_chair)

    def sheet(self, item: ReviewItem, member: PanelMember) -> ScoreSheet:
        return ScoreSheet.objects.get(item=item, member=member)

    def refresh(self) -> Panel:
        self.panel = Panel.objects.get(pk=self.panel.pk)
        return self.panel


def staffed_panel(
    *, external: int = 5, internal: int = 2, items: int | Sequence[Agency] = 3, actor=None, **panel_kwargs
) -> StaffedPanel:
    """A forming panel with `external` + `internal` members (the first internal one chairs) and items.

    Panel composition defaults to the members given (min_members = all, min_external = external).
    """
    panel_kwargs.setdefault("min_members", external + internal)
    panel_kwargs.setdefault("min_external", external)
    panel = panel_create(actor=actor, **panel_kwargs)
    members = [member_add(panel, kind=PanelMember.Kind.EXTERNAL) for _ in range(external)]
    members += [member_add(panel, kind=PanelMember.Kind.INTERNAL, is_chair=(index == 0)) for index in range(internal)]
    if not internal and members:  # no internal members: an external one chairs
        PanelMember.objects.filter(pk=members[0].pk).update(is_chair=True)
        members[0].is_chair = True
    return StaffedPanel(panel, members, items_sync(panel, items))


def submit_all(staffed: StaffedPanel, scores: Callable[[ReviewItem, PanelMember], dict | None]) -> None:
    """Submit every open sheet through the service; `scores(item, member)` returning None leaves it open."""
    for sheet in ScoreSheet.objects.filter(panel=staffed.panel).select_related("item", "member__user"):
        if sheet.status in (ScoreSheet.Status.NOT_STARTED, ScoreSheet.Status.DRAFT):
            values = scores(sheet.item, sheet.member)
            if values is not None:
                services.sheet_submit(sheet_id=sheet.pk, actor=sheet.member.user, scores=values)


def bulk_submitted_sheets(
    panel: Panel, scores: Callable[[ReviewItem, PanelMember], dict], *, criteria: list[dict] | None = None
) -> int:
    """Write a submitted sheet per (item, non-reserve member) directly, skipping the services (and their logs)."""
    specs = [
        scoring.CriterionSpec(c["code"], Decimal(str(c["weight"])), Decimal(str(c["max_score"])))
        for c in (criteria or CRITERIA)
    ]
    members = list(panel.members.filter(reserve=False))
    sheets = []
    for item in panel.items.all():
        for member in members:
            values = {k: Decimal(str(v)) for k, v in scores(item, member).items()}
            sheets.append(
                ScoreSheet(
                    panel=panel,
                    item=item,
                    member=member,
                    status=ScoreSheet.Status.SUBMITTED,
                    scores={k: str(v) for k, v in values.items()},
                    total=scoring.weighted_total(values, specs),
                )
            )
    ScoreSheet.objects.bulk_create(sheets, batch_size=5000)
    return len(sheets)


class PanelMemberFactory(factory.django.DjangoModelFactory):
    """A member added directly (no composition or state checks); prefer `member_add` in service tests."""

    class Meta:
        model = PanelMember

    panel = factory.LazyFunction(panel_create)
    user = factory.LazyFunction(reviewer)
    kind = PanelMember.Kind.EXTERNAL
