"""Finalising a round of 10,000 proposals, against the review engine's own evaluation in the same run.

Target (issue "Innovation proposals"): `round_finalise` stays under the panel evaluation (aggregate + rank
+ grade, measured here too) plus 1 s. Builds the round directly with bulk_create: 10,000 proposals in
review, 7 members, 70,000 submitted sheets; the panel closed and the round in grading.
Run: `.venv/bin/python bench/proposal_finalise.py [N]`.
"""

import datetime
import random
import sys
import time
from decimal import Decimal

from _setup import raw_delete, setup_django

setup_django()

from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db import transaction  # noqa: E402

from accounts.models import Agency, User  # noqa: E402
from accounts.roles import Role  # noqa: E402
from proposals import services  # noqa: E402
from proposals.models import Proposal, ProposalRound  # noqa: E402
from reviews import scoring, selectors  # noqa: E402
from reviews.models import ItemResult, Panel, PanelMember, ReviewItem, ScoreSheet, TieResolution  # noqa: E402
from workflow_site.models import TransitionLog  # noqa: E402

YEAR = 999  # a year no real round uses
RUBRIC = [
    {"code": "innovation", "name": "創新性", "weight": 30, "max_score": 30},
    {"code": "feasibility", "name": "可行性", "weight": 25, "max_score": 25},
    {"code": "benefit", "name": "效益", "weight": 20, "max_score": 20},
    {"code": "budget", "name": "經費", "weight": 15, "max_score": 15},
    {"code": "spread", "name": "擴散性", "weight": 10, "max_score": 10},
]


def cleanup() -> None:
    for round_ in ProposalRound.objects.filter(year=YEAR):
        panel_id = round_.panel_id
        ids = list(round_.proposals.values_list("pk", flat=True))
        proposal_type = ContentType.objects.get_for_model(Proposal)
        raw_delete(TransitionLog.objects.filter(content_type=proposal_type, object_id__in=ids))
        TransitionLog.objects.filter(
            content_type__in=[ContentType.objects.get_for_model(m) for m in (Panel, ProposalRound)],
            object_id__in=[panel_id, round_.pk],
        ).delete()
        for model in (ItemResult, ScoreSheet, TieResolution, ReviewItem):
            raw_delete(model.objects.filter(panel_id=panel_id))
        raw_delete(round_.proposals.all())
        PanelMember.objects.filter(panel_id=panel_id).delete()
        ProposalRound.objects.filter(pk=round_.pk).delete()
        panel = Panel.objects.get(pk=panel_id)
        panel.bands.all().delete()
        rubric = panel.rubric
        panel.delete()
        rubric.delete()


def user(username: str, roles: list[str], agency=None) -> User:
    from django.contrib.auth.models import Group

    found, created = User.objects.get_or_create(username=username, defaults={"agency": agency})
    if created:
        found.groups.set([Group.objects.get_or_create(name=r)[0] for r in roles])
    return User.objects.get(pk=found.pk)


def build(n: int):
    rng = random.Random(2018)
    agency, _ = Agency.objects.get_or_create(code="BENCH_FIN", defaults={"name": "效能測試機關", "kind": "bureau"})
    officer = user("bench.fin.officer", [Role.RDEC_OFFICER])
    clerk = user("bench.fin.clerk", [Role.AGENCY_CLERK], agency)
    reviewers = [user(f"bench.fin.reviewer{i}", [Role.REVIEWER]) for i in range(7)]
    round_ = services.round_create(
        actor=officer,
        year=YEAR,
        title="效能測試年度",
        submission_deadline=datetime.date(2026, 1, 1),
        scoring_deadline=datetime.date(2026, 2, 1),
        rubric=RUBRIC,
        grade_quotas=[
            {"grade": "excellent", "count": n * 5 // 100},
            {"grade": "a", "count": n * 25 // 100},
            {"grade": "b", "count": n * 20 // 100},
            {"grade": "merit", "count": n * 15 // 100},
        ],
    )
    panel = round_.panel
    members = PanelMember.objects.bulk_create(
        PanelMember(panel=panel, user=r, kind="external" if i < 5 else "internal", is_chair=i == 0)
        for i, r in enumerate(reviewers)
    )
    proposals = Proposal.objects.bulk_create(
        (
            Proposal(
                round=round_,
                agency=agency,
                title=f"效能測試提案 {k}",
                summary="摘要",
                created_by=clerk,
                status=Proposal.Status.IN_REVIEW,
            )
            for k in range(n)
        ),
        batch_size=5000,
    )
    subject_type = ContentType.objects.get_for_model(Proposal)
    items = ReviewItem.objects.bulk_create(
        (ReviewItem(panel=panel, subject_type=subject_type, subject_id=p.pk, title=p.title) for p in proposals),
        batch_size=5000,
    )
    specs = [scoring.CriterionSpec(c["code"], Decimal(c["weight"]), Decimal(c["max_score"])) for c in RUBRIC]
    sheets = []
    for item in items:
        quality = rng.gauss(0.74, 0.08)
        for member in members:
            values = {
                c["code"]: Decimal(
                    min(c["max_score"], max(0, round(c["max_score"] * (quality + rng.gauss(0, 0.05)), 1)))
                ).quantize(Decimal("0.1"))
                for c in RUBRIC
            }
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
    ScoreSheet.objects.bulk_create(sheets, batch_size=10000)
    Panel.objects.filter(pk=panel.pk).update(status=Panel.Status.CLOSED)
    ProposalRound.objects.filter(pk=round_.pk).update(status=ProposalRound.Status.GRADING)
    evaluation = selectors.panel_evaluation(Panel.objects.get(pk=panel.pk))
    chair = reviewers[0]
    from reviews import services as review_services

    for tie in evaluation.outcome.ties:
        review_services.tie_resolve(panel_id=panel.pk, actor=chair, item_ids=tie.item_ids, reason="bench")
    return round_, officer, len(evaluation.outcome.ties)


def main(n: int) -> None:
    cleanup()
    try:
        start = time.perf_counter()
        with transaction.atomic():
            round_, officer, ties = build(n)
        print(f"setup: {n:,} proposals in review, {n * 7:,} submitted sheets in {time.perf_counter() - start:.1f} s")
        panel = Panel.objects.get(pk=round_.panel_id)
        start = time.perf_counter()
        selectors.panel_evaluation(panel)
        evaluation_s = time.perf_counter() - start
        start = time.perf_counter()
        with transaction.atomic():
            services.round_finalise(round_id=round_.pk, actor=officer)
        finalise_s = time.perf_counter() - start
        graded = Proposal.objects.filter(round=round_, status="graded").exclude(grade="").count()
        print(f"panel evaluation (aggregate + rank + grade): {evaluation_s:.3f} s")
        print(
            f"round_finalise ({n:,} proposals graded, {graded:,} with a grade, {ties} ties resolved before): "
            f"{finalise_s:.3f} s"
        )
        print(
            f"target: finalise < evaluation + 1 s = {evaluation_s + 1:.3f} s -> "
            f"{'met' if finalise_s < evaluation_s + 1 else 'NOT met'}"
        )
    finally:
        cleanup()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
