"""列管計畫: controlled plans and their monthly progress reports (year-end appraisal comes later)."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition

from workflow_site.models import StatefulModel

PERCENT = [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))]


class ControlYear(models.Model):
    """A year's control settings: the lag threshold and the monthly reporting day."""

    year = models.PositiveSmallIntegerField(_("年度（民國）"), unique=True)
    lag_threshold = models.DecimalField(
        _("落後門檻（百分點）"), max_digits=4, decimal_places=1, default=Decimal("5.0"), validators=PERCENT
    )
    report_day = models.PositiveSmallIntegerField(
        _("每月填報期限日"), default=10, validators=[MinValueValidator(1), MaxValueValidator(28)]
    )
    alert_after_months = models.PositiveSmallIntegerField(_("連續落後幾個月通知機關首長"), default=3)

    class Meta:
        verbose_name = _("管制年度")
        verbose_name_plural = _("管制年度")
        ordering = ["-year"]

    def __str__(self) -> str:
        return f"{self.year}年度"


class ControlledPlan(StatefulModel):
    class Status(models.TextChoices):
        REGISTERED = "registered", _("已列管")
        IN_EXECUTION = "in_execution", _("執行中")
        COMPLETED = "completed", _("已完成")
        TERMINATED = "terminated", _("已終止")

    year = models.PositiveSmallIntegerField(_("年度（民國）"))
    code = models.CharField(_("計畫編號"), max_length=32)
    agency = models.ForeignKey(
        "accounts.Agency", verbose_name=_("主辦機關"), on_delete=models.PROTECT, related_name="controlled_plans"
    )
    title = models.CharField(_("計畫名稱"), max_length=300)
    budget = models.BigIntegerField(_("預算（新臺幣元）"), validators=[MinValueValidator(0)])
    # Planned cumulative progress at the end of months 1..12, in percent, never decreasing.
    planned_progress = models.JSONField(_("預定累計進度（1-12月）"))
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("研考會承辦"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = FSMField(_("狀態"), default=Status.REGISTERED, choices=Status.choices, protected=True)
    created_at = models.DateTimeField(_("建立時間"), auto_now_add=True)

    class Meta:
        verbose_name = _("列管計畫")
        verbose_name_plural = _("列管計畫")
        ordering = ["year", "code"]
        constraints = [
            models.UniqueConstraint(fields=["year", "code"], name="plan_code_unique_in_year"),
            models.CheckConstraint(condition=Q(budget__gte=0), name="plan_budget_not_negative"),
        ]
        indexes = [models.Index(fields=["year", "status"], name="plan_year_status")]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    def clean(self) -> None:
        problem = planned_progress_problem(self.planned_progress)
        if problem:
            raise ValidationError({"planned_progress": [problem]})

    def planned_for(self, month: int) -> Decimal:
        return Decimal(str(self.planned_progress[month - 1]))

    @transition(
        field=status, source=Status.REGISTERED, target=Status.IN_EXECUTION, permission="plan_control.run_control"
    )
    def start(self) -> None:
        """RDEC approved the work plan (作業計畫): monthly reporting begins."""

    @transition(
        field=status, source=Status.IN_EXECUTION, target=Status.COMPLETED, permission="plan_control.run_control"
    )
    def complete(self) -> None:
        """The plan is done."""

    @transition(
        field=status,
        source=[Status.REGISTERED, Status.IN_EXECUTION],
        target=Status.TERMINATED,
        permission="plan_control.run_control",
    )
    def terminate(self) -> None:
        """The plan is stopped (the reason is logged)."""


def planned_progress_problem(values) -> str:
    """Why a planned curve is unacceptable, in Traditional Chinese, or '' when it is fine."""
    from django.utils.translation import gettext

    if not isinstance(values, list | tuple) or len(values) != 12:
        return gettext("預定進度須為 1 至 12 月共 12 個數字。")
    numbers = []
    for month, value in enumerate(values, start=1):
        try:
            number = Decimal(str(value))
        except ArithmeticError:
            return gettext("%(m)d月的預定進度不是數字。") % {"m": month}
        if not number.is_finite():
            return gettext("%(m)d月的預定進度不是數字。") % {"m": month}
        if not 0 <= number <= 100:
            return gettext("%(m)d月的預定進度 %(v)s 超出 0 到 100。") % {"m": month, "v": value}
        numbers.append(number)
    for month in range(1, 12):
        if numbers[month] < numbers[month - 1]:
            return gettext("預定進度須逐月不減：%(m)d月 %(a)s 小於 %(p)d月 %(b)s。") % {
                "m": month + 1,
                "a": numbers[month],
                "p": month,
                "b": numbers[month - 1],
            }
    return ""


class ProgressReport(StatefulModel):
    """One plan's report for one month: cumulative actual progress and budget executed."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待填報")
        SUBMITTED = "submitted", _("已填報")
        ACCEPTED = "accepted", _("已審核")
        RETURNED = "returned", _("退回修正")

    plan = models.ForeignKey(ControlledPlan, verbose_name=_("計畫"), on_delete=models.PROTECT, related_name="reports")
    year = models.PositiveSmallIntegerField(_("年度（民國）"))
    month = models.PositiveSmallIntegerField(_("月份"), validators=[MinValueValidator(1), MaxValueValidator(12)])
    agency = models.ForeignKey("accounts.Agency", verbose_name=_("機關"), on_delete=models.PROTECT, related_name="+")
    due_date = models.DateField(_("填報期限"))
    planned_percent = models.DecimalField(_("預定累計進度（%）"), max_digits=5, decimal_places=2)
    actual_percent = models.DecimalField(
        _("實際累計進度（%）"), max_digits=5, decimal_places=2, null=True, blank=True, validators=PERCENT
    )
    budget_executed = models.BigIntegerField(
        _("預算執行數（新臺幣元）"), null=True, blank=True, validators=[MinValueValidator(0)]
    )
    narrative = models.TextField(_("執行情形"), blank=True)
    lag_reason = models.TextField(_("落後原因"), blank=True)
    remedy = models.TextField(_("因應對策"), blank=True)
    # Fixed when the report is submitted: lag_points = planned - actual; lagging against the year's threshold.
    lag_points = models.DecimalField(_("落後百分點"), max_digits=6, decimal_places=2, null=True, blank=True)
    lagging = models.BooleanField(_("進度落後"), default=False)
    consecutive_lagging = models.PositiveSmallIntegerField(_("連續落後月數"), default=0)
    return_reason = models.TextField(_("退回理由"), blank=True)
    status = FSMField(_("狀態"), default=Status.PENDING, choices=Status.choices, protected=True)
    submitted_at = models.DateTimeField(_("填報時間"), null=True, blank=True)
    opened_at = models.DateTimeField(_("開放填報時間"), auto_now_add=True)

    class Meta:
        verbose_name = _("月進度報告")
        verbose_name_plural = _("月進度報告")
        ordering = ["plan", "month"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "month"], name="report_once_per_plan_month"),
            models.CheckConstraint(condition=Q(month__gte=1, month__lte=12), name="report_month_range"),
            models.CheckConstraint(
                condition=Q(actual_percent__isnull=True) | Q(actual_percent__gte=0, actual_percent__lte=100),
                name="report_actual_range",
            ),
        ]
        indexes = [
            models.Index(fields=["year", "month", "status"], name="report_year_month_status"),
            models.Index(fields=["agency", "year", "month"], name="report_agency_month"),
            # The month's lagging list of the monthly analysis: about a third of a month's reports at most.
            models.Index(
                fields=["year", "month"],
                condition=Q(lagging=True, status__in=["submitted", "accepted"]),
                name="report_lagging_counted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan.code} {self.year}年{self.month}月"

    @property
    def overdue(self) -> bool:
        """Past the deadline day (Taipei) and not submitted: pending, or returned and not yet resubmitted."""
        from workflow_site.roc_calendar.calendar import today

        return self.status in (self.Status.PENDING, self.Status.RETURNED) and today() > self.due_date

    @transition(
        field=status,
        source=[Status.PENDING, Status.RETURNED],
        target=Status.SUBMITTED,
        permission="plan_control.report_progress",
    )
    def submit(self, *, at, lag_points, lagging: bool, consecutive: int) -> None:
        """The agency reports its figures by the deadline day."""
        self.submitted_at = at
        self.lag_points = lag_points
        self.lagging = lagging
        self.consecutive_lagging = consecutive

    @transition(field=status, source=Status.SUBMITTED, target=Status.ACCEPTED, permission="plan_control.run_control")
    def accept(self) -> None:
        """RDEC accepts the report."""

    @transition(field=status, source=Status.SUBMITTED, target=Status.RETURNED, permission="plan_control.run_control")
    def return_for_correction(self, *, reason: str) -> None:
        """RDEC returns the report with the reason; it counts as not reported until resubmitted."""
        self.return_reason = reason


class MonthlyTally(models.Model):
    """Per year, month and agency: its plans in control (in execution or completed) and, of those plans, the
    month's counted reports (submitted or accepted) that lag or are on track. `selectors.monthly_analysis`
    reads its counts from here instead of counting the reports each time.

    Kept by the services: every one that can change a count refreshes the agency's rows (`tally.tally_refresh`)
    in the same transaction as its write. Rows written around the services (COPY, raw SQL) are repaired by
    `tally.monthly_tally_rebuild`, or the command `rebuild_monthly_tally`.
    """

    year = models.PositiveSmallIntegerField(_("年度（民國）"))
    month = models.PositiveSmallIntegerField(_("月份"), validators=[MinValueValidator(1), MaxValueValidator(12)])
    agency = models.ForeignKey(
        "accounts.Agency", verbose_name=_("主辦機關"), on_delete=models.PROTECT, related_name="+"
    )
    plans = models.PositiveIntegerField(_("列管計畫數"), default=0)
    lagging = models.PositiveIntegerField(_("進度落後件數"), default=0)
    on_track = models.PositiveIntegerField(_("進度正常件數"), default=0)

    class Meta:
        verbose_name = _("月分析統計")
        verbose_name_plural = _("月分析統計")
        ordering = ["year", "month", "agency"]
        constraints = [
            models.UniqueConstraint(fields=["year", "month", "agency"], name="tally_once_per_agency_month"),
            models.CheckConstraint(condition=Q(month__gte=1, month__lte=12), name="tally_month_range"),
            # One report per plan and month: the counted reports never outnumber the plans.
            models.CheckConstraint(
                condition=Q(lagging__lte=models.F("plans") - models.F("on_track")), name="tally_counted_within_plans"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year}年{self.month}月 {self.agency}"
