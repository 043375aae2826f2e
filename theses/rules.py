"""Who may do what with thesis calls and applications."""

import rules

from accounts.roles import Role, is_rdec_staff, user_roles


@rules.predicate
def runs_calls(user) -> bool:
    return bool({Role.RDEC_OFFICER, Role.ADMIN} & user_roles(user))


@rules.predicate
def decides_calls(user) -> bool:
    return is_rdec_staff(user) or Role.ADMIN in user_roles(user)


@rules.predicate
def owns_application(user, application) -> bool:
    return application is not None and application.applicant_id == user.pk and Role.APPLICANT in user_roles(user)


rules.add_perm("theses.run_call", runs_calls)
rules.add_perm("theses.decide_call", decides_calls)
rules.add_perm("theses.own_application", owns_application)
