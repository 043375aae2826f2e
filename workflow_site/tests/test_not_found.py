"""An /api/ URL no route matches answers the API's JSON 404 (found by the fuzz run, tests/test_api_fuzz.py): a client
parsing the answer gets JSON whatever the id it sent; the back office keeps Django's page."""

import pytest

from accounts.roles import Role

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url", ["/api/v1/users/2.2e-308/", "/api/v1/panels/9x%C2%9A%60/results/", "/api/v1/no-such-thing/"]
)
def test_an_unrouted_api_url_is_a_json_404(client, make_user, url):
    client.force_login(make_user(Role.RDEC_OFFICER))
    response = client.get(url)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == client.get("/api/v1/proposals/999999/").json()  # as for a missing object


def test_an_unrouted_page_is_still_a_page(client, make_user):
    client.force_login(make_user(Role.RDEC_OFFICER))
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
