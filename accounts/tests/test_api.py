import datetime

import pytest
import time_machine

from accounts.models import Agency, User
from accounts.roles import Role
from accounts.tests.factories import PASSWORD, AgencyFactory, DelegationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_token_auth_round_trip(api_client):
    user = UserFactory()
    response = api_client.post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = api_client.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["username"] == user.username


def test_token_refused_for_a_wrong_password(api_client):
    user = UserFactory()
    response = api_client.post("/api/v1/auth/token/", {"username": user.username, "password": "nope"})
    assert response.status_code == 400
    assert "無法使用提供的認證資訊登入" in str(response.json())


def test_anonymous_gets_401(api_client):
    assert api_client.get("/api/v1/agencies/").status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert api_client.get("/api/v1/me/").status_code == 401


def test_agencies_readable_by_everyone_signed_in_writable_by_admin_only(api_client, make_user):
    AgencyFactory(code="PWB", name="高雄市政府工務局")
    api_client.force_authenticate(make_user(Role.AGENCY_CLERK))
    listing = api_client.get("/api/v1/agencies/")
    assert listing.status_code == 200
    assert {"id", "code", "name", "name_en", "kind", "parent"} <= set(listing.json()["results"][0])
    denied = api_client.post("/api/v1/agencies/", {"code": "X", "name": "X", "kind": "bureau"})
    assert denied.status_code == 403

    api_client.force_authenticate(make_user(Role.ADMIN))
    created = api_client.post(
        "/api/v1/agencies/", {"code": "QZD", "name": "高雄市前鎮區公所", "kind": "district_office"}
    )
    assert created.status_code == 201, created.json()
    assert Agency.objects.get(code="QZD").kind == "district_office"


def test_users_api_is_admin_only(api_client, make_user):
    api_client.force_authenticate(make_user(Role.RDEC_SUPERVISOR))
    assert api_client.get("/api/v1/users/").status_code == 403
    assert api_client.post("/api/v1/users/", {"username": "x"}).status_code == 403


def test_superuser_creates_users_with_roles(api_client):
    api_client.force_authenticate(UserFactory(is_superuser=True, is_staff=True))
    agency = AgencyFactory()
    response = api_client.post(
        "/api/v1/users/",
        {
            "username": "tb.clerk",
            "password": "Correct-horse-2026",
            "email": "tb.clerk@example.gov.tw",
            "display_name": "交通局承辦",
            "agency": agency.pk,
            "roles": [Role.AGENCY_CLERK, Role.REVIEWER],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert "password" not in body
    assert body["roles"] == [Role.AGENCY_CLERK, Role.REVIEWER]
    assert User.objects.get(username="tb.clerk").check_password("Correct-horse-2026")


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"roles": ["mayor"]}, "roles", "不是有效的選項"),
        ({"username": "taken"}, "username", "已經存在"),
        ({"agency": 999999}, "agency", "不存在"),
        ({"password": "12345678"}, "password", "密碼"),
    ],
)
def test_users_api_validation_errors_name_the_field(api_client, make_user, payload, field, message):
    UserFactory(username="taken")
    api_client.force_authenticate(make_user(Role.ADMIN))
    data = {"username": "newbie", "password": "Correct-horse-2026", "roles": [Role.AGENCY_CLERK], **payload}
    response = api_client.post("/api/v1/users/", data, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert message in str(response.json()[field])
    assert not User.objects.filter(username="newbie").exists()


def test_user_update_changes_roles(api_client, make_user):
    api_client.force_authenticate(make_user(Role.ADMIN))
    user = make_user(Role.AGENCY_CLERK)
    response = api_client.patch(f"/api/v1/users/{user.pk}/", {"roles": [Role.AGENCY_HEAD]}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["roles"] == [Role.AGENCY_HEAD]


def test_user_list_query_count_does_not_grow(api_client, make_user, django_assert_max_num_queries):
    api_client.force_authenticate(make_user(Role.ADMIN))
    for _ in range(3):
        make_user(Role.AGENCY_CLERK, Role.REVIEWER)
    with django_assert_max_num_queries(6) as few:
        api_client.get("/api/v1/users/")
    for _ in range(30):
        make_user(Role.AGENCY_CLERK, Role.REVIEWER)
    with django_assert_max_num_queries(len(few)):
        response = api_client.get("/api/v1/users/")
    assert response.json()["count"] == 34


def test_agency_list_query_count_does_not_grow(api_client, make_user, django_assert_max_num_queries):
    api_client.force_authenticate(make_user(Role.AGENCY_CLERK))
    parent = AgencyFactory()
    AgencyFactory.create_batch(2, parent=parent)
    with django_assert_max_num_queries(5) as few:
        api_client.get("/api/v1/agencies/")
    AgencyFactory.create_batch(40, parent=parent)
    with django_assert_max_num_queries(len(few)):
        api_client.get("/api/v1/agencies/")


@time_machine.travel(datetime.datetime(2026, 11, 26, 2, 0, tzinfo=datetime.UTC), tick=False)
def test_delegation_api_revoke_then_409_and_others_see_404(api_client, make_user):
    delegation = DelegationFactory()
    api_client.force_authenticate(make_user(Role.AGENCY_CLERK))
    assert api_client.post(f"/api/v1/delegations/{delegation.pk}/revoke/").status_code == 404

    api_client.force_authenticate(delegation.user)
    ok = api_client.post(f"/api/v1/delegations/{delegation.pk}/revoke/", {"reason": "提前返回"})
    assert ok.status_code == 200
    assert ok.json()["status"] == "revoked"
    again = api_client.post(f"/api/v1/delegations/{delegation.pk}/revoke/")
    assert again.status_code == 409
    assert again.json()["code"] == "transition_not_allowed"
    assert "已撤銷" in again.json()["detail"]

    # The substitute sees a delegation that is not yet in force but holds no right to revoke it.
    api_client.force_authenticate(delegation.substitute)
    fresh = DelegationFactory(
        user=delegation.user,
        substitute=delegation.substitute,
        starts=datetime.date(2027, 1, 4),
        ends=datetime.date(2027, 1, 8),
    )
    assert api_client.post(f"/api/v1/delegations/{fresh.pk}/revoke/").status_code == 403


@time_machine.travel(datetime.datetime(2026, 11, 26, 1, 0, tzinfo=datetime.UTC), tick=False)
def test_delegation_api_accepts_roc_dates(api_client, make_user):
    user = make_user(Role.AGENCY_CLERK)
    substitute = make_user(Role.AGENCY_CLERK, agency=user.agency)
    api_client.force_authenticate(user)
    response = api_client.post(
        "/api/v1/delegations/",
        {
            "user": user.pk,
            "substitute": substitute.pk,
            "starts": "115/12/01",
            "ends": "民國115年12月3日",
            "reason": "出差",
        },
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["starts"], response.json()["ends"]) == ("2026-12-01", "2026-12-03")
    bad = api_client.post(
        "/api/v1/delegations/",
        {"user": user.pk, "substitute": substitute.pk, "starts": "115/02/30", "ends": "115/13/01", "reason": "x"},
    )
    assert bad.status_code == 400
    assert "沒有30日" in str(bad.json()["starts"])
    assert "ends" in bad.json()


def test_me_lists_roles_and_whom_i_stand_in_for(api_client):
    delegation = DelegationFactory(starts=datetime.date(2000, 1, 1), ends=datetime.date(2100, 1, 1))
    api_client.force_authenticate(delegation.substitute)
    body = api_client.get("/api/v1/me/").json()
    assert body["acting_for"] == [{"id": delegation.user.pk, "display": str(delegation.user)}]


def test_openapi_schema_and_docs_page(api_client):
    schema = api_client.get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    for path in ("/api/v1/auth/token/", "/api/v1/agencies/", "/api/v1/users/", "/api/v1/me/"):
        assert path in text
    docs = api_client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()
