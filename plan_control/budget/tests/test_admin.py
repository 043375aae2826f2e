"""The admin shows the pre-budget review and changes none of it: amounts move only through the services."""

import pytest
import time_machine

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from plan_control.budget.tests.factories import NOW, draft, make_cycle
from plan_control.models import AmountLedger
from plan_control.tests.factories import agency_people

pytestmark = pytest.mark.django_db
PAGES = ["budgetcycle", "budgetceiling", "budgetrequest", "reviewmeeting", "sitevisit", "amountledger"]


@pytest.fixture
def admin_client_(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True, username="root"))
    return client


def test_every_budget_page_lists_and_the_ledger_cannot_be_changed(admin_client_, make_user):
    with time_machine.travel(NOW, tick=False):
        cycle = make_cycle(make_user(Role.RDEC_OFFICER))
        _agency, clerk, _head = agency_people("PWB")
        request = draft(clerk, cycle)
    for page in PAGES:
        assert admin_client_.get(f"/admin/plan_control/{page}/").status_code == 200, page
    row = AmountLedger.objects.filter(request=request).first()
    url = f"/admin/plan_control/amountledger/{row.pk}/change/"
    assert admin_client_.post(url, {"to_amount": 1}).status_code == 403
    assert admin_client_.post(f"/admin/plan_control/amountledger/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin_client_.get("/admin/plan_control/amountledger/add/").status_code == 403
    assert AmountLedger.objects.get(pk=row.pk).to_amount == row.to_amount
