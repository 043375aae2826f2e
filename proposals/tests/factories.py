"""Builders for proposal tests: a round in any stage, through the services."""

import datetime
from decimal import Decimal

from accounts.roles import Role
from accounts.tests.factories import AgencyFactory, UserFactory
from proposals import services
from proposals.models import Proposal, ProposalRound
from reviews import services as review_services
from reviews.models import ScoreSheet

RUBRIC = [
    {"code": "innovation", "name": "創新性", "weight": 60, "max_score": 10},
    {"code": "benefit", "name": "效益", "weight": 40, "max_score": 10},
]


def make_round(officer, *, year: int = 115, members: int = 3, **kwargs) -> ProposalRound:
    round_ = services.round_create(
        actor=officer,
        year=year,
        title=f"{year}年度市政創新提案",
        submission_deadline=kwargs.pop("submission_deadline", datetime.date(2026, 12, 31)),
        scoring_deadline=kwargs.pop("scoring_deadline", datetime.date(2027, 1, 31)),
        rubric=RUBRIC,
        min_members=members,
        min_external=0,
        grade_quotas=kwargs.pop(
            "grade_quotas",
            [{"grade": "excellent", "count": 1}, {"grade": "a", "count": 1}, {"grade": "b", "count": 1}],
        ),
        **kwargs,
    )
    for n in range(members):
        reviewer = UserFactory(roles=[Role.REVIEWER], agency=None, username=f"reviewer{year}_{n}")
        services.round_panel_member_add(
            round_id=round_.pk, actor=officer, user_id=reviewer.pk, kind="external", chair=n == 0
        )
    return round_


def sent_proposal(round_, clerk, head, title: str = "智慧路燈") -> Proposal:
    proposal = services.proposal_create(actor=clerk, round_id=round_.pk, title=title, summary="以感測器調整亮度")
    services.proposal_submit(proposal_id=proposal.pk, actor=clerk)
    services.proposal_approve(proposal_id=proposal.pk, actor=head)
    return proposal


def agency_people(code: str):
    agency = AgencyFactory(code=code, name=f"{code}局")
    clerk = UserFactory(roles=[Role.AGENCY_CLERK], agency=agency)
    head = UserFactory(roles=[Role.AGENCY_HEAD], agency=agency)
    return agency, clerk, head


def score_everything(round_, points: dict[int, int]) -> None:
    """Submit every open sheet with the same score on each criterion: `points[proposal_id]`."""
    subject = dict(round_.panel.items.values_list("pk", "subject_id"))
    for sheet in ScoreSheet.objects.filter(panel=round_.panel).exclude(status="recused").select_related("member__user"):
        value = points[subject[sheet.item_id]]
        review_services.sheet_submit(
            sheet_id=sheet.pk, actor=sheet.member.user, scores={"innovation": value, "benefit": value}
        )


def graded_round(officer, proposals_points: list[tuple[Proposal, int]], round_) -> ProposalRound:
    services.round_close_submissions(round_id=round_.pk, actor=officer)
    for proposal, _points in proposals_points:
        services.proposal_screen(proposal_id=proposal.pk, actor=officer, passed=True)
    services.round_start_scoring(round_id=round_.pk, actor=officer)
    score_everything(round_, {p.pk: pts for p, pts in proposals_points})
    services.round_finalise(round_id=round_.pk, actor=officer)
    return ProposalRound.objects.get(pk=round_.pk)


__all__ = ["Decimal", "agency_people", "graded_round", "make_round", "score_everything", "sent_proposal"]
