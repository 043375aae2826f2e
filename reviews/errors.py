"""Error codes of reviews: the stable `code` of every refusal its services and API raise (the API's 409 bodies)."""

from enum import StrEnum


class Code(StrEnum):
    DUPLICATE_MEMBER = "duplicate_member"  # the user already sits on the panel
    PANEL_COMPOSITION = "panel_composition"  # scoring cannot start: too few members, external members, or no chair
    OWN_AGENCY_RECUSAL = "own_agency_recusal"  # the chair cannot reinstate a member on their own agency's item
    DUPLICATE_SHEET = "duplicate_sheet"  # a reassignment to a member who already holds a sheet for the item
    UNRESOLVED_TIES = "unresolved_ties"  # finalising while ties across a quota boundary await the chair's order
    PANEL_NOT_CLOSED = "panel_not_closed"  # scores or a preview asked for while the panel still scores
    PANEL_NOT_FINALISED = "panel_not_finalised"  # final results asked for before the panel is finalised
    ADOPTION_ALREADY_REQUESTED = "adoption_already_requested"  # an agency asked again whether it adopts a subject
