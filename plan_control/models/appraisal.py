"""年終考核: after the year, every controlled plan is appraised from its twelve monthly reports."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition

from workflow_site.models import StatefulModel
from workflow_site.transitions import refusal

from ..appraisal.errors import Code

SCORE = [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))]
COMPONENTS = ("progress", "timeliness", "completion", "budget")


class AppraisalGrade(models.TextChoices):
    EXCELLENT = "excellent", _("優等")
    A = "a", _("甲等")
    B = "b", _("乙等")
    C = "c", _("丙等")


def _default_weights() -> dict:
    # Documented in plan_control/appraisal/formula.py: each component scores 0-100; the weights sum to 100.
    return {"progress": 40, "timeliness": 20, "completion": 25, "budget": 15}


def _default_bands() -> list[dict]:
    # The bands Taiwanese appraisal rules commonly use: 90 / 80 / 70 / below 70, no quotas by default.
    return [
        {"grade": AppraisalGrade.EXCELLENT, "min_score": 90, "quota_percent": None},
        {"grade": AppraisalGrade.A, "min_score": 80, "quota_percent": None},
        {"grade": AppraisalGrade.B, "min_score": 70, "quota_percent": None},
        {"grade": AppraisalGrade.C, "min_score": 0, "quota_percent": None},
    ]


class AppraisalRound(StatefulModel):
    class Status(models.TextChoices):
        OPEN = "open", _("開始")
        ROLLING_UP = "rolling_up", _("彙整月報中")
        SELF_ASSESSMENT = "self_assessment", _("機關自評")
        REVIEW = "review", _("研考會複核")
        FINALISED = "finalised", _("考核確定")

    year = models.PositiveSmallIntegerField(_("年度（民國）"), unique=True)
    weights = models.JSONField(_("建議分數權重"), default=_default_weights)
    grade_bands = models.JSONField(_("等第"), default=_default_bands)
    status = FSMField(_("狀態"), default=Status.OPEN, choices=Status.choices, protected=True)
    rollup_task_id = models.CharField(_("彙整工作"), max_length=64, blank=True)
    rollup_total = models.PositiveIntegerField(_("應彙整計畫數"), default=0)
    rollup_started_at = models.DateTimeField(_("彙整開始時間"), null=True, blank=True)
    self_assessment_due = models.DateField(_("自評期限"), null=True, blank=True)
    review_due = models.DateField(_("複核期限"), null=True, blank=True)
    finalised_at = models.DateTimeField(_("確定時間"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("年終考核")
        verbose_name_plural = _("年終考核")
        ordering = ["-year"]

    def __str__(self) -> str:
        return f"{self.year}年度年終考核"

    def clean(self) -> None:
        errors = {}
        weights = self.weights
        if not isinstance(weights, dict) or set(weights) != set(COMPONENTS):
            errors["weights"] = [_("權重須包含 progress、timeliness、completion、budget 四項。")]
        else:
            try:
                total = sum(Decimal(str(v)) for v in weights.values())
            except ArithmeticError:
                total = None
            if total != 100 or any(Decimal(str(v)) < 0 for v in weights.values()):
                errors["weights"] = [_("權重須為非負數且合計 100。")]
        bands = self.grade_bands
        grades = [b.get("grade") for b in bands] if isinstance(bands, list) else []
        if grades != [g.value for g in AppraisalGrade]:
            errors["grade_bands"] = [_("等第須依序為 excellent、a、b、c。")]
        else:
            minimums = [Decimal(str(b.get("min_score", 0))) for b in bands]
            if minimums != sorted(minimums, reverse=True) or minimums[-1] != 0:
                errors["grade_bands"] = [_("各等第最低分須遞減，丙等最低分為 0。")]
            for band in bands:
                quota = band.get("quota_percent")
                if quota is not None and not 0 <= Decimal(str(quota)) <= 100:
                    errors["grade_bands"] = [_("名額比例須介於 0 到 100。")]
        if errors:
            raise ValidationError(errors)

    @transition(
        field=status,
        source=[Status.OPEN, Status.ROLLING_UP, Status.SELF_ASSESSMENT],
        target=Status.ROLLING_UP,
        permission="plan_control.run_control",
    )
    def start_rollup(self, *, task_id: str, total: int, at) -> None:
        """The monthly record of every plan is rolled up into suggested scores (Celery); a rerun recomputes the
        same rows (self-assessments are kept)."""
        self.rollup_task_id = task_id
        self.rollup_total = total
        self.rollup_started_at = at

    @transition(field=status, source=Status.ROLLING_UP, target=Status.SELF_ASSESSMENT)
    def finish_rollup(self) -> None:
        """Every plan has its suggested score: the agencies assess themselves."""

    @transition(
        field=status, source=Status.SELF_ASSESSMENT, target=Status.REVIEW, permission="plan_control.run_control"
    )
    def open_review(self) -> None:
        """Self-assessment closes; RDEC reviews."""

    @transition(
        field=status, source=Status.REVIEW, target=Status.FINALISED, permission="plan_control.finalise_appraisal"
    )
    def finalise(self, *, at) -> None:
        """Final scores map to grades; the distribution is fixed."""
        self.finalised_at = at


# The round's stage decides what may happen to its plans' appraisals: stated once here, so the service (a 409 with
# this message and code) and the page (which form it offers) read the same rule.
@refusal(_("目前不在機關自評階段。"), code=Code.NOT_SELF_ASSESSMENT)
def round_in_self_assessment(appraisal) -> bool:
    return appraisal.round.status == AppraisalRound.Status.SELF_ASSESSMENT


@refusal(_("目前不在研考會複核階段。"), code=Code.NOT_REVIEW)
def round_in_review(appraisal) -> bool:
    return appraisal.round.status == AppraisalRound.Status.REVIEW


class Appraisal(StatefulModel):
    """One plan's year-end appraisal."""

    class Status(models.TextChoices):
        SUGGESTED = "suggested", _("建議分數已產生")
        SELF_ASSESSED = "self_assessed", _("機關已自評")
        REVIEWED = "reviewed", _("研考會已複核")
        FINALISED = "finalised", _("已確定")

    # No index of its own: (round, plan) and (round, agency) below both start with it, and the rollup writes every
    # index of this table for every plan.
    round = models.ForeignKey(AppraisalRound, on_delete=models.CASCADE, related_name="appraisals", db_index=False)
    plan = models.ForeignKey("plan_control.ControlledPlan", on_delete=models.PROTECT, related_name="appraisals")
    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    components = models.JSONField(_("評分構面"), default=dict)
    suggested_score = models.DecimalField(_("建議分數"), max_digits=5, decimal_places=2, validators=SCORE)
    self_score = models.DecimalField(
        _("自評分數"), max_digits=5, decimal_places=2, null=True, blank=True, validators=SCORE
    )
    self_assessment = models.TextField(_("自評說明"), blank=True)
    review_score = models.DecimalField(
        _("複核分數"), max_digits=5, decimal_places=2, null=True, blank=True, validators=SCORE
    )
    review_comment = models.TextField(_("複核意見"), blank=True)
    final_score = models.DecimalField(
        _("考核分數"), max_digits=5, decimal_places=2, null=True, blank=True, validators=SCORE
    )
    grade = models.CharField(_("等第"), max_length=16, choices=AppraisalGrade.choices, blank=True)
    status = FSMField(_("狀態"), default=Status.SUGGESTED, choices=Status.choices, protected=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The database's clock, like the round's rollup_started_at: progress compares the two, and a worker whose
    # clock runs behind the web server's must not leave a rerun short of done.
    computed_at = models.DateTimeField(_("彙整時間"), db_default=Now())

    class Meta:
        verbose_name = _("計畫考核")
        verbose_name_plural = _("計畫考核")
        ordering = ["round", "plan"]
        constraints = [models.UniqueConstraint(fields=["round", "plan"], name="appraisal_once_per_plan")]
        indexes = [models.Index(fields=["round", "agency"], name="appraisal_round_agency")]

    def __str__(self) -> str:
        return f"{self.plan}：{self.suggested_score}"

    @transition(
        field=status,
        source=[Status.SUGGESTED, Status.SELF_ASSESSED],
        target=Status.SELF_ASSESSED,
        permission="plan_control.self_assess",
        conditions=[round_in_self_assessment],
    )
    def submit_self_assessment(self, *, score, text: str) -> None:
        """The agency scores itself and explains (it may revise until RDEC reviews)."""
        self.self_score = score
        self.self_assessment = text

    @transition(
        field=status,
        source=[Status.SUGGESTED, Status.SELF_ASSESSED, Status.REVIEWED],
        target=Status.REVIEWED,
        permission="plan_control.run_control",
        conditions=[round_in_review],
    )
    def review(self, *, score, comment: str, by) -> None:
        """RDEC's review score and comments; the final score the committee confirms."""
        self.review_score = score
        self.review_comment = comment
        self.reviewed_by = by
        self.final_score = score

    @transition(field=status, source=Status.REVIEWED, target=Status.FINALISED)
    def set_grade(self) -> None:
        """Applied to the whole round when it is finalised (apply_bulk_transition)."""
