"""Error codes of the monthly monitoring: the stable `code` of every refusal its services and pages raise (the
API's 409/400 bodies)."""

from enum import StrEnum


class Code(StrEnum):
    DUPLICATE_CODE = "duplicate_code"  # an import whose plan code a concurrent import took first
    PLAN_NOT_IN_EXECUTION = "plan_not_in_execution"  # a report slot opened for a plan not in execution
    DUPLICATE_REPORT = "duplicate_report"  # a second report slot for the same plan and month
    REPORT_LOCKED = "report_locked"  # a report's figures changed once it is submitted or accepted
    BAD_MONTH = "bad_month"  # a board or export asked for a year or month that is not one
