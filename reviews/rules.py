"""Who may do what on a panel or an adoption question. Checked by django-fsm transitions through
`user.has_perm(perm, obj)`."""

import rules

from accounts.roles import Role, is_rdec_staff, user_roles


@rules.predicate
def runs_panels(user) -> bool:
    return bool({Role.RDEC_OFFICER, Role.ADMIN} & user_roles(user))


@rules.predicate
def finalises_panels(user) -> bool:
    return is_rdec_staff(user)


@rules.predicate
def owns_sheet(user, sheet) -> bool:
    return sheet is not None and sheet.member.user_id == user.pk and sheet.panel.status == "scoring"


@rules.predicate
def chairs_sheets_panel(user, sheet) -> bool:
    return sheet is not None and any(m.user_id == user.pk and m.is_chair for m in sheet.panel.members.all())


@rules.predicate
def answers_for_agency(user, adoption) -> bool:
    return (
        adoption is not None
        and getattr(user, "agency_id", None) == adoption.agency_id
        and bool({Role.AGENCY_CLERK, Role.AGENCY_HEAD} & user_roles(user))
    )


rules.add_perm("reviews.run_panel", runs_panels)
rules.add_perm("reviews.finalise_panel", finalises_panels)
rules.add_perm("reviews.score_sheet", owns_sheet)
rules.add_perm("reviews.chair_panel", chairs_sheets_panel)
# RDEC officers send an awarded subject to agencies for adoption (the same people who run the panels).
rules.add_perm("reviews.request_adoption", runs_panels)
rules.add_perm("reviews.answer_adoption", answers_for_agency)
