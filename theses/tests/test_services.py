"""The thesis process's rules, denials and bad input, through the services."""

import datetime

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.roles import Role
from reviews.models import Panel, ReviewItem
from theses import selectors, services
from theses.models import ThesisApplication, ThesisDocument
from theses.tests.factories import make_applicant, make_call, pdf, score_everything, sent_application
from workflow_site.errors import NotFound, PermissionDenied, TransitionNotAllowed
from workflow_site.models import TransitionLog

pytestmark = pytest.mark.django_db

# 2026-12-04 10:00 in Asia/Taipei: the call (deadline 2026-12-31) is open.
NOW = datetime.datetime(2026, 12, 4, 2, 0, tzinfo=datetime.UTC)
S = ThesisApplication.Status


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def officer(make_user):
    return make_user(Role.RDEC_OFFICER)


@pytest.fixture
def call(officer):
    call = make_call(officer)
    services.call_open(call_id=call.pk, actor=officer)
    return call


def test_call_has_a_panel_per_kind_and_degree_with_the_quota_as_its_band(call):
    tracks = {(t.kind, t.degree): t for t in call.tracks.select_related("panel")}
    assert sorted(tracks) == [("award", "doctor"), ("award", "master"), ("subsidy", "doctor"), ("subsidy", "master")]
    band = tracks[("subsidy", "master")].panel.bands.get()
    assert (band.grade, band.quota_count, band.min_score) == ("approved", 2, 60)
    assert tracks[("subsidy", "master")].panel.members.count() == 3


def test_bad_call_set_up_is_400_by_field(officer):
    with pytest.raises(ValidationError) as error:
        make_call(officer, year=116, tracks=[{"kind": "subsidy", "degree": "master", "quota": 1, "amount": 10**12}])
    assert "tracks" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        make_call(officer, year=117, final_due_date=datetime.date(2026, 1, 1))
    assert "final_due_date" in error.value.message_dict


def test_only_rdec_sets_up_calls(make_user):
    with pytest.raises(PermissionDenied):
        make_call(make_applicant("student"), year=118)


def test_applicant_applies_once_per_kind_and_degree_comes_from_the_profile(call):
    student = make_applicant("lin", degree="doctor")
    application = sent_application(call, student)
    assert (application.status, application.degree, application.university) == (S.SUBMITTED, "doctor", "國立中山大學")
    with pytest.raises(ValidationError) as error:
        services.application_create(actor=student, call_id=call.pk, kind="subsidy", title="再一次", abstract="x")
    assert error.value.message_dict == {"kind": ["您已申請過本年度的此類別。"]}
    assert ThesisApplication.objects.count() == 1


def test_award_needs_a_defence_within_two_years(call):
    student = make_applicant("wang")
    with pytest.raises(ValidationError) as error:
        services.application_create(
            actor=student,
            call_id=call.pk,
            kind="award",
            title="論文",
            abstract="摘要",
            defence_date=datetime.date(2024, 12, 3),
        )
    assert list(error.value.message_dict) == ["defence_date"]
    ok = services.application_create(
        actor=student,
        call_id=call.pk,
        kind="award",
        title="論文",
        abstract="摘要",
        defence_date=datetime.date(2024, 12, 4),
    )
    assert ok.pk
    assert ThesisApplication.objects.count() == 1


def test_unverified_or_profileless_applicants_and_staff_cannot_apply(call, officer):
    with pytest.raises(TransitionNotAllowed) as error:
        services.application_create(
            actor=make_applicant("new", verified=False), call_id=call.pk, kind="subsidy", title="t", abstract="a"
        )
    assert error.value.code == "not_verified"
    with pytest.raises(PermissionDenied):
        services.application_create(actor=officer, call_id=call.pk, kind="subsidy", title="t", abstract="a")


def test_after_the_deadline_nothing_is_saved(call):
    student = make_applicant("late")
    after = datetime.datetime(2027, 1, 1, 2, 0, tzinfo=datetime.UTC)
    with time_machine.travel(after, tick=False), pytest.raises(ValidationError) as error:
        services.application_create(actor=student, call_id=call.pk, kind="subsidy", title="t", abstract="a")
    assert list(error.value.message_dict) == ["call"]
    assert not ThesisApplication.objects.exists()


def test_wrong_file_type_is_refused_by_content(call):
    student = make_applicant("chen")
    application = services.application_create(actor=student, call_id=call.pk, kind="subsidy", title="t", abstract="a")
    fake = SimpleUploadedFile("plan.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    with pytest.raises(ValidationError) as error:
        services.document_add(actor=student, application_id=application.pk, role="plan", upload=fake)
    assert list(error.value.message_dict) == ["file"]
    with pytest.raises(ValidationError) as error:
        services.application_submit(actor=student, application_id=application.pk)
    assert error.value.message_dict == {"documents": ["請上傳研究計畫。"]}
    assert not ThesisDocument.objects.exists()


def test_applicants_see_only_their_own_and_rdec_no_drafts(call, officer):
    mine, theirs = make_applicant("a1"), make_applicant("a2")
    sent = sent_application(call, mine)
    draft = services.application_create(actor=theirs, call_id=call.pk, kind="subsidy", title="草稿", abstract="x")
    assert list(selectors.application_list(viewer=mine)) == [sent]
    assert list(selectors.application_list(viewer=officer)) == [sent]
    with pytest.raises(NotFound):
        services.application_withdraw(actor=mine, application_id=draft.pk)
    with pytest.raises(NotFound):
        services.application_screen(actor=officer, application_id=draft.pk, eligible=True)


def test_returned_for_documents_goes_back_to_the_applicant_then_again_to_screening(call, officer):
    student = make_applicant("huang")
    application = sent_application(call, student)
    services.application_return(actor=officer, application_id=application.pk, note="缺指導教授推薦函")
    application.refresh_from_db()
    assert (application.status, application.note) == (S.RETURNED, "缺指導教授推薦函")
    services.document_add(actor=student, application_id=application.pk, role="other", upload=pdf("letter.pdf"))
    services.application_submit(actor=student, application_id=application.pk)
    services.application_screen(actor=officer, application_id=application.pk, eligible=False, reason="非市政議題")
    application.refresh_from_db()
    assert (application.status, application.note) == (S.INELIGIBLE, "非市政議題")
    log = list(
        TransitionLog.objects.filter(
            content_type=ContentType.objects.get_for_model(application), object_id=application.pk
        ).values_list("source", "target", "actor")
    )
    assert log[-3:] == [
        ("submitted", "returned", officer.pk),
        ("returned", "submitted", student.pk),
        ("submitted", "ineligible", officer.pk),
    ]


def test_whole_year_quota_minimum_score_blind_titles_and_final_thesis(call, officer):
    students = [make_applicant(f"s{n}") for n in range(4)]
    apps = [sent_application(call, s, title=f"論文{n}") for n, s in enumerate(students)]
    with pytest.raises(TransitionNotAllowed) as error:
        services.call_start_review(call_id=call.pk, actor=officer)
    assert error.value.code == "unscreened_applications"
    for app in apps:
        services.application_screen(actor=officer, application_id=app.pk, eligible=True)
    services.call_start_review(call_id=call.pk, actor=officer)
    items = ReviewItem.objects.filter(subject_id__in=[a.pk for a in apps])
    assert sorted(items.values_list("title", flat=True)) == ["論文0", "論文1", "論文2", "論文3"]  # double-blind
    # quota 2, minimum 60: 90 and 80 win; 70 is third; 50 is below the line anyway
    score_everything(call, {apps[0].pk: 90, apps[1].pk: 50, apps[2].pk: 80, apps[3].pk: 70})
    services.call_decide(call_id=call.pk, actor=officer)
    result = {a.pk: (a.status, a.amount, a.rank) for a in ThesisApplication.objects.all()}
    assert result == {
        apps[0].pk: (S.APPROVED, 30000, 1),
        apps[2].pk: (S.APPROVED, 30000, 2),
        apps[3].pk: (S.REJECTED, None, 3),
        apps[1].pk: (S.REJECTED, None, 4),
    }
    assert Panel.objects.get(pk=call.tracks.get(kind="subsidy", degree="master").panel_id).status == "finalised"

    winner = students[0]
    with pytest.raises(TransitionNotAllowed):
        services.application_accept_final(actor=officer, application_id=apps[0].pk)
    services.application_submit_final(actor=winner, application_id=apps[0].pk, upload=pdf("final.pdf"))
    services.application_accept_final(actor=officer, application_id=apps[0].pk)
    services.application_close(actor=officer, application_id=apps[0].pk)
    assert ThesisApplication.objects.get(pk=apps[0].pk).status == S.CLOSED
    assert ThesisDocument.objects.filter(application=apps[0], role="final").count() == 1


def test_overdue_then_cancelled_and_rejected_data_purged_after_retention(call, officer):
    winner, loser = make_applicant("w"), make_applicant("l")
    won, lost = sent_application(call, winner, title="勝"), sent_application(call, loser, title="敗")
    for app in (won, lost):
        services.application_screen(actor=officer, application_id=app.pk, eligible=True)
    services.call_start_review(call_id=call.pk, actor=officer)
    score_everything(call, {won.pk: 90, lost.pk: 40})
    services.call_decide(call_id=call.pk, actor=officer)

    assert services.applications_mark_overdue(on=datetime.date(2027, 6, 30)) == 0
    assert services.applications_mark_overdue(on=datetime.date(2027, 7, 1)) == 1
    services.application_cancel(actor=officer, application_id=won.pk, reason="逾期未繳交")
    assert ThesisApplication.objects.get(pk=won.pk).status == S.CANCELLED

    assert services.applications_purge_expired() == 0  # within the 365 days
    later = datetime.datetime(2027, 12, 5, 2, 0, tzinfo=datetime.UTC)
    assert services.applications_purge_expired(now=later) == 1
    purged = ThesisApplication.objects.get(pk=lost.pk)
    assert (purged.title, purged.university, purged.advisor, purged.status) == (
        "（已依保存期限刪除）",
        "",
        "",
        S.REJECTED,
    )
    assert not ThesisDocument.objects.filter(application=lost).exists()
    assert ThesisDocument.objects.filter(application=won).exists()  # a granted one keeps its files
    assert services.applications_purge_expired(now=later) == 0
