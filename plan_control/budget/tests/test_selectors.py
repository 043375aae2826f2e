"""Reads of the pre-budget review: who sees which requests, meetings and visits; the balancing totals and their
constant number of queries."""

from __future__ import annotations

import datetime

import pytest

from accounts.roles import Role
from accounts.tests.factories import AgencyFactory
from plan_control.budget import selectors, services
from plan_control.budget.tests.factories import MEETING_DAY, WAN, YI, draft, make_cycle, sent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen(frozen_clock):
    pass


@pytest.fixture
def world(world, make_user):
    world.other_reviewer = make_user(Role.REVIEWER, agency=None, username="other_reviewer")
    return world


def ids(queryset) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


def test_each_viewer_sees_what_is_theirs(world):
    w = world
    cycle = make_cycle(w.officer)
    mine = draft(w.clerk, cycle, title="本局草稿")
    road = sent(w.clerk, w.head, cycle, title="道路")
    port = sent(w.tb_clerk, w.tb_head, cycle, title="港區")
    services.cycle_start_review(actor=w.officer, cycle_id=cycle.pk)  # the draft lapses; RDEC never saw it
    meeting = services.meeting_create(
        actor=w.officer,
        cycle_id=cycle.pk,
        date=MEETING_DAY,
        place="會議室",
        request_ids=[road.pk],
        attendee_ids=[w.reviewer.pk],
    )
    visit = services.site_visit_create(
        actor=w.officer, cycle_id=cycle.pk, date=datetime.date(2026, 6, 1), request_ids=[port.pk]
    )

    assert ids(selectors.request_list(viewer=w.clerk)) == {mine.pk, road.pk}
    assert ids(selectors.request_list(viewer=w.head)) == {mine.pk, road.pk}
    assert ids(selectors.request_list(viewer=w.tb_clerk)) == {port.pk}
    assert ids(selectors.request_list(viewer=w.officer)) == {road.pk, port.pk}
    assert ids(selectors.request_list(viewer=w.supervisor, cycle_id=cycle.pk, agency_id=w.tb.pk)) == {port.pk}
    assert ids(selectors.request_list(viewer=w.reviewer)) == {road.pk}
    assert ids(selectors.request_list(viewer=w.other_reviewer)) == set()

    assert ids(selectors.meeting_list(viewer=w.officer)) == {meeting.pk}
    assert ids(selectors.meeting_list(viewer=w.reviewer)) == {meeting.pk}
    assert ids(selectors.meeting_list(viewer=w.clerk)) == {meeting.pk}  # PWB is concerned
    assert ids(selectors.meeting_list(viewer=w.tb_clerk)) == set()
    assert ids(selectors.meeting_list(viewer=w.other_reviewer)) == set()

    assert ids(selectors.site_visit_list(viewer=w.officer)) == {visit.pk}
    assert ids(selectors.site_visit_list(viewer=w.tb_head)) == {visit.pk}
    assert ids(selectors.site_visit_list(viewer=w.clerk)) == set()
    assert ids(selectors.site_visit_list(viewer=w.reviewer)) == set()

    ledger = selectors.ledger(request_id=road.pk, viewer=w.reviewer)
    assert [(r.field, r.to_amount) for r in ledger][:1] == [("requested_public", 60_000_000)]


def test_totals_per_source_and_agency_against_the_ceilings(world):
    w = world
    cycle = make_cycle(w.officer, public_ceiling=1 * YI, fund_ceiling=1 * YI, continuing_threshold=0)
    quiet = AgencyFactory(code="ZZZ", name="未申請局")
    services.cycle_ceiling_set(actor=w.officer, cycle_id=cycle.pk, agency_id=w.pwb.pk, public=5000 * WAN)
    services.cycle_ceiling_set(actor=w.officer, cycle_id=cycle.pk, agency_id=quiet.pk, fund=2000 * WAN)
    road = sent(w.clerk, w.head, cycle, kind="continuing", public=6000 * WAN, central=1000 * WAN)
    park = sent(w.clerk, w.head, cycle, kind="continuing", public=2000 * WAN)
    port = sent(w.tb_clerk, w.tb_head, cycle, kind="continuing", public=0, fund=3000 * WAN, other=500 * WAN)
    draft(w.tb_clerk, cycle, title="未送出")  # counted nowhere
    services.cycle_start_review(actor=w.officer, cycle_id=cycle.pk)
    recommended = {
        road.pk: {"public": 5000 * WAN, "central": 1000 * WAN},
        park.pk: {"public": 2000 * WAN},
        port.pk: {"fund": 3000 * WAN},
    }
    for request_id, amounts in recommended.items():
        services.request_recommend(actor=w.officer, request_id=request_id, amounts=amounts)
    services.cycle_start_balancing(actor=w.officer, cycle_id=cycle.pk)
    services.request_decide(
        actor=w.supervisor,
        request_id=road.pk,
        decision="cut",
        amounts={"public": 5000 * WAN, "central": 1000 * WAN},
        reason="核減",
    )
    services.request_decide(
        actor=w.supervisor, request_id=park.pk, decision="approved", override_reason="優先辦理"
    )  # PWB: 7,000 萬 public, over its 5,000 萬
    services.request_decide(actor=w.officer, request_id=port.pk, decision="rejected", reason="不予核列")

    board = selectors.totals(cycle=cycle)
    overall = board["overall"]
    assert overall["count"] == 3
    assert overall["requested"] == {
        "public": 8000 * WAN,
        "fund": 3000 * WAN,
        "central": 1000 * WAN,
        "other": 500 * WAN,
        "total": 12500 * WAN,
    }
    assert overall["recommended"] == {
        "public": 7000 * WAN,
        "fund": 3000 * WAN,
        "central": 1000 * WAN,
        "other": 0,
        "total": 11000 * WAN,
    }
    assert overall["approved"] == {
        "public": 7000 * WAN,
        "fund": 0,
        "central": 1000 * WAN,
        "other": 0,
        "total": 8000 * WAN,
    }
    assert (overall["ceiling"], overall["over_ceiling"]) == ({"public": 1 * YI, "fund": 1 * YI}, [])
    by_code = {a["code"]: a for a in board["agencies"]}
    assert list(by_code) == ["PWB", "TB", "ZZZ"]
    assert (by_code["PWB"]["count"], by_code["PWB"]["approved"]["total"]) == (2, 8000 * WAN)
    assert (by_code["PWB"]["ceiling"], by_code["PWB"]["over_ceiling"]) == (
        {"public": 5000 * WAN, "fund": None},
        ["public"],
    )
    assert (by_code["TB"]["requested"]["total"], by_code["TB"]["approved"]["total"]) == (3500 * WAN, 0)
    assert by_code["TB"]["ceiling"] == {"public": None, "fund": None}
    assert (by_code["ZZZ"]["count"], by_code["ZZZ"]["ceiling"]["fund"]) == (0, 2000 * WAN)
    assert by_code["ZZZ"]["requested"]["total"] == 0


@pytest.mark.parametrize("requests", [1, 20])
def test_totals_take_two_queries_whatever_the_number_of_requests(world, requests, django_assert_num_queries):
    cycle = make_cycle(world.officer)
    services.cycle_ceiling_set(actor=world.officer, cycle_id=cycle.pk, agency_id=world.pwb.pk, public=1 * YI)
    people = [(world.clerk, world.head), (world.tb_clerk, world.tb_head)]
    for n in range(requests):
        clerk, head = people[n % 2]
        sent(clerk, head, cycle, title=f"計畫{n}")
    with django_assert_num_queries(2):
        board = selectors.totals(cycle=cycle)
    assert board["overall"]["count"] == requests
    assert board["overall"]["requested"]["public"] == requests * 60_000_000
