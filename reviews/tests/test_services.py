"""The review engine's writes on PostgreSQL: rubrics, composition, recusal, sheets, reopen, races, finalising."""

import threading
from decimal import Decimal as D

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.roles import Role
from accounts.tests.factories import AgencyFactory
from reviews import selectors, services
from reviews.models import ItemResult, Panel, PanelMember, Rubric, ScoreSheet, TieResolution
from reviews.scoring import BoundaryTie
from reviews.tests import factories as f
from workflow_site.errors import ApplicationError, Conflict, NotFound, PermissionDenied, TransitionNotAllowed
from workflow_site.models import TransitionLog

pytestmark = pytest.mark.django_db

# Sheets of the factories' rubric: total = innovation x 4 + feasibility x 3.5 + benefit x 1.25
TOP = {"innovation": "9", "feasibility": "8.5", "benefit": "17"}  # 36 + 29.75 + 21.25 = 87.00
GOOD = {"innovation": "8", "feasibility": "9", "benefit": "16"}  # 32 + 31.5 + 20 = 83.50
FAIR = {"innovation": "8.5", "feasibility": "8", "benefit": "15.5"}  # 34 + 28 + 19.375 = 81.375 -> 81.38
LOW = {"innovation": "7", "feasibility": "7", "benefit": "14"}  # 28 + 24.5 + 17.5 = 70.00


def logs(obj, transition: str | None = None):
    qs = TransitionLog.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk)
    return qs.filter(transition=transition) if transition else qs


@pytest.fixture
def officer(make_user):
    return make_user(Role.RDEC_OFFICER)


@pytest.fixture
def scoring_panel(officer):
    """Scoring started: 委員A (external, of agency 甲), 委員B (external), 委員C (internal, chair); items of
    agencies 甲, 乙 and 丙: A is recused from 甲's item automatically."""
    agency_a, agency_b, agency_c = AgencyFactory(name="甲局"), AgencyFactory(name="乙局"), AgencyFactory(name="丙局")
    panel = f.panel_create(actor=officer, min_members=3, min_external=2)
    members = [
        f.member_add(panel, user=f.reviewer(agency=agency_a)),
        f.member_add(panel),
        f.member_add(panel, kind=PanelMember.Kind.INTERNAL, is_chair=True),
    ]
    staffed = f.StaffedPanel(panel, members, f.items_sync(panel, [agency_a, agency_b, agency_c]))
    services.panel_start_scoring(panel_id=panel.pk, actor=officer)
    staffed.refresh()
    return staffed


# --- rubrics ------------------------------------------------------------------------------------------


def test_rubric_weights_must_sum_to_100():
    criteria = [{**f.CRITERIA[0], "weight": 40}, {**f.CRITERIA[1], "weight": 30}, {**f.CRITERIA[2], "weight": 20}]
    with pytest.raises(ValidationError) as exc:
        f.rubric_create(criteria)
    assert exc.value.message_dict == {"criteria": ["各評分項目權重合計須為 100%，目前為 90%。"]}
    assert not Rubric.objects.exists()


def test_rubric_refuses_duplicate_codes():
    with pytest.raises(ValidationError) as exc:
        f.rubric_create([{**f.CRITERIA[0], "weight": 50}, {**f.CRITERIA[0], "weight": 50}])
    assert exc.value.message_dict == {"criteria": ["評分項目代碼不可重複。"]}


def test_rubric_keeps_the_criteria_in_order():
    rubric = f.rubric_create()
    rows = list(rubric.criteria.values_list("order", "code", "name", "weight", "max_score"))
    assert rows == [
        (1, "innovation", "創新性", D("40.00"), D("10.00")),
        (2, "feasibility", "可行性", D("35.00"), D("10.00")),
        (3, "benefit", "效益", D("25.00"), D("20.00")),
    ]


# --- composition --------------------------------------------------------------------------------------


def _forming(officer, *, min_members, min_external, externals, internals, chair=True):
    panel = f.panel_create(actor=officer, min_members=min_members, min_external=min_external)
    for _ in range(externals):
        f.member_add(panel, kind=PanelMember.Kind.EXTERNAL)
    for index in range(internals):
        f.member_add(panel, kind=PanelMember.Kind.INTERNAL, is_chair=chair and index == 0)
    f.items_sync(panel, 2)
    return panel


@pytest.mark.parametrize(
    ("setup", "problems"),
    [
        (dict(min_members=7, min_external=0, externals=4, internals=2), ["委員人數 6 人，少於規定的 7 人。"]),
        (dict(min_members=3, min_external=3, externals=2, internals=1), ["外部委員 2 人，少於規定的 3 人。"]),
        (dict(min_members=3, min_external=2, externals=2, internals=1, chair=False), ["尚未指定召集人。"]),
    ],
    ids=["too-few-members", "too-few-externals", "no-chair"],
)
def test_scoring_cannot_start_while_the_composition_rule_is_unmet(officer, setup, problems):
    panel = _forming(officer, **setup)
    with pytest.raises(TransitionNotAllowed) as exc:
        services.panel_start_scoring(panel_id=panel.pk, actor=officer)
    assert (exc.value.status, exc.value.code, exc.value.extra["problems"]) == (409, "panel_composition", problems)
    panel.refresh_from_db()
    assert panel.status == Panel.Status.FORMING
    assert not ScoreSheet.objects.filter(panel=panel).exists()


def test_reserve_members_do_not_count_towards_the_composition(officer):
    panel = _forming(officer, min_members=3, min_external=2, externals=1, internals=1)
    f.member_add(panel, kind=PanelMember.Kind.EXTERNAL, reserve=True)
    with pytest.raises(TransitionNotAllowed) as exc:
        services.panel_start_scoring(panel_id=panel.pk, actor=officer)
    assert exc.value.extra["problems"] == ["委員人數 2 人，少於規定的 3 人。", "外部委員 1 人，少於規定的 2 人。"]


def test_scoring_starts_when_the_composition_is_met(officer):
    staffed = f.staffed_panel(actor=officer)  # 5 external + 2 internal, 3 items
    services.panel_start_scoring(panel_id=staffed.panel.pk, actor=officer)
    panel = staffed.refresh()
    assert panel.status == Panel.Status.SCORING
    assert ScoreSheet.objects.filter(panel=panel, status=ScoreSheet.Status.NOT_STARTED).count() == 7 * 3
    assert logs(panel, "start_scoring").get().actor == officer


def test_only_rdec_runs_panels(officer, make_user):
    staffed = f.staffed_panel(external=2, internal=1, items=1, actor=officer)
    with pytest.raises(PermissionDenied):
        services.panel_start_scoring(panel_id=staffed.panel.pk, actor=staffed.chair.user)
    with pytest.raises(PermissionDenied):
        f.panel_create(actor=make_user(Role.REVIEWER))


# --- members: removing, the chair ---------------------------------------------------------------------


def test_the_panel_logs_who_added_whom(officer):
    panel = f.staffed_panel(external=0, internal=0, items=1, actor=officer).panel
    chair, reserve = f.reviewer(), f.reviewer()
    services.panel_member_add(panel_id=panel.pk, actor=officer, user_id=chair.pk, kind="external", is_chair=True)
    services.panel_member_add(panel_id=panel.pk, actor=officer, user_id=reserve.pk, kind="external", reserve=True)
    added = logs(panel, "member_add").order_by("pk")
    assert [(log.actor, log.reason) for log in added] == [
        (officer, f"加入召集人：{chair}"),
        (officer, f"加入備位委員：{reserve}"),
    ]


def test_an_officer_removes_a_member_while_forming_and_the_panel_logs_it(officer):
    staffed = f.staffed_panel(external=2, internal=1, items=1, actor=officer)
    leaving = staffed.members[0]
    services.panel_member_remove(panel_id=staffed.panel.pk, member_id=leaving.pk, actor=officer, reason="出國")
    assert not PanelMember.objects.filter(pk=leaving.pk).exists()
    log = logs(staffed.panel, "member_remove").get()
    assert (log.actor, log.source, log.target) == (officer, "forming", "forming")
    assert log.reason == f"移除委員：{leaving.user}（出國）"
    # The same person may join again.
    f.member_add(staffed.panel, user=leaving.user)


def test_removing_is_refused_once_scoring_started_and_for_anyone_but_rdec(scoring_panel, officer, make_user):
    member = scoring_panel.members[1]
    with pytest.raises(TransitionNotAllowed) as exc:
        services.panel_member_remove(panel_id=scoring_panel.panel.pk, member_id=member.pk, actor=officer)
    assert exc.value.status == 409
    for outsider in (scoring_panel.chair.user, make_user(Role.AGENCY_CLERK), make_user(Role.RDEC_SUPERVISOR)):
        with pytest.raises(PermissionDenied):
            services.panel_member_remove(panel_id=scoring_panel.panel.pk, member_id=member.pk, actor=outsider)
    assert PanelMember.objects.filter(pk=member.pk).exists()
    assert not logs(scoring_panel.panel, "member_remove").exists()


def test_nobody_joins_a_finalised_panel(scoring_panel, officer):
    Panel.objects.filter(pk=scoring_panel.panel.pk).update(status=Panel.Status.FINALISED)
    with pytest.raises(TransitionNotAllowed) as exc:
        f.member_add(scoring_panel.panel, reserve=True)
    assert exc.value.message == "結果已確定，不能再加入委員。"


def test_a_member_of_another_panel_is_not_found(officer):
    one = f.staffed_panel(external=1, internal=1, items=1, actor=officer)
    other = f.staffed_panel(external=1, internal=1, items=1, actor=officer)
    with pytest.raises(NotFound):
        services.panel_member_remove(panel_id=one.panel.pk, member_id=other.members[0].pk, actor=officer)
    with pytest.raises(NotFound):
        services.panel_chair_set(panel_id=one.panel.pk, member_id=other.members[0].pk, actor=officer)


def test_the_chair_changes_hands_with_a_log_and_never_to_a_reserve(officer):
    staffed = f.staffed_panel(external=2, internal=1, items=1, actor=officer)
    old_chair, new_chair = staffed.chair, staffed.members[0]
    services.panel_chair_set(panel_id=staffed.panel.pk, member_id=new_chair.pk, actor=officer)
    assert list(PanelMember.objects.filter(panel=staffed.panel, is_chair=True)) == [new_chair]
    assert logs(staffed.panel, "chair_set").get().reason == f"指定召集人：{new_chair.user}"
    services.panel_chair_set(panel_id=staffed.panel.pk, member_id=new_chair.pk, actor=officer)  # already: no-op
    assert logs(staffed.panel, "chair_set").count() == 1
    reserve = f.member_add(staffed.panel, reserve=True)
    with pytest.raises(ValidationError) as exc:
        services.panel_chair_set(panel_id=staffed.panel.pk, member_id=reserve.pk, actor=officer)
    assert exc.value.message_dict == {"member": ["備位委員不能擔任召集人。"]}
    with pytest.raises(ValidationError):
        f.member_add(staffed.panel, is_chair=True, reserve=True)
    with pytest.raises(PermissionDenied):
        services.panel_chair_set(panel_id=staffed.panel.pk, member_id=old_chair.pk, actor=new_chair.user)


def test_recusals_name_who_declared_them(scoring_panel):
    a, b, _chair = scoring_panel.members
    declared = scoring_panel.sheet(scoring_panel.items[1], b)
    services.sheet_declare_conflict(sheet_id=declared.pk, actor=b.user, reason="曾任該案顧問")
    rows = {(r.sheet.pk, r.declared_by, r.sheet.recusal_reason) for r in selectors.panel_recusals(scoring_panel.panel)}
    automatic = scoring_panel.sheet(scoring_panel.items[0], a)
    assert rows == {
        (automatic.pk, None, services.AUTO_RECUSAL_REASON),
        (declared.pk, b.user, "曾任該案顧問"),
    }


# --- conflicts of interest ----------------------------------------------------------------------------


def test_a_member_is_recused_automatically_from_their_own_agencys_items(scoring_panel):
    a = scoring_panel.members[0]
    own_item = scoring_panel.items[0]
    recused = scoring_panel.sheet(own_item, a)
    assert (recused.status, recused.recusal_reason) == (ScoreSheet.Status.RECUSED, services.AUTO_RECUSAL_REASON)
    rest = ScoreSheet.objects.filter(panel=scoring_panel.panel).exclude(pk=recused.pk)
    assert set(rest.values_list("status", "recusal_reason")) == {(ScoreSheet.Status.NOT_STARTED, "")}
    assert rest.count() == 8


def test_declared_conflict_is_logged_and_the_chair_may_reinstate(scoring_panel):
    _a, b, chair = scoring_panel.members
    sheet = scoring_panel.sheet(scoring_panel.items[1], b)
    with pytest.raises(ValidationError) as exc:
        services.sheet_declare_conflict(sheet_id=sheet.pk, actor=b.user, reason="  ")
    assert exc.value.message_dict == {"reason": ["請說明迴避理由。"]}

    services.sheet_declare_conflict(sheet_id=sheet.pk, actor=b.user, reason="曾擔任該案顧問")
    sheet.refresh_from_db()
    assert (sheet.status, sheet.recusal_reason) == (ScoreSheet.Status.RECUSED, "曾擔任該案顧問")
    log = logs(sheet, "declare_conflict").get()
    assert (log.source, log.target, log.actor, log.reason) == ("not_started", "recused", b.user, "曾擔任該案顧問")

    with pytest.raises(PermissionDenied):
        services.sheet_reinstate(panel_id=sheet.panel_id, sheet_id=sheet.pk, actor=b.user, reason="我可以評")
    services.sheet_reinstate(panel_id=sheet.panel_id, sheet_id=sheet.pk, actor=chair.user, reason="經查無利益衝突")
    sheet.refresh_from_db()
    assert (sheet.status, sheet.recusal_reason) == (ScoreSheet.Status.NOT_STARTED, "")
    assert logs(sheet, "reinstate").get().reason == "經查無利益衝突"


def test_the_chair_reassigns_a_recused_item_to_a_reserve_member(scoring_panel):
    a, b, chair = scoring_panel.members
    item = scoring_panel.items[0]
    recused = scoring_panel.sheet(item, a)
    reserve = f.member_add(scoring_panel.panel, reserve=True)  # reserves may join after scoring started

    with pytest.raises(PermissionDenied):
        services.sheet_reassign(
            panel_id=item.panel_id, sheet_id=recused.pk, actor=b.user, to_member_id=reserve.pk, reason="x"
        )
    new = services.sheet_reassign(
        panel_id=item.panel_id,
        sheet_id=recused.pk,
        actor=chair.user,
        to_member_id=reserve.pk,
        reason="改由備位委員評分",
    )
    assert (new.item_id, new.member_id, new.status) == (item.pk, reserve.pk, ScoreSheet.Status.NOT_STARTED)
    log = logs(new, "reassign").get()
    assert (log.actor, log.reason) == (chair.user, "改由備位委員評分")

    with pytest.raises(Conflict) as exc:
        services.sheet_reassign(
            panel_id=item.panel_id, sheet_id=recused.pk, actor=chair.user, to_member_id=reserve.pk, reason="再一次"
        )
    assert exc.value.code == "duplicate_sheet"
    # the reserve member scores the item like anyone else
    services.sheet_submit(sheet_id=new.pk, actor=reserve.user, scores=GOOD)
    new.refresh_from_db()
    assert (new.status, new.total) == (ScoreSheet.Status.SUBMITTED, D("83.50"))


def test_reassigning_refuses_an_open_sheet_and_a_member_of_the_items_agency(scoring_panel):
    a, b, chair = scoring_panel.members
    item = scoring_panel.items[0]
    open_sheet = scoring_panel.sheet(item, b)
    same_agency = f.member_add(scoring_panel.panel, user=f.reviewer(agency=item.agency), reserve=True)
    with pytest.raises(TransitionNotAllowed):
        services.sheet_reassign(
            panel_id=item.panel_id, sheet_id=open_sheet.pk, actor=chair.user, to_member_id=same_agency.pk, reason="x"
        )
    with pytest.raises(ValidationError) as exc:
        services.sheet_reassign(
            panel_id=item.panel_id,
            sheet_id=scoring_panel.sheet(item, a).pk,
            actor=chair.user,
            to_member_id=same_agency.pk,
            reason="x",
        )
    assert exc.value.message_dict == {"member": ["此委員與受審項目同機關，須迴避。"]}


# --- score sheets -------------------------------------------------------------------------------------


def test_drafts_keep_partial_scores_and_autosaves_are_not_logged(scoring_panel):
    a = scoring_panel.members[0]
    sheet = scoring_panel.sheet(scoring_panel.items[1], a)
    services.sheet_save_draft(sheet_id=sheet.pk, actor=a.user, scores={"innovation": 8})
    sheet.refresh_from_db()
    assert (sheet.status, sheet.scores, sheet.total) == (ScoreSheet.Status.DRAFT, {"innovation": "8.00"}, None)
    services.sheet_save_draft(sheet_id=sheet.pk, actor=a.user, scores={"feasibility": "9"}, comment="構想完整")
    services.sheet_save_draft(sheet_id=sheet.pk, actor=a.user, scores={"benefit": 16})
    sheet.refresh_from_db()
    assert sheet.scores == {"innovation": "8.00", "feasibility": "9.00", "benefit": "16.00"}
    assert (sheet.status, sheet.total, sheet.comment) == (ScoreSheet.Status.DRAFT, D("83.50"), "構想完整")
    assert logs(sheet).count() == 1  # not_started -> draft only


@pytest.mark.parametrize(
    ("scores", "errors"),
    [
        ({"innovation": 11}, {"innovation": ["「創新性」的分數須介於 0 到 10.00。"]}),
        ({"feasibility": "-0.5"}, {"feasibility": ["「可行性」的分數須介於 0 到 10.00。"]}),
        ({"benefit": "20.01"}, {"benefit": ["「效益」的分數須介於 0 到 20.00。"]}),
        ({"innovation": "八"}, {"innovation": ["「創新性」的分數須為數字。"]}),
        ({"innovation": "NaN"}, {"innovation": ["「創新性」的分數須介於 0 到 10.00。"]}),
        ({"originality": 5}, {"originality": ["沒有這個評分項目。"]}),
    ],
)
def test_a_bad_score_is_refused_by_name_and_the_rest_of_the_draft_is_kept(scoring_panel, scores, errors):
    a = scoring_panel.members[0]
    sheet = scoring_panel.sheet(scoring_panel.items[1], a)
    saved = services.sheet_save_draft(
        sheet_id=sheet.pk, actor=a.user, scores={"feasibility": 9, **scores}, comment="可行性高"
    )
    assert saved.refused == errors
    kept = {} if "feasibility" in scores else {"feasibility": "9.00"}
    sheet.refresh_from_db()
    assert (sheet.status, sheet.scores, sheet.comment) == (ScoreSheet.Status.DRAFT, kept, "可行性高")
    # Submitting the same bad score stays all or nothing.
    with pytest.raises(ValidationError) as exc:
        services.sheet_submit(sheet_id=sheet.pk, actor=a.user, scores={**GOOD, **scores})
    assert exc.value.message_dict == errors
    sheet.refresh_from_db()
    assert (sheet.status, sheet.scores) == (ScoreSheet.Status.DRAFT, kept)


def test_a_refused_score_replaces_the_earlier_one_so_the_draft_matches_the_page(scoring_panel):
    a = scoring_panel.members[0]
    sheet = scoring_panel.sheet(scoring_panel.items[1], a)
    services.sheet_save_draft(sheet_id=sheet.pk, actor=a.user, scores=GOOD)
    saved = services.sheet_save_draft(sheet_id=sheet.pk, actor=a.user, scores={"benefit": 35}, comment="效益待補")
    assert list(saved.refused) == ["benefit"]
    sheet.refresh_from_db()
    assert "benefit" not in sheet.scores
    assert (sheet.total, sheet.comment) == (None, "效益待補")  # incomplete again: no total
    assert saved.sheet.scores == sheet.scores


def test_scores_that_are_not_a_mapping_save_nothing(scoring_panel):
    a = scoring_panel.members[0]
    sheet = scoring_panel.sheet(scoring_panel.items[1], a)
    with pytest.raises(ValidationError) as exc:
        services.sheet_save_draft(sheet_id=sheet.pk, actor=a.user, scores=["8"], comment="評語")
    assert list(exc.value.message_dict) == ["scores"]
    sheet.refresh_from_db()
    assert (sheet.status, sheet.comment) == (ScoreSheet.Status.NOT_STARTED, "")


def test_the_bounds_themselves_are_valid(scoring_panel):
    a = scoring_panel.members[0]
    sheet = scoring_panel.sheet(scoring_panel.items[1], a)
    services.sheet_submit(sheet_id=sheet.pk, actor=a.user, scores={"innovation": 0, "feasibility": 10, "benefit": 20})
    sheet.refresh_from_db()
    assert sheet.total == D("60.00")  # 0 + 35 + 25


def test_submit_requires_every_criterion(scoring_panel):
    a = scoring_panel.members[0]
    sheet = scoring_panel.sheet(scoring_panel.items[1], a)
    with pytest.raises(ValidationError) as exc:
        services.sheet_submit(sheet_id=sheet.pk, actor=a.user, scores={"innovation": 8})
    assert exc.value.message_dict == {"feasibility": ["「可行性」尚未評分。"], "benefit": ["「效益」尚未評分。"]}
    services.sheet_submit(sheet_id=sheet.pk, actor=a.user, scores=GOOD)
    sheet.refresh_from_db()
    assert (sheet.status, sheet.total) == (ScoreSheet.Status.SUBMITTED, D("83.50"))
    assert sheet.submitted_at is not None
    assert logs(sheet, "submit").get().actor == a.user


def test_a_submitted_sheet_changes_only_through_the_chairs_logged_reopen(scoring_panel):
    a, _b, chair = scoring_panel.members
    sheet = scoring_panel.sheet(scoring_panel.items[1], a)
    services.sheet_submit(sheet_id=sheet.pk, actor=a.user, scores=GOOD)
    for attempt in (
        lambda: services.sheet_save_draft(sheet_id=sheet.pk, actor=a.user, scores={"innovation": 9}),
        lambda: services.sheet_submit(sheet_id=sheet.pk, actor=a.user, scores=TOP),
        lambda: services.sheet_declare_conflict(sheet_id=sheet.pk, actor=a.user, reason="想改分數"),
    ):
        with pytest.raises(TransitionNotAllowed) as exc:
            attempt()
        assert exc.value.status == 409
    with pytest.raises(PermissionDenied):
        services.sheet_reopen(panel_id=sheet.panel_id, sheet_id=sheet.pk, actor=a.user, reason="我想改")
    with pytest.raises(ValidationError):
        services.sheet_reopen(panel_id=sheet.panel_id, sheet_id=sheet.pk, actor=chair.user, reason="")

    services.sheet_reopen(panel_id=sheet.panel_id, sheet_id=sheet.pk, actor=chair.user, reason="效益分數誤植")
    sheet.refresh_from_db()
    assert (sheet.status, sheet.submitted_at) == (ScoreSheet.Status.DRAFT, None)
    log = logs(sheet, "reopen").get()
    assert (log.source, log.target, log.actor, log.reason) == ("submitted", "draft", chair.user, "效益分數誤植")

    services.sheet_submit(sheet_id=sheet.pk, actor=a.user, scores=TOP)
    sheet.refresh_from_db()
    assert (sheet.status, sheet.total) == (ScoreSheet.Status.SUBMITTED, D("87.00"))


def test_reopening_after_the_close_reopens_scoring(scoring_panel, officer):
    a, _b, chair = scoring_panel.members
    sheet = scoring_panel.sheet(scoring_panel.items[1], a)
    services.sheet_submit(sheet_id=sheet.pk, actor=a.user, scores=GOOD)
    services.panel_close(panel_id=sheet.panel_id, actor=officer)
    services.sheet_reopen(panel_id=sheet.panel_id, sheet_id=sheet.pk, actor=chair.user, reason="補正")
    assert scoring_panel.refresh().status == Panel.Status.SCORING


def test_another_reviewers_sheet_does_not_exist_for_you(scoring_panel):
    a, b, _chair = scoring_panel.members
    sheet = scoring_panel.sheet(scoring_panel.items[1], a)
    for attempt in (
        lambda: services.sheet_save_draft(sheet_id=sheet.pk, actor=b.user, scores={"innovation": 1}),
        lambda: services.sheet_submit(sheet_id=sheet.pk, actor=b.user, scores=LOW),
        lambda: services.sheet_declare_conflict(sheet_id=sheet.pk, actor=b.user, reason="x"),
        lambda: services.sheet_submit(sheet_id=10**9, actor=b.user, scores=LOW),
    ):
        with pytest.raises(NotFound):
            attempt()
    sheet.refresh_from_db()
    assert sheet.status == ScoreSheet.Status.NOT_STARTED


@pytest.mark.django_db(transaction=True)
def test_two_submits_racing_one_wins_the_other_gets_409(officer):
    staffed = f.staffed_panel(external=2, internal=1, items=1, actor=officer)
    services.panel_start_scoring(panel_id=staffed.panel.pk, actor=officer)
    member = staffed.members[0]
    sheet = staffed.sheet(staffed.items[0], member)
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def submit(name: str, values: dict) -> None:
        try:
            barrier.wait(timeout=10)
            services.sheet_submit(sheet_id=sheet.pk, actor=member.user, scores=values)
            outcomes[name] = "ok"
        except BaseException as exc:  # reported through the assertions below
            outcomes[name] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=args) for args in (("good", GOOD), ("top", TOP))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    winners = [name for name, result in outcomes.items() if result == "ok"]
    losers = [result for result in outcomes.values() if result != "ok"]
    assert len(winners) == 1, outcomes
    assert len(losers) == 1 and isinstance(losers[0], ApplicationError), outcomes
    assert losers[0].status == 409
    sheet.refresh_from_db()
    assert sheet.status == ScoreSheet.Status.SUBMITTED
    assert sheet.total == {"good": D("83.50"), "top": D("87.00")}[winners[0]]
    assert logs(sheet, "submit").count() == 1


# --- evaluation, ties, finalising ---------------------------------------------------------------------


@pytest.fixture
def scored_panel(officer):
    """委員A, B (external), C (internal chair); 優等 2 seats (minimum 85), 甲等 the rest; four items scored so
    that items 2 and 3 tie on everything:
      item 1: 87.00 x 3                        -> 87.00
      items 2 and 3: A 83.50, B 70.00, C 81.38 -> (83.50 + 70.00 + 81.38) / 3 = 234.88 / 3 = 78.2933 -> 78.29
      item 4: 70.00 x 3                        -> 70.00
    """
    staffed = f.staffed_panel(
        external=2,
        internal=1,
        items=4,
        actor=officer,
        deviation_points=D(10),
        bands=[
            {"grade": "excellent", "label": "優等", "quota_count": 2, "min_score": D(85)},
            {"grade": "first", "label": "甲等"},
        ],
    )
    services.panel_start_scoring(panel_id=staffed.panel.pk, actor=officer)
    a, b, c = staffed.members
    i1, i2, i3, i4 = staffed.items
    table = {i1: {a: TOP, b: TOP, c: TOP}, i4: {a: LOW, b: LOW, c: LOW}}
    table[i2] = table[i3] = {a: GOOD, b: LOW, c: FAIR}
    f.submit_all(staffed, lambda item, member: table[item][member])
    return staffed


def test_preview_ranks_and_grades_before_finalising(scored_panel):
    _a, b, _c = scored_panel.members
    i1, i2, i3, i4 = (i.pk for i in scored_panel.items)
    evaluation = selectors.panel_evaluation(scored_panel.refresh())
    assert {k: v.score for k, v in evaluation.items.items()} == {
        i1: D("87.00"),
        i2: D("78.29"),
        i3: D("78.29"),
        i4: D("70.00"),
    }
    # item 2's median is 81.38; B's 70.00 is 11.38 away (>= 10): flagged
    assert evaluation.items[i2].median == D("81.38")
    assert evaluation.items[i2].deviating_members == [b.pk]
    # 優等 has 2 seats but a minimum of 85: items 2 and 3 (78.29) fall to 甲等; no boundary, no tie
    assert evaluation.outcome.grades == {i1: "excellent", i2: "first", i3: "first", i4: "first"}
    assert evaluation.outcome.ties == []


def test_finalise_waits_for_the_chair_to_order_a_boundary_tie(scored_panel, officer):
    panel = scored_panel.refresh()
    a, _b, chair = scored_panel.members
    i1, i2, i3, i4 = (i.pk for i in scored_panel.items)
    services.panel_set_bands(
        panel_id=panel.pk,
        actor=officer,
        bands=[{"grade": "excellent", "label": "優等", "quota_count": 2}, {"grade": "first"}],
    )
    assert selectors.panel_outcome(panel).ties == [BoundaryTie("excellent", 1, [i2, i3])]
    services.panel_close(panel_id=panel.pk, actor=officer)

    with pytest.raises(Conflict) as exc:
        services.panel_finalise(panel_id=panel.pk, actor=officer)
    assert (exc.value.status, exc.value.code) == (409, "unresolved_ties")
    assert exc.value.extra["ties"] == [{"grade": "excellent", "seats": 1, "items": [i2, i3]}]
    assert scored_panel.refresh().status == Panel.Status.CLOSED

    with pytest.raises(PermissionDenied):
        services.tie_resolve(panel_id=panel.pk, actor=a.user, item_ids=[i3, i2], reason="x")
    with pytest.raises(ValidationError):
        services.tie_resolve(panel_id=panel.pk, actor=chair.user, item_ids=[i1, i2], reason="不是並列")
    with pytest.raises(ValidationError):
        services.tie_resolve(panel_id=panel.pk, actor=chair.user, item_ids=[i3, i2], reason=" ")
    services.tie_resolve(panel_id=panel.pk, actor=chair.user, item_ids=[i3, i2], reason="經討論第3案創新性較高")
    assert TieResolution.objects.get(panel=panel).item_ids == [i3, i2]

    services.panel_finalise(panel_id=panel.pk, actor=officer)
    panel = scored_panel.refresh()
    assert panel.status == Panel.Status.FINALISED
    assert logs(panel, "finalise").get().actor == officer
    results = list(
        ItemResult.objects.filter(panel=panel).values_list("item_id", "score", "rank", "grade", "sheet_count")
    )
    assert results == [
        (i1, D("87.00"), 1, "excellent", 3),
        (i3, D("78.29"), 2, "excellent", 3),
        (i2, D("78.29"), 3, "first", 3),
        (i4, D("70.00"), 4, "first", 3),
    ]
    assert ItemResult.objects.get(item_id=i2).reviewer_totals == [
        ["委員A", "83.50"],
        ["委員B", "70.00"],
        ["委員C", "81.38"],
    ]

    # locked
    sheet = ScoreSheet.objects.filter(panel=panel).first()
    with pytest.raises(TransitionNotAllowed):
        services.sheet_reopen(panel_id=panel.pk, sheet_id=sheet.pk, actor=chair.user, reason="再議")
    with pytest.raises(TransitionNotAllowed):
        services.tie_resolve(panel_id=panel.pk, actor=chair.user, item_ids=[i2, i3], reason="再議")
    with pytest.raises(TransitionNotAllowed):
        services.panel_set_bands(panel_id=panel.pk, actor=officer, bands=[{"grade": "first"}])
    with pytest.raises(TransitionNotAllowed):
        services.panel_finalise(panel_id=panel.pk, actor=officer)
    assert ItemResult.objects.filter(panel=panel).count() == 4


def test_finalise_needs_the_panel_closed(scored_panel, officer):
    with pytest.raises(TransitionNotAllowed):
        services.panel_finalise(panel_id=scored_panel.panel.pk, actor=officer)
    assert not ItemResult.objects.exists()


def _evaluation_queries(officer, n_items: int) -> int:
    staffed = f.staffed_panel(external=2, internal=1, items=n_items, actor=officer, bands=[{"grade": "first"}])
    services.panel_start_scoring(panel_id=staffed.panel.pk, actor=officer)
    ScoreSheet.objects.filter(panel=staffed.panel).delete()
    f.bulk_submitted_sheets(
        staffed.panel, lambda item, member: {"innovation": item.pk % 10, "feasibility": 8, "benefit": 15}
    )
    panel = Panel.objects.get(pk=staffed.panel.pk)
    with CaptureQueriesContext(connection) as ctx:
        evaluation = selectors.panel_evaluation(panel)
    assert len(evaluation.items) == n_items
    return len(ctx.captured_queries)


def test_evaluation_query_count_does_not_grow_with_the_items(officer, django_assert_max_num_queries):
    few = _evaluation_queries(officer, 5)
    many = _evaluation_queries(officer, 50)
    assert few == many
    staffed = f.staffed_panel(external=2, internal=1, items=50, actor=officer)
    f.bulk_submitted_sheets(staffed.panel, lambda item, member: GOOD)
    panel = Panel.objects.get(pk=staffed.panel.pk)  # rubric, criteria, sheets, means, titles, bands, ties
    with django_assert_max_num_queries(7):
        selectors.panel_evaluation(panel)
