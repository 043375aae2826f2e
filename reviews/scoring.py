"""Aggregation, ranking and quota grading: pure functions over the scores, no database.

The service feeds them one query's worth of submitted sheets; everything here is linear in the number of
sheets (sorting the items aside), so a round of 10,000 items x 7 reviewers grades in well under a second.

Methods (the round chooses one):
- `mean`: the mean of the sheets' weighted totals.
- `trimmed_mean`: with 5 or more sheets, drop one highest and one lowest total, then the mean.
- `zscore`: each reviewer's totals are standardised across the round, z = (total - reviewer mean) /
  reviewer standard deviation (population; 0 when a reviewer gave everyone the same total); an item's
  z is the mean of its sheets' z; it is mapped back onto the round's own scale,
  score = M + S x z, where M and S are the mean and population standard deviation of all the round's
  totals, and clipped to 0..100. Strict and lenient reviewers then weigh alike, and a minimum score such
  as "no 優等 below 85" keeps its meaning.
All scores are rounded half-up to two decimals.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

TWO_PLACES = Decimal("0.01")


def q2(value: Decimal | float) -> Decimal:
    return Decimal(str(value)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class CriterionSpec:
    code: str
    weight: Decimal  # percent; the rubric's weights sum to 100
    max_score: Decimal


def weighted_total(scores: dict[str, Decimal], criteria: Sequence[CriterionSpec]) -> Decimal:
    """Sum of score / max x weight over the criteria: a total on a 0-100 scale."""
    total = sum((Decimal(scores[c.code]) / c.max_score * c.weight for c in criteria), Decimal(0))
    return q2(total)


@dataclass(frozen=True)
class SheetScore:
    item_id: int
    member_id: int
    total: Decimal
    scores: dict[str, Decimal]
    external: bool


@dataclass
class ItemScore:
    item_id: int
    score: Decimal | None
    sheet_count: int
    criterion_means: tuple[Decimal, ...]
    external_mean: Decimal | None
    median: Decimal | None
    totals_by_member: dict[int, Decimal]
    deviating_members: list[int]


def _median(values: list[Decimal]) -> Decimal:
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _pop_stats(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def aggregate(
    sheets: Iterable[SheetScore],
    *,
    method: str,
    criterion_codes: Sequence[str],
    deviation_points: Decimal,
    item_ids: Iterable[int] = (),
    criterion_means: dict[int, tuple[Decimal, ...]] | None = None,
) -> dict[int, ItemScore]:
    """Panel score per item from its submitted sheets, with the tie-break means and deviation flags.

    `criterion_means` (per item, in rubric order) may come precomputed from SQL; otherwise they are taken
    from the sheets' `scores`.
    """
    by_item: dict[int, list[SheetScore]] = defaultdict(list)
    for sheet in sheets:
        by_item[sheet.item_id].append(sheet)

    z_by_sheet: dict[tuple[int, int], float] = {}
    round_mean = round_sd = 0.0
    if method == "zscore" and by_item:
        by_member: dict[int, list[SheetScore]] = defaultdict(list)
        for item_sheets in by_item.values():
            for sheet in item_sheets:
                by_member[sheet.member_id].append(sheet)
        for member_sheets in by_member.values():
            mean, sd = _pop_stats([float(s.total) for s in member_sheets])
            for s in member_sheets:
                z_by_sheet[(s.item_id, s.member_id)] = (float(s.total) - mean) / sd if sd else 0.0
        round_mean, round_sd = _pop_stats([float(s.total) for sheets_ in by_item.values() for s in sheets_])

    results: dict[int, ItemScore] = {}
    for item_id in set(item_ids) | set(by_item):
        item_sheets = by_item.get(item_id, [])
        if not item_sheets:
            results[item_id] = ItemScore(item_id, None, 0, (), None, None, {}, [])
            continue
        totals = [s.total for s in item_sheets]
        n = len(totals)
        if method == "trimmed_mean" and n >= 5:
            score = q2((sum(totals) - max(totals) - min(totals)) / (n - 2))
        elif method == "zscore":
            z = sum(z_by_sheet[(s.item_id, s.member_id)] for s in item_sheets) / n
            score = q2(min(100.0, max(0.0, round_mean + round_sd * z)))
        else:
            score = q2(sum(totals) / n)
        externals = [s.total for s in item_sheets if s.external]
        median = _median(totals)
        results[item_id] = ItemScore(
            item_id=item_id,
            score=score,
            sheet_count=n,
            criterion_means=(
                criterion_means.get(item_id, ())
                if criterion_means is not None
                else tuple(
                    sum((Decimal(s.scores.get(code, 0)) for s in item_sheets), Decimal(0)) / n
                    for code in criterion_codes
                )
            ),
            external_mean=(sum(externals) / len(externals)) if externals else None,
            median=q2(median),
            totals_by_member={s.member_id: s.total for s in item_sheets},
            deviating_members=sorted(s.member_id for s in item_sheets if abs(s.total - median) >= deviation_points),
        )
    return results


@dataclass(frozen=True)
class Band:
    grade: str
    quota_count: int | None = None
    quota_percent: Decimal | None = None
    min_score: Decimal | None = None


@dataclass
class Ranked:
    item_id: int
    score: Decimal | None
    rank: int | None
    grade: str = ""


@dataclass
class BoundaryTie:
    """Items tied on every tie-break that a quota boundary splits: the chair must order them."""

    grade: str
    seats: int
    item_ids: list[int]


@dataclass
class Outcome:
    ranked: list[Ranked]
    ties: list[BoundaryTie] = field(default_factory=list)

    @property
    def grades(self) -> dict[int, str]:
        return {r.item_id: r.grade for r in self.ranked}


def _key(item: ItemScore) -> tuple:
    """Higher is better on every component: score, then each criterion's mean in rubric order, then externals."""
    return (item.score, *item.criterion_means, item.external_mean if item.external_mean is not None else Decimal(-1))


def rank_and_grade(
    items: dict[int, ItemScore], bands: Sequence[Band], *, chair_orders: Sequence[Sequence[int]] = ()
) -> Outcome:
    """Rank by the deterministic tie-break chain, then fill the bands best first within quota and minimum.

    Items still equal on the whole chain share a rank, unless the chair has ordered them. A group of such
    items that a quota boundary would split is reported as a BoundaryTie (provisionally split by item id).
    """
    # A chair's order applies to exactly the group it was given for: items that tie again later (after a
    # reopen, say) with other items form a new group and are reported again.
    chair_order = {frozenset(order): list(order) for order in chair_orders}
    scored = [i for i in items.values() if i.score is not None]
    unscored = sorted((i for i in items.values() if i.score is None), key=lambda i: i.item_id)
    scored.sort(key=lambda i: (_key(i), -i.item_id), reverse=True)
    groups: list[list[ItemScore]] = []
    for item in scored:
        if groups and _key(groups[-1][0]) == _key(item):
            groups[-1].append(item)
        else:
            groups.append([item])
    resolved: list[list[ItemScore]] = []
    for group in groups:
        order = chair_order.get(frozenset(i.item_id for i in group)) if len(group) > 1 else None
        if order:
            by_id = {i.item_id: i for i in group}
            resolved += [[by_id[item_id]] for item_id in order]
        else:
            resolved.append(group)
    groups = resolved

    n = len(scored)
    seats = [
        band.quota_count
        if band.quota_count is not None
        else (int(band.quota_percent * n / 100) if band.quota_percent is not None else n)
        for band in bands
    ]
    outcome = Outcome(ranked=[])
    band_index = 0
    position = 0
    for group in groups:
        rank = position + 1
        pending = list(group)
        while pending:
            # Move past bands that are full or whose minimum this (equal-scored) group does not reach.
            while band_index < len(bands) and (
                seats[band_index] <= 0
                or (bands[band_index].min_score is not None and pending[0].score < bands[band_index].min_score)
            ):
                band_index += 1
            if band_index >= len(bands):
                outcome.ranked += [Ranked(i.item_id, i.score, rank, "") for i in pending]
                break
            band = bands[band_index]
            if len(pending) > seats[band_index] and len(pending) == len(group):
                outcome.ties.append(BoundaryTie(band.grade, seats[band_index], sorted(i.item_id for i in group)))
            take = pending[: seats[band_index]]
            pending = pending[len(take) :]
            seats[band_index] -= len(take)
            outcome.ranked += [Ranked(i.item_id, i.score, rank, band.grade) for i in take]
        position += len(group)
    outcome.ranked += [Ranked(i.item_id, None, None, "") for i in unscored]
    return outcome
