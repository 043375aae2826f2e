import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError

from accounts import services
from accounts.models import Delegation
from accounts.roles import Role, user_roles
from accounts.tests.factories import AgencyFactory, DelegationFactory, UserFactory
from workflow_site.errors import PermissionDenied, TransitionNotAllowed
from workflow_site.models import TransitionLog

pytestmark = pytest.mark.django_db

IN_RANGE = datetime.datetime(2026, 11, 26, 10, 0, tzinfo=datetime.UTC)
AFTER_RANGE = datetime.datetime(2026, 12, 7, 10, 0, tzinfo=datetime.UTC)


def test_user_create_sets_roles_and_refuses_unknown_roles(make_user):
    admin = make_user(Role.ADMIN)
    user = services.user_create(
        actor=admin, username="clerk1", password="Correct-horse-2026", roles=[Role.AGENCY_CLERK]
    )
    assert user_roles(user) == {Role.AGENCY_CLERK}
    with pytest.raises(ValidationError) as exc:
        services.user_create(actor=admin, username="clerk2", password="Correct-horse-2026", roles=["mayor"])
    assert "未知的角色代碼" in str(exc.value.message_dict["roles"])


def test_user_create_refused_for_non_admin(make_user):
    clerk = make_user(Role.AGENCY_CLERK)
    with pytest.raises(PermissionDenied):
        services.user_create(actor=clerk, username="x", password="Correct-horse-2026")


def test_superuser_holds_admin_rights():
    root = UserFactory(is_superuser=True, is_staff=True)
    assert Role.ADMIN in user_roles(root)
    assert root.has_perm("accounts.manage_users")


def test_delegation_dates_are_validated(make_user):
    head = make_user(Role.AGENCY_HEAD)
    with pytest.raises(ValidationError) as exc:
        services.delegation_create(
            actor=head,
            user=head,
            substitute=UserFactory(agency=head.agency),
            starts=datetime.date(2026, 12, 5),
            ends=datetime.date(2026, 12, 1),
            reason="出國",
        )
    assert "代理迄日不得早於起日" in str(exc.value)


def test_only_the_user_their_head_or_an_admin_name_a_substitute(make_user):
    clerk = make_user(Role.AGENCY_CLERK)
    other = make_user(Role.AGENCY_CLERK)
    with pytest.raises(PermissionDenied):
        services.delegation_create(
            actor=other,
            user=clerk,
            substitute=other,
            starts=datetime.date(2026, 12, 1),
            ends=datetime.date(2026, 12, 2),
            reason="病假",
        )


@pytest.fixture
def head_on_leave(make_user):
    """A head of agency on leave with a deputy standing in, and a clerk's delegation in that agency."""
    agency = AgencyFactory()
    head = make_user(Role.AGENCY_HEAD, agency=agency)
    deputy = make_user(Role.AGENCY_CLERK, agency=agency)
    DelegationFactory(user=head, substitute=deputy, starts=datetime.date(2026, 11, 20), ends=datetime.date(2026, 12, 4))
    clerk_delegation = DelegationFactory(user=make_user(Role.AGENCY_CLERK, agency=agency))
    return head, deputy, clerk_delegation


@time_machine.travel(IN_RANGE, tick=False)
def test_substitute_acts_with_the_heads_rights_inside_the_dates_and_the_log_names_both(head_on_leave):
    head, deputy, clerk_delegation = head_on_leave
    services.delegation_revoke(delegation_id=clerk_delegation.pk, actor=deputy, reason="已銷假")
    clerk_delegation.refresh_from_db()
    assert clerk_delegation.status == Delegation.Status.REVOKED
    log = TransitionLog.objects.get(object_id=clerk_delegation.pk, transition="revoke")
    assert (log.actor, log.acting_for, log.source, log.target, log.reason) == (
        deputy,
        head,
        "in_force",
        "revoked",
        "已銷假",
    )


@time_machine.travel(AFTER_RANGE, tick=False)
def test_substitute_rights_end_with_the_delegation(head_on_leave):
    _head, deputy, clerk_delegation = head_on_leave
    with pytest.raises(PermissionDenied):
        services.delegation_revoke(delegation_id=clerk_delegation.pk, actor=deputy)
    clerk_delegation.refresh_from_db()
    assert clerk_delegation.status == Delegation.Status.IN_FORCE
    assert not TransitionLog.objects.filter(object_id=clerk_delegation.pk).exists()


@time_machine.travel(IN_RANGE, tick=False)
def test_revoked_delegation_grants_nothing(head_on_leave):
    head, deputy, clerk_delegation = head_on_leave
    own = Delegation.objects.get(user=head)
    services.delegation_revoke(delegation_id=own.pk, actor=head)
    deputy = type(deputy).objects.get(pk=deputy.pk)  # a fresh request: no cached principals
    with pytest.raises(PermissionDenied):
        services.delegation_revoke(delegation_id=clerk_delegation.pk, actor=deputy)


def test_revoking_twice_is_refused_not_ignored(make_user):
    delegation = DelegationFactory()
    services.delegation_revoke(delegation_id=delegation.pk, actor=delegation.user)
    with pytest.raises(TransitionNotAllowed) as exc:
        services.delegation_revoke(delegation_id=delegation.pk, actor=delegation.user)
    assert exc.value.code == "transition_not_allowed"
    assert "已撤銷" in str(exc.value.message)
    assert TransitionLog.objects.filter(object_id=delegation.pk).count() == 1
