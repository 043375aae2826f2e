"""Every API list refuses a filter value it does not understand instead of answering the unfiltered list."""

import pytest

from accounts.roles import Role
from accounts.tests.factories import AgencyFactory


@pytest.fixture
def admin_client(api_client, make_user):
    api_client.force_authenticate(make_user(Role.ADMIN))
    return api_client


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/agencies/?active=bogus", "/api/v1/users/?is_active=maybe"])
def test_a_boolean_it_does_not_understand_is_a_400_naming_the_parameter(admin_client, url):
    response = admin_client.get(url)

    assert response.status_code == 400
    assert set(response.json()) == {url.split("?")[1].split("=")[0]}


@pytest.mark.django_db
def test_true_and_false_still_filter(admin_client):
    AgencyFactory(code="ON", active=True)
    AgencyFactory(code="OFF", active=False)

    active = {row["code"] for row in admin_client.get("/api/v1/agencies/?active=true").json()["results"]}
    inactive = {row["code"] for row in admin_client.get("/api/v1/agencies/?active=0").json()["results"]}

    assert "ON" in active and "OFF" not in active
    assert inactive == {"OFF"}
