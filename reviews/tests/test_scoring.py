"""reviews/scoring.py as pure functions, against examples computed by hand (the arithmetic is in the comments)."""

from decimal import Decimal as D

import pytest

from reviews.scoring import Band, BoundaryTie, CriterionSpec, ItemScore, SheetScore, aggregate, rank_and_grade
from reviews.scoring import weighted_total as wt

# The rubric of reviews/tests/factories.py: total = innovation/10 x 40 + feasibility/10 x 35 + benefit/20 x 25.
SPECS = [
    CriterionSpec("innovation", D(40), D(10)),
    CriterionSpec("feasibility", D(35), D(10)),
    CriterionSpec("benefit", D(25), D(20)),
]
CODES = [c.code for c in SPECS]


def scores(innovation, feasibility, benefit) -> dict[str, D]:
    return {"innovation": D(str(innovation)), "feasibility": D(str(feasibility)), "benefit": D(str(benefit))}


def sheet(item_id: int, member_id: int, total, *, external: bool = True, values: dict | None = None) -> SheetScore:
    return SheetScore(item_id, member_id, D(str(total)), values or {}, external)


def run(sheets, method="mean", deviation=15, item_ids=()):
    return aggregate(sheets, method=method, criterion_codes=CODES, deviation_points=D(deviation), item_ids=item_ids)


def item(item_id: int, score, means=(0, 0, 0), external=None) -> ItemScore:
    """An aggregated item built directly, for the ranking and grading tests."""
    score = None if score is None else D(str(score))
    return ItemScore(
        item_id=item_id,
        score=score,
        sheet_count=0 if score is None else 7,
        criterion_means=tuple(D(str(m)) for m in means) if score is not None else (),
        external_mean=None if external is None else D(str(external)),
        median=score,
        totals_by_member={},
        deviating_members=[],
    )


def items(*specs) -> dict[int, ItemScore]:
    return {i.item_id: i for i in (item(*spec) if isinstance(spec, tuple) else spec for spec in specs)}


def table(outcome) -> list[tuple]:
    return [(r.item_id, r.rank, r.grade) for r in outcome.ranked]


# --- weighted_total -----------------------------------------------------------------------------------


def test_weighted_total_on_the_rubric():
    # 8/10x40 + 9/10x35 + 16/20x25 = 32 + 31.5 + 20 = 83.50
    assert wt(scores(8, 9, 16), SPECS) == D("83.50")
    # 8.5/10x40 + 8/10x35 + 15.5/20x25 = 34 + 28 + 19.375 = 81.375 -> half up -> 81.38
    assert wt(scores("8.5", 8, "15.5"), SPECS) == D("81.38")
    # full marks: 40 + 35 + 25 = 100.00; nothing: 0.00
    assert wt(scores(10, 10, 20), SPECS) == D("100.00")
    assert wt(scores(0, 0, 0), SPECS) == D("0.00")


def test_weighted_total_with_uneven_weights_rounds_once_at_the_end():
    thirds = [
        CriterionSpec("a", D("33.33"), D(10)),
        CriterionSpec("b", D("33.33"), D(10)),
        CriterionSpec("c", D("33.34"), D(10)),
    ]
    # 7/10x33.33 + 8/10x33.33 + 9/10x33.34 = 23.331 + 26.664 + 30.006 = 80.001 -> 80.00
    assert wt({"a": D(7), "b": D(8), "c": D(9)}, thirds) == D("80.00")


# --- mean and trimmed_mean ----------------------------------------------------------------------------


def test_mean_of_the_sheet_totals():
    # (80 + 85 + 90.50) / 3 = 255.50 / 3 = 85.1666... -> 85.17
    result = run([sheet(1, 1, 80), sheet(1, 2, 85), sheet(1, 3, "90.50")])
    assert result[1].score == D("85.17")
    assert result[1].sheet_count == 3


def test_mean_rounds_half_up():
    # (80.00 + 80.01) / 2 = 80.005 -> 80.01 (half up, not to even)
    assert run([sheet(1, 1, 80), sheet(1, 2, "80.01")])[1].score == D("80.01")


def test_trimmed_mean_with_four_sheets_does_not_trim():
    # 4 < 5 sheets: plain mean (60 + 70 + 80 + 95) / 4 = 305 / 4 = 76.25
    totals = [60, 70, 80, 95]
    result = run([sheet(1, m, t) for m, t in enumerate(totals, 1)], method="trimmed_mean")
    assert result[1].score == D("76.25")


def test_trimmed_mean_with_five_sheets_drops_one_highest_and_one_lowest():
    # drop 95 and 60: (70 + 80 + 90) / 3 = 240 / 3 = 80.00 (the plain mean would be 395 / 5 = 79.00)
    totals = [60, 70, 80, 90, 95]
    result = run([sheet(1, m, t) for m, t in enumerate(totals, 1)], method="trimmed_mean")
    assert result[1].score == D("80.00")
    assert run([sheet(1, m, t) for m, t in enumerate(totals, 1)])[1].score == D("79.00")


def test_trimmed_mean_with_seven_sheets():
    # drop 90.00 and 70.00: (81.50 + 80.25 + 79.00 + 85.75 + 82.10) / 5 = 408.60 / 5 = 81.72
    totals = ["81.50", "80.25", "79.00", "85.75", "70.00", "90.00", "82.10"]
    result = run([sheet(1, m, t) for m, t in enumerate(totals, 1)], method="trimmed_mean")
    assert result[1].score == D("81.72")


def test_trimmed_mean_drops_only_one_of_equal_extremes():
    # 90, 90, 80, 70, 60: drop one 90 and the 60: (90 + 80 + 70) / 3 = 80.00
    totals = [90, 90, 80, 70, 60]
    result = run([sheet(1, m, t) for m, t in enumerate(totals, 1)], method="trimmed_mean")
    assert result[1].score == D("80.00")


# --- zscore -------------------------------------------------------------------------------------------


def test_zscore_three_reviewers_three_items():
    # Reviewer 1 (strict):  i1 60, i2 70, i3 65 -> mean 65, deviations -5, +5, 0
    #   population sd = sqrt((25 + 25 + 0) / 3) = sqrt(16.667) = 4.0825 -> z = -1.2247, +1.2247, 0
    # Reviewer 2 (lenient): i1 90, i2 85, i3 95 -> mean 90, deviations 0, -5, +5 -> z = 0, -1.2247, +1.2247
    # Reviewer 3 (flat):    80, 80, 80 -> sd 0 -> z = 0 for every item
    # Item z (mean of its sheets' z): i1 = -1.2247/3 = -0.40825 (= -1/sqrt 6), i2 = 0, i3 = +0.40825
    # Round: the nine totals sum to 705, M = 78.3333; sum of squares 56275 - 9 x 78.3333^2 (55225) = 1050,
    #   S = sqrt(1050 / 9) = sqrt(116.667) = 10.8012
    # i1 = 78.3333 - 10.8012 x 0.40825 = 78.3333 - 4.4096 = 73.9237 -> 73.92
    # i2 = 78.3333 + 0 -> 78.33
    # i3 = 78.3333 + 4.4096 = 82.7429 -> 82.74
    # (the plain means would be 76.67, 78.33, 80.00: the strict reviewer's ranking counts as much as the lenient's)
    totals = {
        (1, 1): 60,
        (2, 1): 70,
        (3, 1): 65,
        (1, 2): 90,
        (2, 2): 85,
        (3, 2): 95,
        (1, 3): 80,
        (2, 3): 80,
        (3, 3): 80,
    }
    sheets = [sheet(i, m, t) for (i, m), t in totals.items()]
    result = run(sheets, method="zscore")
    assert [result[i].score for i in (1, 2, 3)] == [D("73.92"), D("78.33"), D("82.74")]
    assert [run(sheets)[i].score for i in (1, 2, 3)] == [D("76.67"), D("78.33"), D("80.00")]


def test_zscore_is_clipped_to_100():
    # Reviewer 1: 100, 0, 0 -> mean 33.33, sd 47.14 -> z = +1.4142, -0.7071, -0.7071
    # Reviewer 2: 100, 90, 90 -> mean 93.33, sd 4.714 -> z = +1.4142, -0.7071, -0.7071
    # Round: 380 / 6 = M 63.3333; squares 1344.44 + 4011.11 + 4011.11 + 1344.44 + 711.11 + 711.11 = 12133.33,
    #   S = sqrt(12133.33 / 6) = sqrt(2022.22) = 44.969
    # i1 = 63.3333 + 44.969 x 1.4142 = 126.93 -> clipped to 100.00
    # i2 = i3 = 63.3333 - 44.969 x 0.7071 = 63.3333 - 31.7980 = 31.5353 -> 31.54
    sheets = [sheet(1, 1, 100), sheet(2, 1, 0), sheet(3, 1, 0), sheet(1, 2, 100), sheet(2, 2, 90), sheet(3, 2, 90)]
    result = run(sheets, method="zscore")
    assert [result[i].score for i in (1, 2, 3)] == [D("100.00"), D("31.54"), D("31.54")]


def test_zscore_when_everyone_gives_the_same_total():
    # every sd is 0: every z is 0, so every item gets the round mean 75.00
    result = run([sheet(i, m, 75) for i in (1, 2) for m in (1, 2)], method="zscore")
    assert result[1].score == result[2].score == D("75.00")


# --- deviation flags ----------------------------------------------------------------------------------


def test_deviation_flag_at_exactly_n_points_from_the_median():
    # totals 65, 80, 85: median 80; |65 - 80| = 15 >= 15 -> reviewer 1 flagged; |85 - 80| = 5 not
    result = run([sheet(1, 1, 65), sheet(1, 2, 80), sheet(1, 3, 85)])
    assert result[1].median == D("80.00")
    assert result[1].deviating_members == [1]


def test_no_deviation_flag_just_under_n_points():
    # totals 65.01, 80, 85: |65.01 - 80| = 14.99 < 15 -> nobody flagged
    assert run([sheet(1, 1, "65.01"), sheet(1, 2, 80), sheet(1, 3, 85)])[1].deviating_members == []


def test_deviation_against_the_median_of_an_even_count_and_a_custom_threshold():
    # totals 60, 80, 82, 90: median (80 + 82) / 2 = 81; |60 - 81| = 21 >= 15 flagged; |90 - 81| = 9 not
    result = run([sheet(1, 1, 60), sheet(1, 2, 80), sheet(1, 3, 82), sheet(1, 4, 90)])
    assert (result[1].median, result[1].deviating_members) == (D("81.00"), [1])
    # with N = 9 the 90 (exactly 9 away) is flagged too
    assert run([sheet(1, 1, 60), sheet(1, 2, 80), sheet(1, 3, 82), sheet(1, 4, 90)], deviation=9)[
        1
    ].deviating_members == [1, 4]


# --- ranking: the tie-break chain ---------------------------------------------------------------------


def test_equal_scores_are_broken_by_criterion_one_then_two_then_the_external_mean():
    outcome = rank_and_grade(
        items(
            (1, "83.50", (8, 9, 16), 83),  # loses to 2 on criterion 1 (8 < 9)
            (2, "83.50", (9, 8, 16), 80),
            (3, "83.50", (8, 10, 13), 80),  # ties 1 on criterion 1, wins on criterion 2 (10 > 9)
            (4, "83.50", (8, 9, 16), 84),  # ties 1 on both criteria... and criterion 3; wins on externals (84 > 83)
            (5, "90.00", (1, 1, 1), 0),  # a higher score beats every tie-break
        ),
        [],
    )
    assert [(r.item_id, r.rank) for r in outcome.ranked] == [(5, 1), (2, 2), (3, 3), (4, 4), (1, 5)]


def test_the_chain_from_the_sheets_down_to_the_external_mean():
    # Item 1: external reviewer (10, 9, 16) = 40 + 31.5 + 20 = 91.50, internal (8, 9, 16) = 83.50
    # Item 2: external reviewer (8, 9, 16) = 83.50, internal (10, 9, 16) = 91.50
    # Both: mean (91.50 + 83.50) / 2 = 87.50, criterion means (9, 9, 16): tied until the external mean,
    #   91.50 for item 1 against 83.50 for item 2 -> item 1 first.
    high, low = scores(10, 9, 16), scores(8, 9, 16)
    sheets = [
        SheetScore(2, 1, wt(low, SPECS), low, True),
        SheetScore(2, 2, wt(high, SPECS), high, False),
        SheetScore(1, 1, wt(high, SPECS), high, True),
        SheetScore(1, 2, wt(low, SPECS), low, False),
    ]
    aggregated = run(sheets)
    assert aggregated[1].score == aggregated[2].score == D("87.50")
    assert aggregated[1].criterion_means == aggregated[2].criterion_means == (D(9), D(9), D(16))
    assert (aggregated[1].external_mean, aggregated[2].external_mean) == (D("91.50"), D("83.50"))
    # Swap who is external: now item 2 wins on the external mean.
    swapped = [SheetScore(s.item_id, s.member_id, s.total, s.scores, not s.external) for s in sheets]
    assert [r.item_id for r in rank_and_grade(run(sheets), []).ranked] == [1, 2]
    assert [r.item_id for r in rank_and_grade(run(swapped), []).ranked] == [2, 1]


def test_items_equal_on_the_whole_chain_share_a_rank_listed_by_id():
    outcome = rank_and_grade(items((7, 80, (8, 8, 8), 80), (3, 80, (8, 8, 8), 80), (5, 90)), [])
    assert [(r.item_id, r.rank) for r in outcome.ranked] == [(5, 1), (3, 2), (7, 2)]
    assert outcome.ties == []  # no bands, no boundary


def test_items_without_sheets_are_ranked_last_with_no_grade():
    aggregated = run([sheet(1, 1, 70), sheet(2, 1, 60)], item_ids=[1, 2, 9, 4])
    assert aggregated[9].score is None and aggregated[9].sheet_count == 0
    outcome = rank_and_grade(aggregated, [Band("甲等")])  # a band without a quota: room for everyone scored
    assert table(outcome) == [(1, 1, "甲等"), (2, 2, "甲等"), (4, None, ""), (9, None, "")]


# --- grading: quotas ----------------------------------------------------------------------------------


def test_quota_by_count():
    outcome = rank_and_grade(
        items((1, 95), (2, 90), (3, 85), (4, 80), (5, 75)),
        [Band("優等", quota_count=1), Band("甲等", quota_count=2), Band("乙等")],
    )
    assert table(outcome) == [(1, 1, "優等"), (2, 2, "甲等"), (3, 3, "甲等"), (4, 4, "乙等"), (5, 5, "乙等")]


def test_quota_by_percent_of_the_scored_items_floored():
    # 10 scored items (3 more have no sheets and do not count):
    #   優等 15% of 10 = 1.5 -> 1; 甲等 25% of 10 = 2.5 -> 2; 乙等 50% of 10 = 5; the last 2 get no grade.
    #   (Counting all 13 would give 甲等 25% of 13 = 3.25 -> 3.)
    scored = [(i, 100 - i) for i in range(1, 11)]
    unscored = [(i, None) for i in range(11, 14)]
    bands = [Band("優等", quota_percent=D(15)), Band("甲等", quota_percent=D(25)), Band("乙等", quota_percent=D(50))]
    outcome = rank_and_grade(items(*scored, *unscored), bands)
    grades = [r.grade for r in outcome.ranked]
    assert grades == ["優等"] + ["甲等"] * 2 + ["乙等"] * 5 + [""] * 2 + [""] * 3
    assert [r.rank for r in outcome.ranked][-3:] == [None, None, None]


def test_kaohsiung_2018_counts():
    # 45 graded proposals: 優等 4, 甲等 17, 乙等 13, 佳作 11
    bands = [Band("優等", 4), Band("甲等", 17), Band("乙等", 13), Band("佳作", 11)]
    outcome = rank_and_grade(items(*[(i, D(50) + D(i) / 2) for i in range(1, 46)]), bands)
    counts = {g: list(outcome.grades.values()).count(g) for g in ("優等", "甲等", "乙等", "佳作")}
    assert counts == {"優等": 4, "甲等": 17, "乙等": 13, "佳作": 11}
    assert outcome.grades[45] == "優等" and outcome.grades[1] == "佳作"


# --- grading: minimum scores --------------------------------------------------------------------------


def test_an_item_below_the_minimum_falls_to_the_next_band_and_so_do_the_items_after_it():
    # 優等 has 3 seats but a minimum of 85: 92 and 86 take two; 84.99 falls to 甲等 with a seat left over,
    # and 84 and 80 (after it) go to 甲等 too; 甲等's 3 seats are full, so 79 gets 乙等.
    bands = [Band("優等", quota_count=3, min_score=D(85)), Band("甲等", quota_count=3), Band("乙等")]
    outcome = rank_and_grade(items((1, 92), (2, 86), (3, "84.99"), (4, 84), (5, 80), (6, 79)), bands)
    assert [r.grade for r in outcome.ranked] == ["優等", "優等", "甲等", "甲等", "甲等", "乙等"]


def test_the_minimum_is_inclusive_and_falls_through_more_than_one_band():
    # 85.00 reaches 優等's minimum; 79.99 misses both 優等 (85) and 甲等 (80) and lands in 乙等.
    bands = [Band("優等", 2, min_score=D(85)), Band("甲等", 2, min_score=D(80)), Band("乙等")]
    outcome = rank_and_grade(items((1, 85), (2, "79.99")), bands)
    assert outcome.grades == {1: "優等", 2: "乙等"}


# --- grading: ties and quota boundaries ---------------------------------------------------------------


def test_a_tie_across_a_quota_boundary_is_reported_and_split_by_item_id():
    # 優等 2 seats: 90 takes one; items 13 and 12 tie (everything equal) for the last seat.
    outcome = rank_and_grade(items((11, 90), (13, 85), (12, 85), (14, 80)), [Band("優等", 2), Band("甲等")])
    assert outcome.ties == [BoundaryTie("優等", 1, [12, 13])]
    # provisionally: the lower id takes the seat; both keep the shared rank
    assert table(outcome) == [(11, 1, "優等"), (12, 2, "優等"), (13, 2, "甲等"), (14, 4, "甲等")]


def test_a_tie_inside_a_band_is_not_reported():
    outcome = rank_and_grade(items((1, 90), (2, 85), (3, 85), (4, 80)), [Band("優等", 3), Band("甲等")])
    assert outcome.ties == []
    assert table(outcome) == [(1, 1, "優等"), (2, 2, "優等"), (3, 2, "優等"), (4, 4, "甲等")]


def test_a_tie_that_exactly_fills_the_band_is_not_reported():
    outcome = rank_and_grade(items((1, 90), (2, 85), (3, 85)), [Band("優等", 3), Band("甲等")])
    assert outcome.ties == []


def test_a_tie_starting_just_after_a_full_band_is_not_reported():
    outcome = rank_and_grade(items((1, 90), (2, 88), (3, 85), (4, 85)), [Band("優等", 2), Band("甲等")])
    assert outcome.ties == []
    assert table(outcome) == [(1, 1, "優等"), (2, 2, "優等"), (3, 3, "甲等"), (4, 3, "甲等")]


def test_a_tie_at_the_end_of_the_last_band_is_reported():
    # 佳作 is the last band with 1 seat: one of the two 70s is left without a grade
    outcome = rank_and_grade(items((1, 80), (2, 70), (3, 70)), [Band("甲等", 1), Band("佳作", 1)])
    assert outcome.ties == [BoundaryTie("佳作", 1, [2, 3])]
    assert table(outcome) == [(1, 1, "甲等"), (2, 2, "佳作"), (3, 2, "")]


def test_a_tie_across_a_percent_boundary():
    # 10 items, 優等 10% = 1 seat: items 1 and 2 tie at the top
    scored = [(1, 95), (2, 95)] + [(i, 90 - i) for i in range(3, 11)]
    outcome = rank_and_grade(items(*scored), [Band("優等", quota_percent=D(10)), Band("甲等")])
    assert outcome.ties == [BoundaryTie("優等", 1, [1, 2])]


def test_a_tie_spanning_two_boundaries_is_reported_once_for_the_whole_group():
    # four equal items against 優等 1 seat and 甲等 2 seats: one entry, the chair orders all four
    outcome = rank_and_grade(
        items((1, 80), (2, 80), (3, 80), (4, 80)), [Band("優等", 1), Band("甲等", 2), Band("乙等")]
    )
    assert outcome.ties == [BoundaryTie("優等", 1, [1, 2, 3, 4])]
    assert [r.grade for r in outcome.ranked] == ["優等", "甲等", "甲等", "乙等"]


def test_the_chair_order_resolves_a_boundary_tie():
    outcome = rank_and_grade(
        items((11, 90), (13, 85), (12, 85), (14, 80)), [Band("優等", 2), Band("甲等")], chair_orders=[[13, 12]]
    )
    assert outcome.ties == []
    assert table(outcome) == [(11, 1, "優等"), (13, 2, "優等"), (12, 3, "甲等"), (14, 4, "甲等")]


def test_a_chair_order_decides_only_between_the_items_it_names():
    # The chair once ordered [21, 22] (tied then). Later scores changed (a reopened sheet): 21 fell to 70
    # and 22 ties with 23 at 85 for 優等's last seat. The old order never compared 22 with 23, so the
    # tie must be reported again; it must not silently put 23 ahead because 22 sat second in an old list.
    outcome = rank_and_grade(
        items((20, 95), (21, 70), (22, 85), (23, 85)), [Band("優等", 2), Band("甲等")], chair_orders=[[21, 22]]
    )
    assert outcome.ties == [BoundaryTie("優等", 1, [22, 23])]
    assert [(r.item_id, r.rank) for r in outcome.ranked][:3] == [(20, 1), (22, 2), (23, 2)]


@pytest.mark.parametrize("method", ["mean", "trimmed_mean", "zscore"])
def test_every_method_returns_two_decimal_scores_within_0_100(method):
    sheets = [sheet(i, m, D(50) + D(i * 7 + m * 3) / 3) for i in range(1, 6) for m in range(1, 8)]
    for result in run(sheets, method=method).values():
        assert D(0) <= result.score <= D(100)
        assert result.score == result.score.quantize(D("0.01"))
