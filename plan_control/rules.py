"""Who may do what in plan control."""

import rules

from accounts.roles import AGENCY_STAFF, Role, is_rdec_staff, user_roles


@rules.predicate
def runs_control(user) -> bool:
    return bool({Role.RDEC_OFFICER, Role.ADMIN} & user_roles(user))


@rules.predicate
def reports_for_agency(user, report) -> bool:
    return (
        report is not None
        and user.agency_id is not None
        and report.agency_id == user.agency_id
        and bool(AGENCY_STAFF & user_roles(user))
    )


rules.add_perm("plan_control.run_control", runs_control)
rules.add_perm("plan_control.report_progress", reports_for_agency)


@rules.predicate
def finalises_appraisal(user) -> bool:
    return is_rdec_staff(user)


@rules.predicate
def assesses_for_agency(user, appraisal) -> bool:
    return (
        appraisal is not None
        and user.agency_id is not None
        and appraisal.agency_id == user.agency_id
        and bool(AGENCY_STAFF & user_roles(user))
    )


rules.add_perm("plan_control.finalise_appraisal", finalises_appraisal)
rules.add_perm("plan_control.self_assess", assesses_for_agency)


# ---- the pre-budget review (plan_control.budget) -------------------------------------------------------------


@rules.predicate
def runs_budget(user) -> bool:
    """RDEC's officers run the cycle: open it, return and review requests, schedule meetings, record them."""
    return bool({Role.RDEC_OFFICER, Role.ADMIN} & user_roles(user))


@rules.predicate
def decides_budget(user) -> bool:
    """Amounts are decided by RDEC staff during balancing; going over a ceiling needs `override_budget_ceiling`."""
    return is_rdec_staff(user)


@rules.predicate
def supervises_budget(user) -> bool:
    return bool({Role.RDEC_SUPERVISOR, Role.ADMIN} & user_roles(user))


def _in_request_agency(user, request, role: str) -> bool:
    return (
        request is not None
        and user.agency_id is not None
        and request.agency_id == user.agency_id
        and role in user_roles(user)
    )


@rules.predicate
def drafts_budget_request(user, request) -> bool:
    return _in_request_agency(user, request, Role.AGENCY_CLERK)


@rules.predicate
def signs_off_budget_request(user, request) -> bool:
    return _in_request_agency(user, request, Role.AGENCY_HEAD)


rules.add_perm("plan_control.run_budget", runs_budget)
rules.add_perm("plan_control.decide_budget", decides_budget)
rules.add_perm("plan_control.approve_budget", supervises_budget)
rules.add_perm("plan_control.override_budget_ceiling", supervises_budget)
rules.add_perm("plan_control.draft_budget_request", drafts_budget_request)
rules.add_perm("plan_control.sign_off_budget_request", signs_off_budget_request)
