"""Error codes of the pre-budget review: the stable `code` of every refusal its services raise (the API's 409 and
403 bodies). Bad input is a 400 by field (a Django ValidationError), not a code here."""

from enum import StrEnum


class Code(StrEnum):
    CYCLE_NOT_COLLECTING = "cycle_not_collecting"  # a request sent or signed off while the cycle takes none
    CYCLE_NOT_REVIEWING = "cycle_not_reviewing"  # a recommendation recorded outside the cycle's review stage
    CYCLE_NOT_BALANCING = "cycle_not_balancing"  # a decision made outside the cycle's balancing stage
    CYCLE_LOCKED = "cycle_locked"  # an approved or closed cycle's settings changed
    NOT_EDITABLE = "not_editable"  # a request edited or given a document once it has left the agency
    REQUESTS_IN_REVIEW = "requests_in_review"  # balancing started while requests still lack a recommendation
    UNDECIDED_REQUESTS = "undecided_requests"  # a cycle approved while a request still awaits its decision
    PLAN_CODE_TAKEN = "plan_code_taken"  # an approved request's controlled-plan code already used that year
    MEETING_HELD = "meeting_held"  # a held meeting's agenda changed
