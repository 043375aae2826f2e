"""A notice sent from a page links to the host and port the page was served on, when SITE_URL is not set."""

import pytest
from django.test import override_settings

from accounts.roles import Role
from accounts.tests.factories import AgencyFactory, UserFactory
from notifications.models import Notification
from proposals import services as proposal_services
from proposals.tests.factories import make_round

pytestmark = pytest.mark.django_db


@override_settings(SITE_URL="", ALLOWED_HOSTS=["127.0.0.1", "testserver"])
def test_the_heads_e_mail_links_back_to_where_the_clerk_submitted(
    client, make_user, django_capture_on_commit_callbacks
):
    officer = make_user(Role.RDEC_OFFICER)
    round_ = make_round(officer, members=1)
    proposal_services.round_open(round_id=round_.pk, actor=officer)
    agency = AgencyFactory(code="TB", name="交通局")
    clerk = UserFactory(roles=[Role.AGENCY_CLERK], agency=agency)
    UserFactory(roles=[Role.AGENCY_HEAD], agency=agency, email="head@tb.gov.tw")
    proposal = proposal_services.proposal_create(actor=clerk, round_id=round_.pk, title="公車動態", summary="即時到站")
    client.force_login(clerk)

    with django_capture_on_commit_callbacks():
        response = client.post(f"/proposals/{proposal.pk}/transitions/submit/", HTTP_HOST="127.0.0.1:8123")
    assert response.status_code == 302

    email = Notification.objects.get(purpose="notice", channel="email", to_address="head@tb.gov.tw")
    assert f"http://127.0.0.1:8123/proposals/{proposal.pk}/" in email.body
