"""Error codes of theses: the stable `code` of every refusal its services and API raise (the API's 409 bodies)."""

from enum import StrEnum


class Code(StrEnum):
    CALL_NOT_OPEN = "call_not_open"  # applying, editing or submitting while the call takes no applications
    CALL_NOT_REVIEWING = "call_not_reviewing"  # screening or deciding outside the call's review stage
    NOT_EDITABLE = "not_editable"  # an application edited or given a document once it has been sent
    UNSCREENED_APPLICATIONS = "unscreened_applications"  # review started while submitted applications await screening
    NOT_VERIFIED = "not_verified"  # an applicant whose e-mail address is not verified yet
    NO_PROFILE = "no_profile"  # an applicant who has not filled in their profile
    RESULTS_NOT_AVAILABLE = "results_not_available"  # a call's results asked for before it is decided
    SCORING_OPEN = "scoring_open"  # a call decided by someone who may not end its panels' scoring
    CALL_NOT_CONFIGURABLE = "call_not_configurable"  # a call's settings changed once it has opened
