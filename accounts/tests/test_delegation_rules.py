"""Issue 12 item 1: who may be named acting substitute, through the API like a client."""

import datetime

import pytest
import time_machine

from accounts.models import Delegation
from accounts.roles import Role
from accounts.tests.factories import AgencyFactory
from workflow_site.models import TransitionLog

pytestmark = pytest.mark.django_db

# 2026-11-26 09:00 in Asia/Taipei is still 2026-11-26 01:00 UTC; "today" is the Taipei date.
NOW = datetime.datetime(2026, 11, 26, 1, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def agency():
    return AgencyFactory()


@pytest.fixture
def clerk(make_user, agency):
    return make_user(Role.AGENCY_CLERK, agency=agency)


def post(api_client, actor, user, substitute, *, starts="2026-11-26", ends="2026-11-30", reason="病假"):
    api_client.force_authenticate(actor)
    return api_client.post(
        "/api/v1/delegations/",
        {"user": user.pk, "substitute": substitute.pk, "starts": starts, "ends": ends, "reason": reason},
    )


def create_logs():
    return TransitionLog.objects.filter(transition="create", content_type__model="delegation")


def test_same_agency_clerk_is_granted_and_logged(api_client, make_user, clerk, agency):
    colleague = make_user(Role.AGENCY_CLERK, agency=agency)
    response = post(api_client, clerk, clerk, colleague)
    assert response.status_code == 201, response.json()
    delegation = Delegation.objects.get(pk=response.json()["id"])
    assert (delegation.user, delegation.substitute, delegation.created_by) == (clerk, colleague, clerk)
    log = create_logs().get(object_id=delegation.pk)
    assert (log.source, log.target, log.actor, log.reason) == ("", "in_force", clerk, "病假")


def test_head_may_stand_in_for_a_clerk_and_a_clerk_for_the_head(api_client, make_user, clerk, agency):
    head = make_user(Role.AGENCY_HEAD, agency=agency)
    assert post(api_client, clerk, clerk, head).status_code == 201
    assert post(api_client, head, head, clerk).status_code == 201


def test_other_agencys_clerk_is_refused(api_client, make_user, clerk):
    stranger = make_user(Role.AGENCY_CLERK, agency=AgencyFactory())
    response = post(api_client, clerk, clerk, stranger)
    assert response.status_code == 400
    assert response.json()["substitute"] == ["代理人必須與請假人同一機關。"]
    assert not Delegation.objects.exists()
    assert not create_logs().exists()


def test_backdated_start_is_refused(api_client, make_user, clerk, agency):
    colleague = make_user(Role.AGENCY_CLERK, agency=agency)
    response = post(api_client, clerk, clerk, colleague, starts="2026-11-25")
    assert response.status_code == 400
    assert response.json()["starts"] == ["代理起日不得早於今日。"]
    assert not Delegation.objects.exists()


def test_backdated_is_judged_by_the_taipei_date(api_client, make_user, clerk, agency):
    """At 2026-11-25 17:00 UTC it is already the 26th in Taipei: the 25th is in the past."""
    colleague = make_user(Role.AGENCY_CLERK, agency=agency)
    with time_machine.travel(datetime.datetime(2026, 11, 25, 17, 0, tzinfo=datetime.UTC), tick=False):
        response = post(api_client, clerk, clerk, colleague, starts="2026-11-25")
    assert response.status_code == 400
    assert "starts" in response.json()


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.APPLICANT, Role.RDEC_OFFICER])
def test_a_role_that_cannot_do_the_work_is_refused(api_client, make_user, clerk, agency, role):
    outsider_role = make_user(role, agency=agency)
    response = post(api_client, clerk, clerk, outsider_role)
    assert response.status_code == 400
    assert "代理人的角色無法執行請假人的業務。" in response.json()["substitute"]
    assert not Delegation.objects.exists()


def test_rdec_officer_substitute_must_be_rdec_staff(api_client, make_user):
    officer = make_user(Role.RDEC_OFFICER)
    supervisor = make_user(Role.RDEC_SUPERVISOR, agency=AgencyFactory())
    assert post(api_client, officer, officer, supervisor).status_code == 201
    agency_clerk = make_user(Role.AGENCY_CLERK, agency=officer.agency)
    response = post(api_client, officer, officer, agency_clerk)
    assert response.status_code == 400
    assert "代理人的角色無法執行請假人的業務。" in response.json()["substitute"]


def test_a_reviewer_judging_the_agency_is_refused(api_client, make_user, clerk, agency):
    from reviews.tests.factories import items_sync, member_add, panel_create

    judge = make_user(Role.AGENCY_CLERK, Role.REVIEWER, agency=agency)
    panel = panel_create()
    member_add(panel, user=judge, kind="internal")
    items_sync(panel, [agency, AgencyFactory()])
    response = post(api_client, clerk, clerk, judge)
    assert response.status_code == 400
    assert response.json()["substitute"] == ["代理人為審查該機關之評審委員，不得擔任職務代理人。"]
    assert not Delegation.objects.exists()


def test_a_reviewer_on_a_panel_judging_other_agencies_only_may_stand_in(api_client, make_user, clerk, agency):
    from reviews.tests.factories import items_sync, member_add, panel_create

    judge = make_user(Role.AGENCY_CLERK, Role.REVIEWER, agency=agency)
    panel = panel_create()
    member_add(panel, user=judge, kind="internal")
    items_sync(panel, 2)
    assert post(api_client, clerk, clerk, judge).status_code == 201


def test_supervisor_cross_agency_with_reason_is_granted(api_client, make_user, clerk):
    supervisor = make_user(Role.RDEC_SUPERVISOR)
    stranger = make_user(Role.AGENCY_CLERK, agency=AgencyFactory())
    response = post(api_client, supervisor, clerk, stranger, reason="機關人力不足，經研考會核定跨機關代理")
    assert response.status_code == 201, response.json()
    log = create_logs().get(object_id=response.json()["id"])
    assert (log.actor, log.reason) == (supervisor, "機關人力不足，經研考會核定跨機關代理")


def test_supervisor_cross_agency_without_reason_is_refused(api_client, make_user, clerk):
    supervisor = make_user(Role.RDEC_SUPERVISOR)
    stranger = make_user(Role.AGENCY_CLERK, agency=AgencyFactory())
    for reason in ("", "   "):
        response = post(api_client, supervisor, clerk, stranger, reason=reason)
        assert response.status_code == 400
        assert "reason" in response.json()
    assert not Delegation.objects.exists()


def test_supervisor_cross_agency_still_needs_a_role_that_does_the_work(api_client, make_user, clerk):
    supervisor = make_user(Role.RDEC_SUPERVISOR)
    applicant = make_user(Role.APPLICANT, agency=AgencyFactory())
    response = post(api_client, supervisor, clerk, applicant, reason="跨機關代理")
    assert response.status_code == 400
    assert "代理人的角色無法執行請假人的業務。" in response.json()["substitute"]


def test_admin_cannot_name_a_cross_agency_substitute(api_client, make_user, clerk):
    admin = make_user(Role.ADMIN)
    stranger = make_user(Role.AGENCY_CLERK, agency=AgencyFactory())
    response = post(api_client, admin, clerk, stranger, reason="跨機關代理")
    assert response.status_code == 400
    assert response.json()["substitute"] == ["代理人必須與請假人同一機關。"]


def test_a_reviewer_has_no_substitute(api_client, make_user, agency):
    reviewer = make_user(Role.REVIEWER, agency=agency)
    clerk = make_user(Role.AGENCY_CLERK, agency=agency)
    response = post(api_client, reviewer, reviewer, clerk)
    assert response.status_code == 400
    assert response.json()["user"] == ["此使用者的角色不得指定職務代理人。"]


def test_someone_elses_clerk_may_not_create_at_all(api_client, make_user, clerk, agency):
    other_clerk = make_user(Role.AGENCY_CLERK, agency=agency)
    officer = make_user(Role.RDEC_OFFICER)
    for actor in (other_clerk, officer):
        assert post(api_client, actor, clerk, other_clerk).status_code == 403
    assert not Delegation.objects.exists()


def test_revoke_is_logged(api_client, make_user, clerk, agency):
    colleague = make_user(Role.AGENCY_CLERK, agency=agency)
    created = post(api_client, clerk, clerk, colleague).json()
    assert api_client.post(f"/api/v1/delegations/{created['id']}/revoke/", {"reason": "提前返回"}).status_code == 200
    log = TransitionLog.objects.get(transition="revoke", object_id=created["id"], content_type__model="delegation")
    assert (log.source, log.target, log.actor, log.reason) == ("in_force", "revoked", clerk, "提前返回")


def test_admin_form_applies_the_same_rules(client, make_user, clerk, agency):
    admin_user = make_user(Role.ADMIN, is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    stranger = make_user(Role.AGENCY_CLERK, agency=AgencyFactory())
    form = {"user": clerk.pk, "starts": "2026-11-26", "ends": "2026-11-30", "reason": "病假"}
    refused = client.post("/admin/accounts/delegation/add/", {**form, "substitute": stranger.pk})
    assert refused.status_code == 200
    assert "代理人必須與請假人同一機關。" in refused.content.decode()
    assert not Delegation.objects.exists()
    colleague = make_user(Role.AGENCY_CLERK, agency=agency)
    granted = client.post("/admin/accounts/delegation/add/", {**form, "substitute": colleague.pk})
    assert granted.status_code == 302
    delegation = Delegation.objects.get()
    assert create_logs().get(object_id=delegation.pk).actor == admin_user


def notices_to(user):
    from notifications.models import Notification

    return Notification.objects.filter(recipient=user, purpose="notice").order_by("channel")


def test_principal_and_substitute_are_told_in_the_system_and_by_email(
    api_client, make_user, clerk, agency, django_capture_on_commit_callbacks
):
    clerk.email, clerk.display_name = "clerk@tb.gov.tw", "王承辦"
    clerk.save()
    colleague = make_user(Role.AGENCY_CLERK, agency=agency, display_name="李代理", email="li@tb.gov.tw")
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(api_client, clerk, clerk, colleague, reason="婚假")
    assert response.status_code == 201, response.json()
    assert len(callbacks) == 1  # one send task for both notices' e-mails, after the commit

    to_substitute = notices_to(colleague)
    assert [(n.channel, n.state) for n in to_substitute] == [("email", "pending"), ("in_app", "sent")]
    mail = to_substitute[0]
    assert mail.to_address == "li@tb.gov.tw"
    assert mail.subject == "【職務代理】李代理 將於 民國115年11月26日 至 民國115年11月30日 代理 王承辦 的職務"
    assert "王承辦 指定您於 民國115年11月26日 至 民國115年11月30日 代理 王承辦 的職務（事由：婚假）" in mail.body
    assert mail.body.startswith("李代理 您好：")
    to_principal = notices_to(clerk)
    assert [n.channel for n in to_principal] == ["email", "in_app"]
    assert "指定 李代理 於 民國115年11月26日 至 民國115年11月30日 代理您的職務" in to_principal[0].body


def test_a_refused_delegation_tells_nobody(api_client, make_user, clerk):
    stranger = make_user(Role.AGENCY_CLERK, agency=AgencyFactory(), email="x@other.gov.tw")
    assert post(api_client, clerk, clerk, stranger).status_code == 400
    assert not notices_to(stranger).exists() and not notices_to(clerk).exists()


def test_revoking_tells_both(api_client, make_user, clerk, agency):
    colleague = make_user(Role.AGENCY_CLERK, agency=agency)
    delegation_id = post(api_client, clerk, clerk, colleague).json()["id"]
    response = api_client.post(f"/api/v1/delegations/{delegation_id}/revoke/", {"reason": "提前銷假"})
    assert response.status_code == 200, response.json()
    for user in (clerk, colleague):
        assert notices_to(user).filter(subject__endswith="已撤銷", channel="in_app").count() == 1


def test_an_rdec_supervisor_sees_and_ends_the_cross_agency_delegation_they_made(api_client, make_user, clerk):
    supervisor = make_user(Role.RDEC_SUPERVISOR)
    outsider = make_user(Role.AGENCY_CLERK, agency=AgencyFactory())
    delegation_id = post(api_client, supervisor, clerk, outsider, reason="跨機關支援").json()["id"]
    assert api_client.get(f"/api/v1/delegations/{delegation_id}/").status_code == 200
    response = api_client.post(f"/api/v1/delegations/{delegation_id}/revoke/", {"reason": "支援結束"})
    assert response.status_code == 200, response.json()
    assert Delegation.objects.get(pk=delegation_id).status == "revoked"
