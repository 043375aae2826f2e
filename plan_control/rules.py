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
