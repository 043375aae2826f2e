"""Plan control's data: the monthly monitoring of controlled plans, and the year-end appraisal."""

from .appraisal import Appraisal, AppraisalGrade, AppraisalRound
from .monitoring import ControlledPlan, ControlYear, MonthlyTally, ProgressReport, planned_progress_problem

__all__ = [
    "Appraisal",
    "AppraisalGrade",
    "AppraisalRound",
    "ControlYear",
    "ControlledPlan",
    "MonthlyTally",
    "ProgressReport",
    "planned_progress_problem",
]
