"""Plan control's data: the pre-budget review, the monthly monitoring of controlled plans, and the year-end
appraisal."""

from .appraisal import Appraisal, AppraisalGrade, AppraisalRound
from .budget import (
    AmountLedger,
    BudgetCeiling,
    BudgetCycle,
    BudgetDocument,
    BudgetRequest,
    MeetingDecision,
    ReviewMeeting,
    SiteVisit,
    SiteVisitPhoto,
)
from .monitoring import ControlledPlan, ControlYear, MonthlyTally, ProgressReport, planned_progress_problem

__all__ = [
    "AmountLedger",
    "Appraisal",
    "AppraisalGrade",
    "AppraisalRound",
    "BudgetCeiling",
    "BudgetCycle",
    "BudgetDocument",
    "BudgetRequest",
    "ControlYear",
    "ControlledPlan",
    "MeetingDecision",
    "MonthlyTally",
    "ProgressReport",
    "ReviewMeeting",
    "SiteVisit",
    "SiteVisitPhoto",
    "planned_progress_problem",
]
