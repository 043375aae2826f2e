"""Error codes of proposals: the stable `code` of every refusal its services and API raise (the API's 409 bodies)."""

from enum import StrEnum


class Code(StrEnum):
    ROUND_NOT_OPEN = "round_not_open"  # a proposal drafted or sent for sign-off while the round takes none
    NOT_DRAFT = "not_draft"  # a proposal edited or given an attachment once it has left its draft
    ROUND_NOT_SCREENING = "round_not_screening"  # a proposal screened while the round is not at written screening
    UNSCREENED_PROPOSALS = "unscreened_proposals"  # scoring started while sent proposals still await screening
    GRADE_NOT_FORWARDED = "grade_not_forwarded"  # a proposal forwarded whose grade the round does not forward
    NOT_FINALISED = "not_finalised"  # the results published before they are finalised
    RESULTS_NOT_AVAILABLE = "results_not_available"  # results or their download asked for before they may be read
    SCREENING_STARTED = "screening_started"  # submissions reopened once a proposal has been screened
    ROUND_NOT_CONFIGURABLE = "round_not_configurable"  # a round's settings changed once submissions have closed
