"""The thesis pages as their users see them: an applicant drafts, uploads and sends; RDEC screens and runs the call;
others' applications are 404, RDEC's pages 403 for applicants, and reviewers of a double-blind call never see who
applied."""

import datetime

import pytest
import time_machine

from accounts.roles import Role
from theses import services
from theses.models import ThesisApplication
from theses.tests.factories import make_applicant, make_call, pdf, score_everything, sent_application

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 12, 4, 2, 0, tzinfo=datetime.UTC)
CONFIRMED = {"confirmed": "1"}  # the 確定 button of an irreversible action's question page


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


def test_applicant_drafts_with_a_file_uploads_and_sends(client, call):
    student = make_applicant("li")
    client.force_login(student)
    response = client.post(
        "/theses/new/",
        {"call": call.pk, "kind": "subsidy", "title": "高雄港區再生研究", "abstract": "港區", "file": pdf()},
    )
    application = ThesisApplication.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/theses/{application.pk}/"
    page = client.get(f"/theses/{application.pk}/").content.decode()
    assert "高雄港區再生研究" in page and "研究計畫：" in page and "送出申請" in page
    response = client.post(f"/theses/{application.pk}/transitions/submit/", follow=True)
    assert "已送出申請，研考會將進行資格審查。" in response.content.decode()
    application.refresh_from_db()
    assert application.status == "submitted"


def test_a_refused_file_saves_nothing_and_keeps_what_was_typed(client, call):
    client.force_login(make_applicant("wu"))
    fake = pdf()
    fake.file.write(b"")
    bad = type(fake)("plan.pdf", b"GIF89a not a pdf", content_type="application/pdf")
    response = client.post(
        "/theses/new/", {"call": call.pk, "kind": "subsidy", "title": "我打的題目", "abstract": "摘要", "file": bad}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "只接受 PDF、DOCX 或 ODT 格式的檔案" in page and 'value="我打的題目"' in page
    assert not ThesisApplication.objects.exists()


def test_others_applications_are_404_and_call_pages_403_for_applicants(client, call):
    owner, other = make_applicant("own"), make_applicant("other")
    application = sent_application(call, owner)
    client.force_login(other)
    assert client.get(f"/theses/{application.pk}/").status_code == 404
    assert client.post(f"/theses/{application.pk}/transitions/withdraw/").status_code == 404
    assert client.get(f"/theses/calls/{call.pk}/").status_code == 403
    assert "高雄輕軌轉乘行為研究" not in client.get("/theses/").content.decode()


def test_rdec_screens_runs_the_call_and_sees_results(client, call, officer):
    apps = [sent_application(call, make_applicant(f"p{n}"), title=f"題目{n}") for n in range(2)]
    client.force_login(officer)
    page = client.get(f"/theses/{apps[0].pk}/").content.decode()
    assert "資格符合" in page and "退回補件" in page
    for app in apps:
        client.post(f"/theses/{app.pk}/transitions/accept_eligibility/")
    # Irreversible: each asks first, saying what will happen (from the data), and runs once confirmed.
    question = client.post(f"/theses/calls/{call.pk}/transitions/start_review/").content.decode()
    assert "申請截止日 民國115年12月31日 還沒到" in question
    assert "2 件資格符合的申請將交由各類別審查委員評分" in question
    response = client.post(f"/theses/calls/{call.pk}/transitions/start_review/", CONFIRMED, follow=True)
    assert response.content.decode().count("已截止收件，委員開始評分。") == 1
    score_everything(call, {apps[0].pk: 95, apps[1].pk: 30})
    question = client.post(f"/theses/calls/{call.pk}/transitions/decide/").content.decode()
    assert "至多 2 件獲補助或獲獎，金額合計至多 6萬元" in question
    response = client.post(f"/theses/calls/{call.pk}/transitions/decide/", CONFIRMED, follow=True)
    page = response.content.decode()
    assert "已確定獎補助名單。" in page and "data-results" in page
    assert "獲補助／獲獎" in page and "未獲選" in page


def test_reviewers_of_a_double_blind_call_see_the_work_not_the_person(client, call, officer):
    student = make_applicant("secret", university="國立高雄大學")
    application = services.application_create(
        actor=student, call_id=call.pk, kind="subsidy", title="高雄輕軌轉乘行為研究", abstract="摘要"
    )
    document = services.document_add(
        actor=student, application_id=application.pk, role="plan", upload=pdf("secret_研究計畫_國立高雄大學.pdf")
    )
    services.application_submit(actor=student, application_id=application.pk)
    services.application_screen(actor=officer, application_id=application.pk, eligible=True)
    services.call_start_review(call_id=call.pk, actor=officer)
    reviewer = call.tracks.get(kind="subsidy", degree="master").panel.members.first().user
    client.force_login(reviewer)
    page = client.get(f"/theses/{application.pk}/").content.decode()
    assert "高雄輕軌轉乘行為研究" in page
    assert "國立高雄大學" not in page and "secret" not in page
    assert "研究計畫.pdf" in page
    download = client.get(f"/theses/{application.pk}/documents/{document.pk}/")
    assert download.status_code == 200 and "secret" not in download["Content-Disposition"]
    assert "filename*=utf-8''%E7%A0%94%E7%A9%B6%E8%A8%88%E7%95%AB.pdf" in download["Content-Disposition"]
    client.force_login(student)  # the applicant sees their own file's name
    assert "secret_研究計畫_國立高雄大學.pdf" in client.get(f"/theses/{application.pk}/").content.decode()


def test_list_queries_do_not_grow_with_rows(client, call, officer, django_assert_max_num_queries):
    sent_application(call, make_applicant("one"))
    client.force_login(officer)
    client.get("/theses/")
    with django_assert_max_num_queries(20) as few:
        client.get("/theses/")
    for n in range(6):
        sent_application(call, make_applicant(f"many{n}"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/theses/").status_code == 200


def test_an_awarded_thesis_is_forwarded_and_the_agency_answers_on_the_review_engines_page(client, call, officer):
    from accounts.tests.factories import AgencyFactory, UserFactory

    application = sent_application(
        call, make_applicant("award"), kind="award", title="高雄港灣觀光研究", defence_date=datetime.date(2026, 6, 1)
    )
    services.application_screen(actor=officer, application_id=application.pk, eligible=True)
    services.call_start_review(call_id=call.pk, actor=officer)
    score_everything(call, {application.pk: 90})
    services.call_decide(call_id=call.pk, actor=officer)
    tourism, other = AgencyFactory(code="TOUR", name="觀光局"), AgencyFactory(code="OTH", name="其他局")
    clerk = UserFactory(roles=[Role.AGENCY_CLERK], agency=tourism)
    outsider = UserFactory(roles=[Role.AGENCY_CLERK], agency=other)

    client.force_login(officer)
    page = client.get(f"/theses/{application.pk}/").content.decode()
    assert "函送機關參採" in page and "觀光局" in page
    response = client.post(f"/theses/{application.pk}/transitions/forward/", {"agencies": [tourism.pk]}, follow=True)
    assert "已函送相關機關參採。" in response.content.decode()
    adoption = application.adoptions.get()

    client.force_login(outsider)
    assert client.get(f"/theses/adoptions/{adoption.pk}/").status_code == 404
    assert client.get(f"/theses/{application.pk}/").status_code == 404
    client.force_login(clerk)
    assert "高雄港灣觀光研究" in client.get(f"/theses/{application.pk}/").content.decode()  # what they are asked about
    page = client.get(f"/theses/adoptions/{adoption.pk}/").content.decode()
    assert "回復是否參採" in page and f'href="/theses/{application.pk}/"' in page
    response = client.post(
        f"/theses/adoptions/{adoption.pk}/", {"response": "partial", "reason": "納入明年觀光行銷"}, follow=True
    )
    assert "已回復參採意見。" in response.content.decode()
    application.refresh_from_db()
    assert application.status == "closed"  # the last answer closes it


def test_a_supervisor_deciding_while_panels_score_is_told_to_wait_for_the_officer(call, officer, make_user):
    application = sent_application(call, make_applicant("sup"))
    services.application_screen(actor=officer, application_id=application.pk, eligible=True)
    services.call_start_review(call_id=call.pk, actor=officer)
    with pytest.raises(services.TransitionNotAllowed) as error:
        services.call_decide(call_id=call.pk, actor=make_user(Role.RDEC_SUPERVISOR))
    assert error.value.code == "scoring_open"


def test_each_page_says_what_comes_next_and_amounts_read_in_wan(client, call, officer):
    student = make_applicant("next")
    application = sent_application(call, student)
    detail = f"/theses/{application.pk}/"
    client.force_login(student)
    assert "已送研考會，待資格審查" in client.get(detail).content.decode()
    client.force_login(officer)
    page = client.get(f"/theses/calls/{call.pk}/").content.decode()
    assert "尚有 1 件待資格審查，完成後才能截止收件並開始審查。" in page
    assert "3萬元" in page and "5萬元" in page  # the tracks' amounts
    assert f'href="/reviews/panels/{call.tracks.first().panel_id}/"' in page  # to set up its reviewers
    services.application_screen(actor=officer, application_id=application.pk, eligible=True)
    services.call_start_review(call_id=call.pk, actor=officer)
    assert "委員評分中：0／3 份評分表已送出" in client.get(f"/theses/calls/{call.pk}/").content.decode()
    score_everything(call, {application.pk: 90})
    services.call_decide(call_id=call.pk, actor=officer)
    client.force_login(student)
    page = client.get(detail).content.decode()
    assert "獲補助 3萬元：請於 民國116年6月30日 前繳交論文完稿" in page
    assert "<dd data-amount>3萬元</dd>" in page


def test_cancelling_a_subsidy_asks_first_with_its_amount_and_keeps_the_reason(client, call, officer):
    student = make_applicant("cancel")
    application = sent_application(call, student)
    services.application_screen(actor=officer, application_id=application.pk, eligible=True)
    services.call_start_review(call_id=call.pk, actor=officer)
    score_everything(call, {application.pk: 90})
    services.call_decide(call_id=call.pk, actor=officer)
    client.force_login(officer)
    url = f"/theses/{application.pk}/transitions/cancel/"
    page = client.post(url, {"reason": "未依規定繳交完稿"}).content.decode()
    assert "將撤銷「高雄輕軌轉乘行為研究」的補助 3萬元" in page and "此動作完成後不能復原。" in page
    assert "未依規定繳交完稿</textarea>" in page
    application.refresh_from_db()
    assert application.status == ThesisApplication.Status.APPROVED
    response = client.post(url, {"reason": "未依規定繳交完稿", **CONFIRMED}, follow=True)
    assert response.content.decode().count("已撤銷補助。") == 1
    application.refresh_from_db()
    assert application.status == ThesisApplication.Status.CANCELLED


def test_an_applicant_withdrawing_is_asked_first(client, call):
    student = make_applicant("withdraw")
    application = sent_application(call, student)
    client.force_login(student)
    url = f"/theses/{application.pk}/transitions/withdraw/"
    page = client.post(url).content.decode()
    assert "撤回後這份申請不能再送出。申請截止日 民國115年12月31日 前可以重新申請。" in page
    client.post(url, CONFIRMED)
    application.refresh_from_db()
    assert application.status == ThesisApplication.Status.WITHDRAWN


def call_form(**overrides) -> dict:
    data = {
        "year": "116",
        "title": "",
        "application_deadline": "116/03/31",
        "review_deadline": "116/05/31",
        "final_due_date": "116/12/31",
        "double_blind": "on",
        "retention_days": "365",
        "min_members": "3",
        "min_external": "0",
        "subsidy_master_quota": "5",
        "subsidy_master_amount": "30,000",
        "subsidy_master_min_score": "70",
        "award_doctor_quota": "1",
        "award_doctor_amount": "５０，０００",
        "award_doctor_min_score": "75",
        "subsidy_rubric_source": "",
        "award_rubric_source": "",
    }
    for kind in ("subsidy", "award"):
        data.update(
            {
                f"{kind}_criteria-TOTAL_FORMS": "3",
                f"{kind}_criteria-INITIAL_FORMS": "0",
                f"{kind}_criteria-MIN_NUM_FORMS": "0",
                f"{kind}_criteria-MAX_NUM_FORMS": "20",
                f"{kind}_criteria-0-name": "與市政之關聯",
                f"{kind}_criteria-0-weight": "50",
                f"{kind}_criteria-0-max_score": "100",
                f"{kind}_criteria-1-name": "研究品質",
                f"{kind}_criteria-1-weight": "50",
                f"{kind}_criteria-1-max_score": "100",
            }
        )
    data.update(overrides)
    return data


def test_an_officer_creates_a_call_with_amounts_typed_as_people_write_them(client, officer):
    from theses.models import ThesisCall

    client.force_login(officer)
    assert "新增獎補助年度" in client.get("/theses/").content.decode()
    page = client.get("/theses/calls/new/").content.decode()
    assert "data-money" in page and "碩士論文撰寫補助每名金額" in page

    refused = client.post("/theses/calls/new/", call_form(subsidy_master_amount="三萬", final_due_date="116/04/01"))
    body = refused.content.decode()
    assert refused.status_code == 200
    assert "請輸入新臺幣金額" in body and 'value="三萬"' in body and 'value="116/03/31"' in body
    assert not ThesisCall.objects.filter(year=116).exists()
    body = client.post("/theses/calls/new/", call_form(final_due_date="116/04/01")).content.decode()
    assert "完稿繳交期限不得早於評分截止日。" in body and 'value="30,000"' in body

    response = client.post("/theses/calls/new/", call_form(), follow=True)
    created = ThesisCall.objects.get(year=116)
    assert response.redirect_chain[-1][0] == f"/theses/calls/{created.pk}/"
    assert response.content.decode().count("已新增「116年度學位論文獎補助」") == 1
    tracks = {(t.kind, t.degree): (t.quota, t.amount) for t in created.tracks.all()}
    assert tracks == {("subsidy", "master"): (5, 30000), ("award", "doctor"): (1, 50000)}
    assert created.application_deadline == datetime.date(2027, 3, 31)
    assert "3萬元" in response.content.decode() and "5萬元" in response.content.decode()


def test_a_new_call_copies_the_latest_calls_rubrics_and_tracks(client, call, officer):
    from theses.models import ThesisCall

    client.force_login(officer)
    page = client.get("/theses/calls/new/").content.decode()
    assert "沿用「115年度學位論文獎補助」的評分表" in page
    assert 'value="30,000"' in page  # the latest call's amounts, as a start
    data = call_form(subsidy_rubric_source=str(call.pk), award_rubric_source=str(call.pk))
    data.update({"subsidy_criteria-0-name": "", "award_criteria-0-weight": "x"})  # ignored: copied
    assert client.post("/theses/calls/new/", data).status_code == 302
    created = ThesisCall.objects.get(year=116)
    copied = [c.name for c in created.tracks.get(kind="subsidy", degree="master").panel.rubric.criteria.all()]
    assert copied == [c.name for c in call.tracks.get(kind="subsidy", degree="master").panel.rubric.criteria.all()]


def test_only_rdec_officers_create_calls(client, make_user):
    from theses.models import ThesisCall

    for user in (make_applicant("nope"), make_user(Role.AGENCY_CLERK), make_user(Role.REVIEWER, agency=None)):
        client.force_login(user)
        assert "新增獎補助年度" not in client.get("/theses/").content.decode()
        assert client.get("/theses/calls/new/").status_code == 403
        assert client.post("/theses/calls/new/", call_form()).status_code == 403
    assert not ThesisCall.objects.exists()


def test_the_settings_page_changes_a_planned_calls_dates_amounts_and_quotas(client, officer):
    planned = make_call(officer, year=116)
    client.force_login(officer)
    page = client.get(f"/theses/calls/{planned.pk}/").content.decode()
    assert f"/theses/calls/{planned.pk}/edit/" in page
    page = client.get(f"/theses/calls/{planned.pk}/edit/").content.decode()
    assert 'value="30,000"' in page and 'value="115/12/31"' in page and "評分表" not in page
    data = call_form(
        year="999",  # the year stays
        title="116年度學位論文獎補助（修正）",
        application_deadline="116/01/15",
        subsidy_master_amount="35,000",
        subsidy_master_quota="4",
        subsidy_doctor_quota="2",
        subsidy_doctor_amount="50,000",
        award_master_quota="2",
        award_master_amount="20,000",
        award_doctor_quota="2",
        award_doctor_amount="40,000",
        award_doctor_min_score="80",
    )
    response = client.post(f"/theses/calls/{planned.pk}/edit/", data, follow=True)
    assert response.content.decode().count("已儲存本年度設定。") == 1
    planned.refresh_from_db()
    assert (planned.year, planned.title) == (116, "116年度學位論文獎補助（修正）")
    assert planned.application_deadline == datetime.date(2027, 1, 15)
    track = planned.tracks.get(kind="subsidy", degree="master")
    assert (track.quota, track.amount) == (4, 35000)
    assert [(b.quota_count, b.min_score) for b in track.panel.bands.all()] == [(4, 70)]
    assert track.panel.title == "116年度學位論文獎補助（修正）碩士論文撰寫補助審查會"
    assert planned.tracks.get(kind="award", degree="doctor").panel.bands.get().min_score == 80

    # A typed amount that is not money keeps the page as typed.
    body = client.post(f"/theses/calls/{planned.pk}/edit/", {**data, "subsidy_master_amount": "35,000.5"}).content
    assert 'value="35,000.5"' in body.decode() and "請輸入新臺幣金額" in body.decode()

    services.call_open(call_id=planned.pk, actor=officer)
    response = client.get(f"/theses/calls/{planned.pk}/edit/", follow=True)
    assert "本年度已開始受理申請，不能再修改設定。" in response.content.decode()
    with pytest.raises(services.TransitionNotAllowed) as refused:
        services.call_update(call_id=planned.pk, actor=officer, title="太晚了")
    assert refused.value.code == "call_not_configurable"


def test_applicants_cannot_change_a_calls_settings(client, officer):
    planned = make_call(officer, year=116)
    student = make_applicant("edit")
    client.force_login(student)
    assert client.get(f"/theses/calls/{planned.pk}/edit/").status_code == 403
    assert client.post(f"/theses/calls/{planned.pk}/edit/", call_form()).status_code == 403
    with pytest.raises(services.PermissionDenied):
        services.call_update(call_id=planned.pk, actor=student, title="改名")
