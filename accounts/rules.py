"""Permission predicates (django-rules). Object permissions are checked with `user.has_perm(perm, obj)`."""

import rules

from .roles import Role, user_roles


def has_role(role: str) -> rules.Predicate:
    @rules.predicate(name=f"has_role:{role}")
    def predicate(user) -> bool:
        return role in user_roles(user)

    return predicate


is_admin = has_role(Role.ADMIN)
is_agency_head = has_role(Role.AGENCY_HEAD)
is_rdec_officer = has_role(Role.RDEC_OFFICER)
is_rdec_supervisor = has_role(Role.RDEC_SUPERVISOR)
is_rdec_staff = is_rdec_officer | is_rdec_supervisor


@rules.predicate
def is_delegation_principal(user, delegation) -> bool:
    return delegation is not None and delegation.user_id == user.pk


@rules.predicate
def heads_delegators_agency(user, delegation) -> bool:
    """The head of the absent user's agency oversees who stands in for their staff."""
    return (
        delegation is not None
        and user.agency_id is not None
        and delegation.user.agency_id == user.agency_id
        and Role.AGENCY_HEAD in user_roles(user)
    )


rules.add_perm("accounts.manage_users", is_admin)
rules.add_perm("accounts.manage_agencies", is_admin)
# RDEC supervisors oversee every delegation: they may name a substitute across agencies, so they may also end one.
rules.add_perm(
    "accounts.revoke_delegation", is_admin | is_rdec_supervisor | is_delegation_principal | heads_delegators_agency
)
# The working-day calendar (typhoon closures, the official office calendar) is RDEC's to keep: the model permissions
# the calendar's services, pages and admin check.
for _action in ("view", "add", "change", "delete"):
    rules.add_perm(f"roc_calendar.{_action}_calendaroverride", is_admin | is_rdec_staff)
# The agency directory is public knowledge inside the government: every signed-in user may read it.
rules.add_perm("accounts.view_agency", rules.is_authenticated)
