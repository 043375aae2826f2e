"""Who may do what with proposals. Agency predicates compare the object's agency with the user's."""

import rules

from accounts.roles import Role, is_rdec_staff, user_roles


def _role_in_agency(user, agency_id, *roles_wanted) -> bool:
    return agency_id is not None and user.agency_id == agency_id and bool(set(roles_wanted) & user_roles(user))


@rules.predicate
def runs_rounds(user) -> bool:
    return bool({Role.RDEC_OFFICER, Role.ADMIN} & user_roles(user))


@rules.predicate
def finalises_rounds(user) -> bool:
    return is_rdec_staff(user)


@rules.predicate
def drafts_for_agency(user, proposal) -> bool:
    return proposal is not None and _role_in_agency(user, proposal.agency_id, Role.AGENCY_CLERK)


@rules.predicate
def heads_agency(user, proposal) -> bool:
    return proposal is not None and _role_in_agency(user, proposal.agency_id, Role.AGENCY_HEAD)


rules.add_perm("proposals.run_round", runs_rounds)
rules.add_perm("proposals.finalise_round", finalises_rounds)
rules.add_perm("proposals.draft_proposal", drafts_for_agency)
rules.add_perm("proposals.sign_off_proposal", heads_agency)
