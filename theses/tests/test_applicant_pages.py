"""The applicant's own pages: registering at /applicants/ (the same answer whether the address is known, refusals on
the fields with what was typed kept, the API's allowance per address), verifying, and the profile page that must be
filled in before the first application."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.test import override_settings

from accounts.models import User
from accounts.roles import Role
from theses.models import ApplicantProfile
from theses.tests.factories import make_applicant

pytestmark = pytest.mark.django_db

GOOD = {
    "display_name": "陳同學",
    "username": "chen.grad",
    "email": "chen@example.edu.tw",
    "password": "Kaohsiung-port-2026",
    "password_again": "Kaohsiung-port-2026",
}


@pytest.fixture(autouse=True)
def fresh_allowance():
    cache.clear()
    yield
    cache.clear()


def test_registering_sends_the_link_and_verifying_activates_the_account(client, django_capture_on_commit_callbacks):
    page = client.get("/applicants/").content.decode()
    assert "學位論文獎補助申請人註冊" in page and "身分證字號" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/applicants/", GOOD)
    assert response.status_code == 200 and "驗證信已寄出" in response.content.decode()
    user = User.objects.get(username="chen.grad")
    assert not user.is_active and Role.APPLICANT in set(user.groups.values_list("name", flat=True))
    token = re.search(r"token=(\S+)", mail.outbox[0].body).group(1)

    landing = client.get(f"/applicants/verify/?token={token}")
    assert landing.status_code == 200 and "完成驗證" in landing.content.decode()
    user.refresh_from_db()
    assert not user.is_active  # opening the link activates nothing; the button does
    done = client.post("/applicants/verify/", {"token": token})
    assert "已完成驗證" in done.content.decode()
    user.refresh_from_db()
    assert user.is_active and user.applicant_profile.email_verified_at is not None


def test_a_known_address_gets_the_same_answer_and_no_second_account(client, django_capture_on_commit_callbacks):
    User.objects.filter(pk=make_applicant("old.grad").pk).update(email="chen@example.edu.tw")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/applicants/", GOOD)
    assert response.status_code == 200 and "驗證信已寄出" in response.content.decode()
    assert not User.objects.filter(username="chen.grad").exists()
    assert "old.grad" in mail.outbox[0].body


@pytest.mark.parametrize(
    ("change", "field_message"),
    [
        ({"password_again": "something-else-2026"}, "兩次輸入的密碼不同。"),
        ({"password": "123", "password_again": "123"}, "密碼"),
        ({"email": "not-an-address"}, "有效的電子郵件"),
    ],
)
def test_refusals_land_on_the_fields_keep_what_was_typed_and_save_nothing(client, change, field_message):
    response = client.post("/applicants/", {**GOOD, **change})
    page = response.content.decode()
    assert response.status_code == 400 and field_message in page
    assert 'value="chen.grad"' in page and 'value="陳同學"' in page  # kept
    assert "Kaohsiung-port-2026" not in page  # passwords are never sent back
    assert not User.objects.filter(username="chen.grad").exists() and not mail.outbox


def test_a_taken_username_is_named_on_its_field(client, make_user):
    make_user(Role.AGENCY_CLERK, username="chen.grad")
    response = client.post("/applicants/", GOOD)
    assert response.status_code == 400 and "chen.grad" in response.content.decode()
    assert User.objects.filter(username="chen.grad").count() == 1 and not mail.outbox


def test_the_page_shares_the_apis_allowance_per_address(client):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth_token": "2/minute"}
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        assert client.post("/api/v1/applicants/register/", {**GOOD, "username": "a1"}).status_code == 202
        assert client.post("/applicants/", {**GOOD, "username": "a2"}).status_code == 200
        refused = client.post("/applicants/", {**GOOD, "username": "a3"})
        assert refused.status_code == 429 and "嘗試次數過多" in refused.content.decode()
        assert client.post("/applicants/verify/", {"token": "x"}).status_code == 429
    assert not User.objects.filter(username="a3").exists()


def test_the_profile_is_asked_for_before_applying_and_saved_through_the_service(client):
    student = make_applicant("lin")
    ApplicantProfile.objects.filter(user=student).update(university="", department="", advisor="")
    client.force_login(student)
    listing = client.get("/theses/").content.decode()
    assert "申請前請先填寫申請人資料" in listing and "/theses/profile/" in listing

    refused = client.post("/theses/profile/", {"university": "國立高雄大學", "department": "", "degree": "doctor"})
    page = refused.content.decode()
    assert refused.status_code == 200 and "國立高雄大學" in page and "此欄位為必填。" in page
    saved = client.post(
        "/theses/profile/",
        {
            "university": "國立高雄大學",
            "department": "都市發展與建築研究所",
            "degree": "doctor",
            "advisor": "林教授",
            "expected_date": "2027-06-30",
        },
    )
    assert saved.status_code == 302 and saved["Location"] == "/theses/"
    profile = ApplicantProfile.objects.get(user=student)
    assert (profile.university, profile.degree, str(profile.expected_date)) == ("國立高雄大學", "doctor", "2027-06-30")
    assert "申請前請先填寫申請人資料" not in client.get("/theses/").content.decode()


def test_only_applicants_have_a_profile_page(client, make_user):
    client.force_login(make_user(Role.RDEC_OFFICER))
    assert client.get("/theses/profile/").status_code == 403
    assert client.post("/theses/profile/", {"university": "x"}).status_code == 403
    client.logout()
    assert client.get("/theses/profile/").status_code == 302  # to the sign-in page
