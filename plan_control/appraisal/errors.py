"""Error codes of the year-end appraisal: the stable `code` of every refusal its services and pages raise (the
API's 409/400 bodies)."""

from enum import StrEnum


class Code(StrEnum):
    NOT_SELF_ASSESSMENT = "not_self_assessment"  # a plan self-assessed while the round is not in self-assessment
    NOT_REVIEW = "not_review"  # a plan reviewed while the round is not in RDEC's review
    UNREVIEWED = "unreviewed"  # the round finalised while a plan still lacks its review score
    BAD_YEAR = "bad_year"  # a summary or list asked for a year that is not one
