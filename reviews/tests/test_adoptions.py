"""Adoption questions (參採) on any subject: asking agencies, answering, who sees what, and their reminders.

The subjects here are delegations and panels, not proposals: the mechanism knows no process.
"""

import datetime

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.roles import Role
from accounts.tests.factories import AgencyFactory, DelegationFactory
from notifications import registry
from notifications import services as notification_services
from notifications.models import Notification, ReminderRule
from reviews import deadlines, selectors, services
from reviews.errors import Code
from reviews.models import Adoption, Panel
from reviews.tests import factories as f
from workflow_site.errors import Conflict, NotFound, PermissionDenied, TransitionNotAllowed
from workflow_site.models import TransitionLog

pytestmark = pytest.mark.django_db
TAIPEI = datetime.timezone(datetime.timedelta(hours=8))
DUE = datetime.date(2025, 3, 12)  # a Wednesday; three working days before is Friday 7 March


@pytest.fixture
def people(make_user):
    """RDEC's officer, and two agencies with a clerk and a head each."""
    water, works = AgencyFactory(code="WRB", name="水利局"), AgencyFactory(code="PWB", name="工務局")
    return {
        "officer": make_user(Role.RDEC_OFFICER),
        "water": water,
        "works": works,
        "water_clerk": make_user(Role.AGENCY_CLERK, agency=water, email="clerk@wrb.gov.tw"),
        "water_head": make_user(Role.AGENCY_HEAD, agency=water),
        "works_clerk": make_user(Role.AGENCY_CLERK, agency=works),
        "reviewer": make_user(Role.REVIEWER, agency=water),
    }


@pytest.fixture
def subject():
    """Something awarded that is not a proposal."""
    return DelegationFactory(reason="雨水下水道智慧監測")


def ask(people, subject, *agencies, due=DUE) -> list[Adoption]:
    return services.adoptions_request(
        subject=subject, agency_ids=[a.pk for a in agencies], due_date=due, actor=people["officer"]
    )


def test_asking_makes_one_pending_question_per_agency_about_the_subject(people, subject):
    asked = ask(people, subject, people["water"], people["works"])

    assert sorted((a.agency.code, a.status, a.due_date) for a in asked) == [
        ("PWB", "pending", DUE),
        ("WRB", "pending", DUE),
    ]
    stored = Adoption.objects.get(agency=people["water"])
    assert stored.subject == subject
    assert stored.subject_type == ContentType.objects.get_for_model(subject)
    assert stored.title == str(subject)  # the subject's name when asked, for lists and reminders


def test_the_title_may_be_given(people, subject):
    (asked,) = services.adoptions_request(
        subject=subject, agency_ids=[people["water"].pk], due_date=DUE, actor=people["officer"], title="智慧監測"
    )
    assert asked.title == "智慧監測"


@pytest.mark.parametrize("which", ["none", "unknown", "inactive"])
def test_only_active_agencies_may_be_asked(people, subject, which):
    closed = AgencyFactory(active=False)
    agency_ids = {"none": [], "unknown": [people["water"].pk, 999_999], "inactive": [closed.pk]}[which]
    with pytest.raises(ValidationError) as exc:
        services.adoptions_request(subject=subject, agency_ids=agency_ids, due_date=DUE, actor=people["officer"])
    assert exc.value.message_dict == {"agencies": ["請選擇有效的受文機關。"]}
    assert not Adoption.objects.exists()


@pytest.mark.parametrize("role", ["water_clerk", "water_head", "reviewer"])
def test_only_rdec_officers_ask(people, subject, role):
    with pytest.raises(PermissionDenied):
        services.adoptions_request(subject=subject, agency_ids=[people["water"].pk], due_date=DUE, actor=people[role])
    assert not Adoption.objects.exists()


def test_an_agency_is_asked_about_a_subject_once(people, subject):
    ask(people, subject, people["water"])
    with pytest.raises(Conflict) as exc:
        ask(people, subject, people["works"], people["water"])
    assert exc.value.code == Code.ADOPTION_ALREADY_REQUESTED
    assert "水利局" in str(exc.value.message)
    assert Adoption.objects.count() == 1  # not even the works bureau's: all or nothing
    # The same agency about another subject is another question; the database refuses a duplicate too.
    ask(people, DelegationFactory(), people["water"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Adoption.objects.create(subject=subject, title="x", agency=people["water"], due_date=DUE)


def test_the_agencys_clerk_answers_with_the_reason_and_the_answer_is_logged(people, subject):
    (question,) = ask(people, subject, people["water"])
    answered = services.adoption_respond(
        adoption_id=question.pk, actor=people["water_clerk"], response="partial", reason="先於兩區試辦"
    )
    answered.refresh_from_db()
    assert (answered.status, answered.response, answered.reason) == ("answered", "partial", "先於兩區試辦")
    assert answered.answered_by == people["water_clerk"]
    assert answered.answered_at is not None
    log = TransitionLog.objects.get(content_type=ContentType.objects.get_for_model(Adoption), object_id=question.pk)
    assert (log.transition, log.source, log.target, log.actor, log.reason) == (
        "respond",
        "pending",
        "answered",
        people["water_clerk"],
        "先於兩區試辦",
    )
    with pytest.raises(TransitionNotAllowed):
        services.adoption_respond(
            adoption_id=question.pk, actor=people["water_head"], response="adopt", reason="改為全面辦理"
        )


def test_the_agencys_head_may_answer_too(people, subject):
    (question,) = ask(people, subject, people["water"])
    services.adoption_respond(adoption_id=question.pk, actor=people["water_head"], response="decline", reason="無經費")
    assert Adoption.objects.get().response == "decline"


def test_nobody_else_answers(people, subject):
    (question,) = ask(people, subject, people["water"])
    with pytest.raises(NotFound):  # another agency's question is not even visible
        services.adoption_respond(
            adoption_id=question.pk, actor=people["works_clerk"], response="adopt", reason="我們來做"
        )
    with pytest.raises(PermissionDenied):  # RDEC sees it but the answer is the agency's
        services.adoption_respond(adoption_id=question.pk, actor=people["officer"], response="adopt", reason="代答")
    assert Adoption.objects.get().status == "pending"


def test_a_substitute_answers_for_the_agency_they_stand_in_for(people, subject, make_user):
    other = AgencyFactory()
    substitute = make_user(Role.AGENCY_CLERK, agency=people["water"])
    (question,) = ask(people, subject, other)
    principal = make_user(Role.AGENCY_CLERK, agency=other)
    today = datetime.date.today()
    DelegationFactory(user=principal, substitute=substitute, starts=today, ends=today)
    services.adoption_respond(adoption_id=question.pk, actor=substitute, response="adopt", reason="照案辦理")
    log = TransitionLog.objects.get(object_id=question.pk, content_type=ContentType.objects.get_for_model(Adoption))
    assert (log.actor, log.acting_for) == (substitute, principal)


@pytest.mark.parametrize(
    ("response", "reason", "field"),
    [("maybe", "理由", "response"), ("", "理由", "response"), ("adopt", "  ", "reason")],
)
def test_an_answer_needs_a_known_response_and_a_reason(people, subject, response, reason, field):
    (question,) = ask(people, subject, people["water"])
    with pytest.raises(ValidationError) as exc:
        services.adoption_respond(
            adoption_id=question.pk, actor=people["water_clerk"], response=response, reason=reason
        )
    assert list(exc.value.message_dict) == [field]
    assert Adoption.objects.get().status == "pending"


def test_a_process_answers_only_its_own_subjects_questions(people, subject):
    (question,) = ask(people, subject, people["water"])
    with pytest.raises(NotFound):
        services.adoption_respond(
            adoption_id=question.pk, actor=people["water_clerk"], response="adopt", reason="x", subject_model=Panel
        )
    services.adoption_respond(
        adoption_id=question.pk,
        actor=people["water_clerk"],
        response="adopt",
        reason="x",
        subject_model=type(subject),
    )


def test_an_agency_sees_its_own_questions_rdec_sees_all_and_others_none(people, subject):
    panel = f.panel_create(actor=people["officer"])
    ask(people, subject, people["water"], people["works"])
    ask(people, panel, people["water"])

    def seen(user, **kwargs):
        return sorted((a.title, a.agency.code) for a in selectors.adoption_list(viewer=user, **kwargs))

    assert seen(people["water_clerk"]) == sorted([(str(subject), "WRB"), (str(panel), "WRB")])
    assert seen(people["water_head"]) == seen(people["water_clerk"])
    assert seen(people["works_clerk"]) == [(str(subject), "PWB")]
    assert len(seen(people["officer"])) == 3
    assert seen(people["reviewer"]) == []
    # One process's list: the panel's question is not a delegation's.
    assert seen(people["officer"], subject_model=Panel) == [(str(panel), "WRB")]


def test_the_list_takes_a_constant_number_of_queries(people, django_assert_max_num_queries):
    ask(people, DelegationFactory(), people["water"])
    with django_assert_max_num_queries(5) as few:
        list(selectors.adoption_list(viewer=people["water_clerk"]))
    for _ in range(5):
        ask(people, DelegationFactory(), people["water"])
    with django_assert_max_num_queries(len(few)):
        assert len(list(selectors.adoption_list(viewer=people["water_clerk"]))) == 6


# --- the deadline ---------------------------------------------------------------------------------------


def test_one_deadline_source_for_every_subject_with_the_page_its_process_registered(people, subject, monkeypatch):
    panel = f.panel_create(actor=people["officer"])
    (about_subject,) = ask(people, subject, people["water"])
    (about_panel,) = ask(people, panel, people["water"])
    monkeypatch.setitem(deadlines._answer_pages, "accounts.delegation", lambda pk: f"/delegations/answers/{pk}/")
    source = registry.get("reviews.adoption")
    assert source.model is Adoption

    items = {i.object_id: i for i in source.due_between(DUE, DUE)}
    assert set(items) == {about_subject.pk, about_panel.pk}
    item = items[about_subject.pk]
    assert (item.title, item.due_date, item.agency_id) == (f"參採回復：{subject}", DUE, people["water"].pk)
    assert item.recipient_ids == (people["water_clerk"].pk,)  # the clerks; the head when it escalates
    assert item.url == f"/delegations/answers/{about_subject.pk}/"
    assert items[about_panel.pk].url == "/"  # no page registered for panels: My tasks
    assert not list(source.due_between(DUE + datetime.timedelta(days=1), DUE + datetime.timedelta(days=9)))

    services.adoption_respond(adoption_id=about_panel.pk, actor=people["water_clerk"], response="adopt", reason="x")
    assert source.still_open([about_subject.pk, about_panel.pk]) == {about_subject.pk}
    assert [i.object_id for i in source.for_user(people["water_clerk"])] == [about_subject.pk]
    assert list(source.for_user(people["works_clerk"])) == []
    assert list(source.for_user(people["water_head"])) == []


def test_the_reminder_rule_reminds_the_clerk_three_working_days_before(people, subject):
    (question,) = ask(people, subject, people["water"])
    # The data migration's rule (a transactional test elsewhere may have flushed it).
    ReminderRule.objects.get_or_create(
        kind="reviews.adoption",
        defaults={"name": "參採回復期限提醒", "offsets": [-3, 0, 1], "channels": ["email", "in_app"]},
    )
    with time_machine.travel(datetime.datetime(2025, 3, 7, 9, tzinfo=TAIPEI), tick=False):
        notification_services.deadline_scan()
    reminders = Notification.objects.filter(kind="reviews.adoption", object_id=question.pk)
    assert sorted(reminders.values_list("recipient__email", "offset", "channel")) == [
        ("clerk@wrb.gov.tw", -3, "email"),
        ("clerk@wrb.gov.tw", -3, "in_app"),
    ]
    assert {n.item for n in reminders} == {question}
