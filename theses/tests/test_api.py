"""The theses API driven like a client: an applicant registers, verifies, applies and uploads; RDEC screens, runs the
call and reads the results; reviewers score blind through the reviews API. Then the denials and the bad input."""

import datetime
import json
import re

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from reviews.models import ScoreSheet
from theses import services
from theses.models import ApplicantProfile, ThesisApplication, ThesisCall, ThesisDocument
from theses.tests.factories import PDF, RUBRIC, make_applicant, make_call, pdf, sent_application

pytestmark = pytest.mark.django_db

User = get_user_model()
# 2026-12-04 10:00 in Asia/Taipei: a call with its deadline on 2026-12-31 is open.
NOW = datetime.datetime(2026, 12, 4, 2, 0, tzinfo=datetime.UTC)
S = ThesisApplication.Status
CALLS, APPLICATIONS = "/api/v1/thesis-calls/", "/api/v1/thesis-applications/"
REGISTER, VERIFY, PROFILE = "/api/v1/applicants/register/", "/api/v1/applicants/verify/", "/api/v1/applicants/me/"
NEW_PASSWORD = "Kaohsiung-harbour-2026"


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def officer(make_user):
    return make_user(Role.RDEC_OFFICER, username="api.officer")


@pytest.fixture
def call(officer):
    call = make_call(officer, year=115, members=2, quota=1)
    services.call_open(call_id=call.pk, actor=officer)
    return call


def as_user(api_client, user):
    api_client.force_authenticate(user)
    return api_client


def call_body(**overrides) -> dict:
    return {
        "year": 116,
        "title": "116年度學位論文獎補助",
        "application_deadline": "115/12/31",
        "review_deadline": "2027-01-31",
        "final_due_date": "2027-06-30",
        "double_blind": True,
        "retention_days": 365,
        "tracks": [
            {"kind": "subsidy", "degree": "master", "quota": 1, "amount": 30000, "min_score": 60},
            {"kind": "award", "degree": "master", "quota": 1, "amount": 20000},
        ],
        "rubrics": {"subsidy": RUBRIC, "award": RUBRIC},
        "min_members": 2,
        **overrides,
    }


def upload(name="plan.pdf", content=PDF, role="plan") -> dict:
    return {"role": role, "file": SimpleUploadedFile(name, content, content_type="application/pdf")}


def register(api_client, username="lin.student", email="lin@example.edu.tw", password=NEW_PASSWORD, **extra):
    body = {"username": username, "email": email, "password": password, "display_name": "林同學", **extra}
    return api_client.post(REGISTER, body, format="json")


def mailed_token(message) -> str:
    return re.search(r"驗證碼：(\S+)", message.body).group(1)


# ---------------------------------------------------------------------------------------------- the journey


def test_register_verify_apply_screen_review_decide_and_final_thesis(
    api_client, officer, django_capture_on_commit_callbacks
):
    staff = as_user(api_client, officer)
    response = staff.post(CALLS, call_body(), format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert [(t["kind"], t["degree"], t["quota"], t["amount"]) for t in created["tracks"]] == [
        ("award", "master", 1, 20000),
        ("subsidy", "master", 1, 30000),
    ]
    assert [c["code"] for c in created["rubrics"]["subsidy"]] == ["relevance", "quality"]
    call_id = created["id"]
    reviewers = [UserFactory(roles=[Role.REVIEWER], agency=None, username=f"api.reviewer{n}") for n in range(2)]
    for n, reviewer in enumerate(reviewers):
        body = {"kind": "subsidy", "user": reviewer.pk, "member_kind": "external", "chair": n == 0}
        response = staff.post(f"{CALLS}{call_id}/members/", body, format="json")
        assert (response.status_code, response.json()["panels"]) == (201, 1)
    assert staff.post(f"{CALLS}{call_id}/open/").json()["status"] == "open"
    staff.force_authenticate(None)

    # Registration: an inactive account and a mail with the token; signing in works only once verified.
    with django_capture_on_commit_callbacks(execute=True):
        response = register(api_client)
    assert response.status_code == 202, response.content
    student = User.objects.get(username="lin.student")
    assert (student.is_active, sorted(student.groups.values_list("name", flat=True))) == (False, ["applicant"])
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["lin@example.edu.tw"]
    token = mailed_token(mail.outbox[0])
    assert f"/applicants/verify/?token={token}" in mail.outbox[0].body
    signin = {"username": "lin.student", "password": NEW_PASSWORD}
    assert api_client.post("/api/v1/auth/token/", signin, format="json").status_code == 400
    response = api_client.post(VERIFY, {"token": token}, format="json")
    assert (response.status_code, response.json()["username"]) == (200, "lin.student")
    assert api_client.post(VERIFY, {"token": token}, format="json").status_code == 400  # once only
    key = api_client.post("/api/v1/auth/token/", signin, format="json").json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    # The profile first: before it, applying is refused with its code.
    assert api_client.get(PROFILE).json()["university"] == ""
    draft = {
        "call": call_id,
        "kind": "subsidy",
        "title": "高雄港區轉型研究",
        "abstract": "港區再生",
        "publish_name": "",
    }
    response = api_client.post(APPLICATIONS, draft, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "no_profile")
    profile = {
        "university": "國立中山大學",
        "department": "公共事務管理研究所",
        "degree": "master",
        "advisor": "陳教授",
    }
    response = api_client.put(PROFILE, {**profile, "expected_date": "116/06/30"}, format="json")
    assert (response.status_code, response.json()["expected_date"]) == (200, "2027-06-30")
    assert response.json()["email_verified_at"] is not None

    response = api_client.post(APPLICATIONS, draft, format="json")
    assert response.status_code == 201, response.content
    mine = response.json()
    assert (mine["status"], mine["degree"], mine["university"], mine["applicant_name"]) == (
        "draft",
        "master",
        "國立中山大學",
        "林同學",
    )
    response = api_client.patch(f"{APPLICATIONS}{mine['id']}/", {"title": "高雄港區轉型與都市再生"}, format="json")
    assert response.json()["title"] == "高雄港區轉型與都市再生"
    response = api_client.post(
        f"{APPLICATIONS}{mine['id']}/documents/", upload("研究計畫_林同學.pdf"), format="multipart"
    )
    assert (response.status_code, response.json()["format"]) == (201, "pdf")
    response = api_client.post(f"{APPLICATIONS}{mine['id']}/submit/")
    assert response.json()["status"] == "submitted"
    detail = api_client.get(f"{APPLICATIONS}{mine['id']}/").json()
    assert [(d["role"], d["name"]) for d in detail["documents"]] == [("plan", "研究計畫_林同學.pdf")]

    # A second applicant in the same track; RDEC screens both and starts the review.
    rival = make_applicant("rival")
    theirs = sent_application(ThesisCall.objects.get(pk=call_id), rival, title="輕軌轉乘研究")
    api_client.credentials()
    staff = as_user(api_client, officer)
    for pk in (mine["id"], theirs.pk):
        assert (
            staff.post(f"{APPLICATIONS}{pk}/screen/", {"eligible": True}, format="json").json()["status"] == "eligible"
        )
    assert staff.post(f"{CALLS}{call_id}/start-review/").json()["status"] == "reviewing"
    response = staff.get(f"{CALLS}{call_id}/results/")
    assert (response.status_code, response.json()["code"]) == (409, "results_not_available")

    # Each reviewer reads the applications blind and scores them through the reviews API.
    for reviewer, points in zip(
        reviewers, ({mine["id"]: 90, theirs.pk: 70}, {mine["id"]: 80, theirs.pk: 75}), strict=True
    ):
        client = as_user(api_client, reviewer)
        seen = client.get(APPLICATIONS).json()["results"]
        assert sorted(a["id"] for a in seen) == sorted([mine["id"], theirs.pk])
        text = json.dumps(client.get(f"{APPLICATIONS}{mine['id']}/").json(), ensure_ascii=False)
        for secret in ("lin.student", "林同學", "國立中山大學", "公共事務管理研究所", "陳教授"):
            assert secret not in text
        assert "高雄港區轉型與都市再生" in text
        for sheet in client.get("/api/v1/score-sheets/").json()["results"]:
            subject = ScoreSheet.objects.get(pk=sheet["id"]).item.subject_id
            assert not any(secret in json.dumps(sheet, ensure_ascii=False) for secret in ("林同學", "國立中山大學"))
            value = points[subject]
            body = {"scores": {"relevance": value, "quality": value}}
            assert client.post(f"/api/v1/score-sheets/{sheet['id']}/submit/", body, format="json").status_code == 200

    staff = as_user(api_client, officer)
    assert staff.post(f"{CALLS}{call_id}/decide/").json()["status"] == "decided"
    results = {(t["kind"], t["degree"]): t for t in staff.get(f"{CALLS}{call_id}/results/").json()}
    ranked = results[("subsidy", "master")]["applications"]
    assert [(r["application"], r["rank"], r["status"], r["amount"], r["score"]) for r in ranked] == [
        (mine["id"], 1, "approved", 30000, "85.00"),
        (theirs.pk, 2, "rejected", None, "72.50"),
    ]
    assert results[("award", "master")]["applications"] == []
    for fmt, magic in (("ods", b"PK"), ("xlsx", b"PK")):
        response = staff.get(f"{CALLS}{call_id}/results/", {"format": fmt})
        assert response.status_code == 200
        assert response.content.startswith(magic)
        assert f"thesis-results-116.{fmt}" in response["Content-Disposition"]
    assert staff.get(f"{CALLS}{call_id}/results/", {"format": "csv"}).json()["code"] == "unknown_format"

    # The winner hands the final thesis in; RDEC accepts it.
    winner = as_user(api_client, User.objects.get(username="lin.student"))
    final = {"file": SimpleUploadedFile("完稿.pdf", PDF, content_type="application/pdf")}
    response = winner.post(f"{APPLICATIONS}{mine['id']}/submit-final/", final, format="multipart")
    assert response.json()["status"] == "final_submitted"
    staff = as_user(api_client, officer)
    assert staff.post(f"{APPLICATIONS}{mine['id']}/accept-final/").json()["status"] == "accepted"
    assert ThesisDocument.objects.filter(application_id=mine["id"], role="final").count() == 1


# ---------------------------------------------------------------------------------------------- denials


def test_another_applicants_application_is_not_found_for_reading_and_writing(api_client, call):
    owner, other = make_applicant("owner"), make_applicant("other")
    draft = services.application_create(actor=owner, call_id=call.pk, kind="subsidy", title="草稿", abstract="x")
    client = as_user(api_client, other)
    url = f"{APPLICATIONS}{draft.pk}/"
    assert client.get(url).status_code == 404
    assert client.patch(url, {"title": "改"}, format="json").status_code == 404
    assert client.post(f"{url}submit/").status_code == 404
    assert client.post(f"{url}withdraw/", {}, format="json").status_code == 404
    assert client.post(f"{url}documents/", upload(), format="multipart").status_code == 404
    assert client.get(APPLICATIONS).json()["results"] == []
    draft.refresh_from_db()
    assert (draft.title, draft.status, draft.documents.count()) == ("草稿", S.DRAFT, 0)


def test_applicants_may_not_screen_decide_or_run_calls(api_client, call, officer):
    student = make_applicant("student")
    application = sent_application(call, student)
    client = as_user(api_client, student)
    response = client.post(f"{APPLICATIONS}{application.pk}/screen/", {"eligible": True}, format="json")
    assert response.status_code == 403
    assert client.post(f"{APPLICATIONS}{application.pk}/return/", {"note": "補件"}, format="json").status_code == 403
    for action in ("start-review", "decide"):
        assert client.post(f"{CALLS}{call.pk}/{action}/").status_code == 403, action
    assert client.post(CALLS, call_body(), format="json").status_code == 403
    assert client.get(f"{CALLS}{call.pk}/results/").status_code == 403
    body = {"kind": "subsidy", "user": student.pk, "member_kind": "external"}
    assert client.post(f"{CALLS}{call.pk}/members/", body, format="json").status_code == 403
    # What the call offers is public to them.
    assert client.get(f"{CALLS}{call.pk}/").json()["tracks"][0]["amount"] == 40000
    application.refresh_from_db()
    assert application.status == S.SUBMITTED
    assert not ThesisCall.objects.filter(year=116).exists()


def test_a_reviewer_of_another_panel_does_not_find_the_application(api_client, officer):
    body = call_body(year=118, application_deadline=datetime.date(2026, 12, 31), min_members=1)
    body["review_deadline"], body["final_due_date"] = datetime.date(2027, 1, 31), datetime.date(2027, 6, 30)
    call = services.call_create(actor=officer, **body)  # each kind's panel gets its own reviewer
    panelists = {}
    for kind in ("subsidy", "award"):
        panelists[kind] = UserFactory(roles=[Role.REVIEWER], agency=None, username=f"panel.{kind}")
        services.call_member_add(
            call_id=call.pk, actor=officer, kind=kind, user_id=panelists[kind].pk, member_kind="external", chair=True
        )
    services.call_open(call_id=call.pk, actor=officer)
    students = [make_applicant(f"s{n}") for n in range(2)]
    subsidy = sent_application(call, students[0])
    award = sent_application(call, students[1], kind="award", defence_date=datetime.date(2026, 6, 1))
    for application in (subsidy, award):
        services.application_screen(actor=officer, application_id=application.pk, eligible=True)
    services.call_start_review(call_id=call.pk, actor=officer)
    on_award = as_user(api_client, panelists["award"])
    assert on_award.get(f"{APPLICATIONS}{subsidy.pk}/").status_code == 404
    assert on_award.post(f"{APPLICATIONS}{subsidy.pk}/withdraw/", {}, format="json").status_code == 404
    assert on_award.get(f"{APPLICATIONS}{award.pk}/").status_code == 200
    assert [a["id"] for a in on_award.get(APPLICATIONS).json()["results"]] == [award.pk]
    stranger = as_user(api_client, UserFactory(roles=[Role.REVIEWER], agency=None, username="outsider"))
    assert stranger.get(f"{APPLICATIONS}{award.pk}/").status_code == 404
    assert stranger.get(APPLICATIONS).json()["results"] == []


def test_anonymous_callers_are_401(api_client, call):
    application = sent_application(call, make_applicant("anon.target"))
    for url in (CALLS, f"{CALLS}{call.pk}/", APPLICATIONS, f"{APPLICATIONS}{application.pk}/", PROFILE):
        assert api_client.get(url).status_code == 401, url
    assert api_client.post(f"{APPLICATIONS}{application.pk}/withdraw/", {}, format="json").status_code == 401
    assert api_client.post(CALLS, call_body(), format="json").status_code == 401


def test_double_blind_hides_who_applied_from_reviewers_only(api_client, officer):
    call = make_call(officer, year=117, members=2, double_blind=False)
    services.call_open(call_id=call.pk, actor=officer)
    student = make_applicant("open.student", advisor="黃教授")
    application = sent_application(call, student, publish_name="王小明")
    services.application_screen(actor=officer, application_id=application.pk, eligible=True)
    services.call_start_review(call_id=call.pk, actor=officer)
    reviewer = ScoreSheet.objects.filter(item__subject_id=application.pk).first().member.user
    seen = as_user(api_client, reviewer).get(f"{APPLICATIONS}{application.pk}/").json()
    assert (seen["advisor"], seen["publish_name"], seen["applicant_name"]) == ("黃教授", "王小明", "open.student 同學")
    ThesisCall.objects.filter(pk=call.pk).update(double_blind=True)
    seen = as_user(api_client, reviewer).get(f"{APPLICATIONS}{application.pk}/").json()
    hidden = ("applicant", "applicant_name", "university", "department", "advisor", "publish_name")
    assert {key: seen[key] for key in hidden} == dict.fromkeys(hidden)
    assert [d["name"] for d in seen["documents"]] == ["研究計畫.pdf"]
    for viewer in (officer, student):
        assert as_user(api_client, viewer).get(f"{APPLICATIONS}{application.pk}/").json()["advisor"] == "黃教授"


def test_profile_is_for_applicants_only(api_client, officer):
    client = as_user(api_client, officer)
    assert client.get(PROFILE).status_code == 403
    body = {"university": "x", "department": "y", "degree": "master", "advisor": "z"}
    assert client.put(PROFILE, body, format="json").status_code == 403
    assert not ApplicantProfile.objects.exists()


# ---------------------------------------------------------------------------------------------- bad input


def test_wrong_or_oversized_files_are_400_and_nothing_is_saved(api_client, call):
    student = make_applicant("files")
    draft = services.application_create(actor=student, call_id=call.pk, kind="subsidy", title="t", abstract="a")
    client = as_user(api_client, student)
    url = f"{APPLICATIONS}{draft.pk}/documents/"
    response = client.post(url, upload("plan.pdf", b"MZ\x90\x00 an executable"), format="multipart")
    assert response.status_code == 400
    assert response.json() == {"file": ["只接受 PDF、DOCX 或 ODT 格式的檔案（依檔案內容判斷）。"]}
    huge = PDF + b"0" * (20 * 1024 * 1024)
    response = client.post(url, upload("big.pdf", huge), format="multipart")
    assert (response.status_code, list(response.json())) == (400, ["file"])
    assert "20 MB" in response.json()["file"][0]
    response = client.post(url, upload(role="final"), format="multipart")
    assert (response.status_code, list(response.json())) == (400, ["role"])
    response = client.post(f"{APPLICATIONS}{draft.pk}/submit/")
    assert response.json() == {"documents": ["請上傳研究計畫。"]}
    assert not ThesisDocument.objects.exists()


def test_bad_applications_are_400_by_field_and_nothing_is_saved(api_client, call):
    student = make_applicant("bad.input")
    client = as_user(api_client, student)
    award = {"call": call.pk, "kind": "award", "title": "論文", "abstract": "摘要", "defence_date": "2024-12-03"}
    response = client.post(APPLICATIONS, award, format="json")
    assert (response.status_code, list(response.json())) == (400, ["defence_date"])
    assert "最近兩年內" in response.json()["defence_date"][0]
    assert client.post(APPLICATIONS, {**award, "defence_date": "113/12/04"}, format="json").status_code == 201
    response = client.post(APPLICATIONS, {**award, "defence_date": "2026-01-01"}, format="json")
    assert response.json() == {"kind": ["您已申請過本年度的此類別。"]}
    for call_id in (10**30, 2**63, "x"):
        response = client.post(APPLICATIONS, {**award, "call": call_id}, format="json")
        assert (response.status_code, list(response.json())) == (400, ["call"]), call_id
    response = client.post(APPLICATIONS, {**award, "kind": "grant", "title": "x" * 301}, format="json")
    assert (response.status_code, sorted(response.json())) == (400, ["kind", "title"])
    with time_machine.travel(datetime.datetime(2027, 1, 1, 2, 0, tzinfo=datetime.UTC), tick=False):
        response = client.post(APPLICATIONS, {**award, "kind": "subsidy"}, format="json")
    assert response.json() == {"call": ["本年度已截止收件或尚未開放申請。"]}
    assert ThesisApplication.objects.count() == 1


def test_bad_calls_and_huge_numbers_are_400_not_500(api_client, officer):
    client = as_user(api_client, officer)
    huge = call_body(
        year=10**10,
        retention_days=10**9,
        min_members=10**12,
        tracks=[{"kind": "subsidy", "degree": "master", "quota": 10**30, "amount": 10**20, "min_score": 10**6}],
    )
    response = client.post(CALLS, huge, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert {"year", "retention_days", "min_members", "tracks"} <= set(errors)
    assert set(errors["tracks"]["0"]) == {"quota", "amount", "min_score"}
    assert errors["year"] == ["此值不得大於 32767。"]
    response = client.post(CALLS, call_body(rubrics={"subsidy": RUBRIC, "prize": RUBRIC}), format="json")
    assert response.json() == {"rubrics": ["未知的類別：prize"]}
    response = client.post(CALLS, call_body(rubrics={"subsidy": RUBRIC}), format="json")
    assert response.json() == {"rubrics": ["缺少評分表：award"]}
    response = client.post(CALLS, call_body(final_due_date="2027-01-01"), format="json")
    assert list(response.json()) == ["final_due_date"]
    for url in (f"{APPLICATIONS}?call={10**30}", f"{CALLS}?year={10**30}", f"{APPLICATIONS}?status=bogus"):
        assert client.get(url).status_code in (200, 400), url
    assert client.get(f"{CALLS}{10**30}/").status_code == 404
    assert not ThesisCall.objects.exists()


def test_state_refusals_are_409_with_their_code(api_client, call, officer):
    student = make_applicant("states")
    application = sent_application(call, student)
    client = as_user(api_client, student)
    response = client.patch(f"{APPLICATIONS}{application.pk}/", {"title": "改"}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "not_editable")
    response = client.post(f"{APPLICATIONS}{application.pk}/submit/")
    assert (response.status_code, response.json()["code"]) == (409, "transition_not_allowed")
    response = client.post(f"{APPLICATIONS}{application.pk}/submit-final/", {"file": pdf()}, format="multipart")
    assert response.status_code == 409
    staff = as_user(api_client, officer)
    response = staff.post(f"{CALLS}{call.pk}/start-review/")
    assert (response.status_code, response.json()["code"]) == (409, "unscreened_applications")
    assert "尚有 1 件申請未完成資格審查" in response.json()["detail"]
    response = staff.post(f"{APPLICATIONS}{application.pk}/screen/", {"eligible": False, "reason": " "}, format="json")
    assert response.json() == {"reason": ["請說明資格不符的理由。"]}
    assert staff.post(f"{CALLS}{call.pk}/open/").status_code == 409
    application.refresh_from_db()
    assert application.status == S.SUBMITTED


# ---------------------------------------------------------------------------------------------- registration


def test_registration_refuses_a_taken_username_a_bad_address_and_a_weak_password(api_client):
    make_applicant("taken")
    response = register(api_client, username="taken")
    assert (response.status_code, list(response.json())) == (400, ["username"])
    response = register(api_client, username="new.one", password="12345678")
    assert (response.status_code, list(response.json())) == (400, ["password"])
    assert all(re.search(r"[\u4e00-\u9fff]", m) for m in response.json()["password"])  # in Chinese
    response = register(api_client, username="new.one", email="not-an-address")
    assert (response.status_code, list(response.json())) == (400, ["email"])
    response = register(api_client, username="bad name!")
    assert (response.status_code, list(response.json())) == (400, ["username"])
    assert not User.objects.filter(username__in=["new.one", "bad name!"]).exists()
    assert mail.outbox == []


def test_an_address_already_registered_gets_the_same_answer_and_a_reminder_not_an_account(
    api_client, django_capture_on_commit_callbacks
):
    existing = make_applicant("first.account")
    with django_capture_on_commit_callbacks(execute=True):
        fresh = register(api_client, username="second.account", email="someone.new@example.edu.tw")
        again = register(api_client, username="third.account", email=existing.email.upper())
    assert (again.status_code, again.json()) == (fresh.status_code, fresh.json())
    assert not User.objects.filter(username="third.account").exists()
    assert [m.to for m in mail.outbox] == [["someone.new@example.edu.tw"], [existing.email]]
    assert "first.account" in mail.outbox[1].body and "驗證碼" not in mail.outbox[1].body


def test_forged_and_expired_tokens_are_400(api_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        register(api_client)
    token = mailed_token(mail.outbox[0])
    response = api_client.post(VERIFY, {"token": token[:-1] + ("A" if token[-1] != "A" else "B")}, format="json")
    assert response.json() == {"token": ["驗證連結無效。"]}
    with time_machine.travel(NOW + datetime.timedelta(days=2, seconds=1), tick=False):
        response = api_client.post(VERIFY, {"token": token}, format="json")
    assert response.json() == {"token": ["驗證連結已逾期，請重新註冊。"]}
    with override_settings(APPLICANT_VERIFY_SECONDS=60), time_machine.travel(NOW + datetime.timedelta(minutes=2)):
        assert api_client.post(VERIFY, {"token": token}, format="json").status_code == 400
    assert not User.objects.get(username="lin.student").is_active
    with time_machine.travel(NOW + datetime.timedelta(days=1), tick=False):
        assert api_client.post(VERIFY, {"token": token}, format="json").status_code == 200
    assert User.objects.get(username="lin.student").is_active


def test_registration_and_verification_are_throttled_per_address(api_client):
    from django.conf import settings
    from django.core.cache import cache

    cache.clear()
    rates = {"anon": "100/minute", "user": "100/minute", "auth_token": "2/minute"}
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        assert register(api_client, username="a.one", email="a1@example.edu.tw").status_code == 202
        assert api_client.post(VERIFY, {"token": "x"}, format="json").status_code == 400
        response = register(api_client, username="a.two", email="a2@example.edu.tw")
        assert response.status_code == 429
        assert int(response["Retry-After"]) > 0
        # signing in keeps its own count
        assert (
            api_client.post("/api/v1/auth/token/", {"username": "u", "password": "p"}, format="json").status_code == 400
        )
    cache.clear()


# ---------------------------------------------------------------------------------------------- queries


def count_queries(api_client, user, url) -> int:
    """The queries of one GET as `user`, loaded afresh (its roles are read once per user object)."""
    client = as_user(api_client, User.objects.get(pk=user.pk))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("viewer", ["officer", "applicant", "reviewer"])
def test_application_list_takes_as_many_queries_for_one_row_as_for_five(
    api_client, officer, viewer, django_assert_num_queries
):
    call = make_call(officer, year=119, members=1, double_blind=True)
    services.call_open(call_id=call.pk, actor=officer)
    student = make_applicant("q.me", degree="doctor")
    students = [student, *(make_applicant(f"q{n}") for n in range(1, 5))]
    mine = [sent_application(call, student), sent_application(call, student, kind="award", defence_date=NOW.date())]
    others = [sent_application(call, s) for s in students[1:]]
    for application in [*mine, *others]:
        services.application_screen(actor=officer, application_id=application.pk, eligible=True)
    services.call_start_review(call_id=call.pk, actor=officer)
    reviewer = User.objects.get(username="thesis_reviewer119_0")
    who = {"officer": officer, "applicant": student, "reviewer": reviewer}[viewer]
    one = count_queries(api_client, who, f"{APPLICATIONS}?limit=1")
    client = as_user(api_client, User.objects.get(pk=who.pk))
    with django_assert_num_queries(one):
        rows = client.get(f"{APPLICATIONS}?limit=5").json()["results"]
    assert len(rows) == (2 if viewer == "applicant" else 5)


def test_call_list_takes_as_many_queries_for_one_call_as_for_five(api_client, officer, django_assert_num_queries):
    make_call(officer, year=120, members=1)
    one = count_queries(api_client, officer, CALLS)
    for year in range(121, 125):
        make_call(officer, year=year, members=1)
    client = as_user(api_client, User.objects.get(pk=officer.pk))
    with django_assert_num_queries(one):
        assert len(client.get(CALLS).json()["results"]) == 5


def test_the_mailed_link_shows_a_button_and_only_its_post_verifies(
    client, api_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        register(api_client)
    token = mailed_token(mail.outbox[0])
    link = re.search(r"https?://\S+", mail.outbox[0].body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = client.get(f"/{path}")
    assert page.status_code == 200
    assert token in page.content.decode() and "完成驗證" in page.content.decode()
    assert not User.objects.get(username="lin.student").is_active  # a mail scanner opening the link activates nothing
    assert client.post("/applicants/verify/", {"token": "forged"}).status_code == 400
    done = client.post("/applicants/verify/", {"token": token})
    assert done.status_code == 200 and "已完成驗證" in done.content.decode()
    assert User.objects.get(username="lin.student").is_active
