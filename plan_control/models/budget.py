"""年度重要施政計畫先期作業: agencies ask for next year's plan budgets; RDEC reviews them in meetings and site
visits, balances them against the ceilings and approves amounts, which become next year's controlled plans.

Money is integer NT$ (BigIntegerField: 91.64億 is 9,164,000,000, past a 32-bit integer). Every change of an
amount leaves an `AmountLedger` row, written by the services and never changed.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition

from workflow_site.models import StatefulModel
from workflow_site.transitions import refusal

from ..budget.errors import Code

# NT$ 10 trillion (十兆): above any city's, or the country's, budget; a larger figure is a typing error. It keeps
# every sum of a cycle's thousands of requests far inside the bigint range.
MAX_AMOUNT = 10**13
AMOUNT = [MinValueValidator(0), MaxValueValidator(MAX_AMOUNT)]
# A multi-year plan's years lie within this many years of the cycle's fiscal year.
YEARS_AROUND = 10
JUSTIFICATION_MAX = 20_000
LONG_TEXT = [MaxLengthValidator(JUSTIFICATION_MAX)]


class Source(models.TextChoices):
    """Where a plan's money comes from; the keys of every `amounts` dict the services take."""

    PUBLIC = "public", _("公務預算")
    FUND = "fund", _("基金預算")
    CENTRAL = "central", _("中央補助款")
    OTHER = "other", _("其他")


SOURCES = tuple(Source.values)
# The sources a ceiling limits: the city's own budgets.
CEILING_SOURCES = (Source.PUBLIC.value, Source.FUND.value)


def amount_problem(value, label) -> str:
    """Why `value` is not an amount of NT$ (an integer from 0 to MAX_AMOUNT), in Traditional Chinese, or ''."""
    from django.utils.translation import gettext

    if isinstance(value, bool) or not isinstance(value, int):
        return gettext("%(label)s須為整數（新臺幣元）：%(value)r") % {"label": label, "value": value}
    if value < 0:
        return gettext("%(label)s不得為負數：%(value)s") % {"label": label, "value": f"{value:,}"}
    if value > MAX_AMOUNT:
        return gettext("%(label)s %(value)s 元超過上限 %(max)s 元。") % {
            "label": label,
            "value": f"{value:,}",
            "max": f"{MAX_AMOUNT:,}",
        }
    return ""


def years_problem(years, fiscal_year: int) -> str:
    """Why a multi-year plan's amounts ({ROC year: NT$}, keys as JSON strings) are unacceptable, or ''."""
    from django.utils.translation import gettext

    if not isinstance(years, dict) or not years:
        return gettext("各年度經費須為 {年度: 金額} 的對照，且至少一個年度。")
    first, last = fiscal_year - YEARS_AROUND, fiscal_year + YEARS_AROUND
    for key, value in years.items():
        year = str(key)
        # isdecimal, not isdigit: int() refuses "²"; and no number of more than four digits is a year here (int()
        # refuses more than 4,300).
        if not (year.isdecimal() and len(year) <= 4) or not first <= int(year) <= last:
            return gettext("年度須為 %(first)d 至 %(last)d 年之間的民國年：%(year)s") % {
                "first": first,
                "last": last,
                "year": key,
            }
        problem = amount_problem(value, gettext("%(year)s年度經費") % {"year": int(year)})
        if problem:
            return problem
    return ""


class BudgetCycle(StatefulModel):
    """One fiscal year's pre-budget review: the ceilings, the thresholds and the timeline."""

    class Status(models.TextChoices):
        PLANNING = "planning", _("規劃中")
        COLLECTING = "collecting", _("受理申請")
        REVIEWING = "reviewing", _("初審中")
        BALANCING = "balancing", _("綜合平衡")
        APPROVED = "approved", _("已核定")
        CLOSED = "closed", _("已結案")

    fiscal_year = models.PositiveSmallIntegerField(
        _("預算年度（民國）"), unique=True, validators=[MinValueValidator(1), MaxValueValidator(999)]
    )
    public_ceiling = models.BigIntegerField(_("公務預算額度（新臺幣元）"), validators=AMOUNT)
    fund_ceiling = models.BigIntegerField(_("基金預算額度（新臺幣元）"), validators=AMOUNT)
    # Other cities' rules for which plans this review takes (routine business is exempt).
    new_plan_threshold = models.BigIntegerField(
        _("新興計畫總經費門檻（新臺幣元）"), default=50_000_000, validators=AMOUNT
    )
    continuing_threshold = models.BigIntegerField(
        _("延續性計畫年度經費門檻（新臺幣元）"), default=10_000_000, validators=AMOUNT
    )
    central_review_threshold = models.BigIntegerField(
        _("報中央審議門檻（新臺幣元）"), default=1_000_000_000, validators=AMOUNT
    )
    request_deadline = models.DateField(_("申請截止日"))
    meeting_start = models.DateField(_("初審會議期間（起）"))
    meeting_end = models.DateField(_("初審會議期間（迄）"))
    balancing_date = models.DateField(_("綜合平衡日"))
    status = FSMField(_("狀態"), default=Status.PLANNING, choices=Status.choices, protected=True)
    approved_at = models.DateTimeField(_("核定時間"), null=True, blank=True)
    created_at = models.DateTimeField(_("建立時間"), auto_now_add=True)

    class Meta:
        verbose_name = _("先期作業年度")
        verbose_name_plural = _("先期作業年度")
        ordering = ["-fiscal_year"]
        constraints = [
            models.CheckConstraint(
                condition=Q(meeting_end__gte=F("meeting_start")), name="budget_cycle_meeting_window"
            ),
            models.CheckConstraint(
                condition=Q(public_ceiling__gte=0, fund_ceiling__gte=0), name="budget_cycle_ceilings_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fiscal_year}年度先期作業"

    def clean(self) -> None:
        errors = {}
        if self.meeting_start and self.meeting_end and self.meeting_end < self.meeting_start:
            errors["meeting_end"] = [_("初審會議期間的迄日不得早於起日。")]
        if self.request_deadline and self.meeting_start and self.meeting_start < self.request_deadline:
            errors["meeting_start"] = [_("初審會議不得早於申請截止日。")]
        if self.meeting_end and self.balancing_date and self.balancing_date < self.meeting_end:
            errors["balancing_date"] = [_("綜合平衡日不得早於初審會議結束。")]
        if errors:
            raise ValidationError(errors)

    @transition(field=status, source=Status.PLANNING, target=Status.COLLECTING, permission="plan_control.run_budget")
    def open(self) -> None:
        """Agencies may draft and send requests until the request deadline."""

    @transition(field=status, source=Status.COLLECTING, target=Status.REVIEWING, permission="plan_control.run_budget")
    def start_review(self) -> None:
        """Requests close; RDEC's preliminary review meetings and site visits begin."""

    @transition(field=status, source=Status.REVIEWING, target=Status.BALANCING, permission="plan_control.run_budget")
    def start_balancing(self) -> None:
        """Every request has its recommendation: RDEC decides amounts against the ceilings."""

    @transition(field=status, source=Status.BALANCING, target=Status.APPROVED, permission="plan_control.approve_budget")
    def approve(self, *, at) -> None:
        """Every request is decided: the approved ones become next year's controlled plans."""
        self.approved_at = at

    @transition(field=status, source=Status.APPROVED, target=Status.CLOSED, permission="plan_control.run_budget")
    def close(self) -> None:
        """The year's review is over."""


class BudgetCeiling(models.Model):
    """An agency's own ceiling within a cycle, per source (empty: no ceiling of its own for that source)."""

    cycle = models.ForeignKey(BudgetCycle, verbose_name=_("年度"), on_delete=models.CASCADE, related_name="ceilings")
    agency = models.ForeignKey("accounts.Agency", verbose_name=_("機關"), on_delete=models.PROTECT, related_name="+")
    public = models.BigIntegerField(_("公務預算額度（新臺幣元）"), null=True, blank=True, validators=AMOUNT)
    fund = models.BigIntegerField(_("基金預算額度（新臺幣元）"), null=True, blank=True, validators=AMOUNT)

    class Meta:
        verbose_name = _("機關預算額度")
        verbose_name_plural = _("機關預算額度")
        ordering = ["cycle", "agency"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "agency"], name="budget_ceiling_once_per_agency"),
            models.CheckConstraint(
                condition=(Q(public__isnull=True) | Q(public__gte=0)) & (Q(fund__isnull=True) | Q(fund__gte=0)),
                name="budget_ceiling_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cycle} {self.agency}"


@refusal(_("本年度先期作業目前不受理申請。"), code=Code.CYCLE_NOT_COLLECTING)
def cycle_is_collecting(request) -> bool:
    return request.cycle.status == BudgetCycle.Status.COLLECTING


@refusal(_("本年度先期作業不在收件或初審階段。"), code=Code.CYCLE_NOT_REVIEWING)
def cycle_takes_review(request) -> bool:
    return request.cycle.status in (BudgetCycle.Status.COLLECTING, BudgetCycle.Status.REVIEWING)


@refusal(_("本年度先期作業目前不在初審階段。"), code=Code.CYCLE_NOT_REVIEWING)
def cycle_is_reviewing(request) -> bool:
    return request.cycle.status == BudgetCycle.Status.REVIEWING


@refusal(_("本年度先期作業目前不在綜合平衡階段。"), code=Code.CYCLE_NOT_BALANCING)
def cycle_is_balancing(request) -> bool:
    return request.cycle.status == BudgetCycle.Status.BALANCING


def _amount_field(label):
    return models.BigIntegerField(label, default=0, validators=AMOUNT)


def _decided_amount_field(label):
    return models.BigIntegerField(label, null=True, blank=True, validators=AMOUNT)


class BudgetRequest(StatefulModel):
    """An agency's request for one plan's money in the cycle's fiscal year."""

    class Kind(models.TextChoices):
        NEW_MEDIUM_TERM = "new_medium_term", _("新興中長程計畫")
        NEW_ANNUAL = "new_annual", _("新興年度計畫")
        CONTINUING = "continuing", _("延續性計畫")

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PENDING_APPROVAL = "pending_approval", _("待機關主管核定")
        RETURNED = "returned", _("退回修正")
        SUBMITTED = "submitted", _("已送研考會")
        IN_REVIEW = "in_review", _("初審中")
        RECOMMENDED = "recommended", _("已提初審意見")
        APPROVED = "approved", _("照案核定")
        CUT = "cut", _("核減")
        REJECTED = "rejected", _("不予核列")
        WITHDRAWN = "withdrawn", _("已撤回")

    cycle = models.ForeignKey(BudgetCycle, verbose_name=_("年度"), on_delete=models.PROTECT, related_name="requests")
    agency = models.ForeignKey(
        "accounts.Agency", verbose_name=_("主辦機關"), on_delete=models.PROTECT, related_name="budget_requests"
    )
    title = models.CharField(_("計畫名稱"), max_length=300)
    kind = models.CharField(_("計畫類別"), max_length=20, choices=Kind.choices)
    # {ROC year (a JSON string): NT$}: the plan's money year by year; the cycle's year equals `total`.
    years = models.JSONField(_("各年度經費"), default=dict)
    plan_total = models.BigIntegerField(_("計畫總經費（新臺幣元）"), default=0, validators=[MinValueValidator(0)])
    requested_public = _amount_field(_("申請公務預算"))
    requested_fund = _amount_field(_("申請基金預算"))
    requested_central = _amount_field(_("申請中央補助款"))
    requested_other = _amount_field(_("申請其他經費"))
    total = models.BigIntegerField(_("本年度申請總額（新臺幣元）"), default=0, validators=AMOUNT)
    justification = models.TextField(_("計畫說明"), blank=True, max_length=JUSTIFICATION_MAX, validators=LONG_TEXT)
    central_review = models.BooleanField(_("報中央審議"), default=False)
    recommended_public = _decided_amount_field(_("初審建議公務預算"))
    recommended_fund = _decided_amount_field(_("初審建議基金預算"))
    recommended_central = _decided_amount_field(_("初審建議中央補助款"))
    recommended_other = _decided_amount_field(_("初審建議其他經費"))
    approved_public = _decided_amount_field(_("核定公務預算"))
    approved_fund = _decided_amount_field(_("核定基金預算"))
    approved_central = _decided_amount_field(_("核定中央補助款"))
    approved_other = _decided_amount_field(_("核定其他經費"))
    decision_note = models.TextField(_("核定說明"), blank=True)
    return_reason = models.TextField(_("退回理由"), blank=True)
    status = FSMField(_("狀態"), default=Status.DRAFT, choices=Status.choices, protected=True)
    # When the head last signed it off: set once a request has reached RDEC, who then sees it.
    submitted_at = models.DateTimeField(_("送達研考會時間"), null=True, blank=True)
    decided_at = models.DateTimeField(_("核定時間"), null=True, blank=True)
    controlled_plan = models.OneToOneField(
        "plan_control.ControlledPlan",
        verbose_name=_("列管計畫"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="budget_request",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("承辦人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("建立時間"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新時間"), auto_now=True)

    class Meta:
        verbose_name = _("先期作業計畫申請")
        verbose_name_plural = _("先期作業計畫申請")
        ordering = ["cycle", "agency", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    requested_public__gte=0, requested_fund__gte=0, requested_central__gte=0, requested_other__gte=0
                ),
                name="budget_request_requested_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(
                    total=F("requested_public") + F("requested_fund") + F("requested_central") + F("requested_other")
                ),
                name="budget_request_total_is_sum",
            ),
        ]
        indexes = [
            models.Index(fields=["cycle", "status"], name="budget_request_cycle_status"),
            models.Index(fields=["cycle", "agency"], name="budget_request_cycle_agency"),
        ]

    def __str__(self) -> str:
        return self.title

    def amounts(self, stage: str) -> dict[str, int | None]:
        """The amounts by source of a stage: "requested", "recommended" or "approved"."""
        return {source: getattr(self, f"{stage}_{source}") for source in SOURCES}

    def clean(self) -> None:
        if self.total != sum(self.amounts("requested").values()):
            raise ValidationError({"amounts": [_("各經費來源合計須等於申請總額。")]})

    # ---- the agency ------------------------------------------------------------------------------------------

    @transition(
        field=status,
        source=[Status.DRAFT, Status.RETURNED],
        target=Status.PENDING_APPROVAL,
        permission="plan_control.draft_budget_request",
        conditions=[cycle_is_collecting],
    )
    def submit(self) -> None:
        """The clerk hands the request to the agency's head for sign-off."""

    @transition(
        field=status,
        source=Status.PENDING_APPROVAL,
        target=Status.SUBMITTED,
        permission="plan_control.sign_off_budget_request",
        conditions=[cycle_is_collecting],
    )
    def sign_off(self, *, at) -> None:
        """The head signs off: the request reaches RDEC."""
        self.submitted_at = at
        self.return_reason = ""

    @transition(
        field=status,
        source=Status.PENDING_APPROVAL,
        target=Status.RETURNED,
        permission="plan_control.sign_off_budget_request",
    )
    @transition(field=status, source=Status.SUBMITTED, target=Status.RETURNED, permission="plan_control.run_budget")
    def return_for_changes(self, *, reason: str) -> None:
        """Back to the clerk, who edits and sends it again: by the head before sign-off, by RDEC after."""
        self.return_reason = reason

    @transition(
        field=status,
        source=[Status.DRAFT, Status.RETURNED],
        target=Status.WITHDRAWN,
        permission="plan_control.draft_budget_request",
    )
    def withdraw(self) -> None:
        """The agency drops a request it has not sent (the reason is logged)."""

    @transition(
        field=status,
        source=[Status.DRAFT, Status.PENDING_APPROVAL, Status.RETURNED],
        target=Status.WITHDRAWN,
        permission="plan_control.run_budget",
    )
    def lapse(self) -> None:
        """Not at RDEC when the review starts: out of the cycle (in bulk, by cycle_start_review)."""

    # ---- RDEC ------------------------------------------------------------------------------------------------

    @transition(
        field=status,
        source=Status.SUBMITTED,
        target=Status.IN_REVIEW,
        permission="plan_control.run_budget",
        conditions=[cycle_takes_review],
    )
    def start_review(self) -> None:
        """RDEC takes the request up for its preliminary review (in bulk when the cycle's review starts)."""

    @transition(
        field=status,
        source=[Status.IN_REVIEW, Status.RECOMMENDED],
        target=Status.RECOMMENDED,
        permission="plan_control.run_budget",
        conditions=[cycle_is_reviewing],
    )
    def recommend(self) -> None:
        """A review meeting's recommended amounts (a later meeting may revise them)."""

    @transition(
        field=status,
        source=[Status.RECOMMENDED, Status.APPROVED, Status.CUT, Status.REJECTED],
        target=Status.APPROVED,
        permission="plan_control.decide_budget",
        conditions=[cycle_is_balancing],
    )
    def approve(self, *, at) -> None:
        """Approved as requested in total (the sources may shift)."""
        self.decided_at = at

    @transition(
        field=status,
        source=[Status.RECOMMENDED, Status.APPROVED, Status.CUT, Status.REJECTED],
        target=Status.CUT,
        permission="plan_control.decide_budget",
        conditions=[cycle_is_balancing],
    )
    def cut(self, *, at) -> None:
        """Approved with less than requested."""
        self.decided_at = at

    @transition(
        field=status,
        source=[Status.RECOMMENDED, Status.APPROVED, Status.CUT, Status.REJECTED],
        target=Status.REJECTED,
        permission="plan_control.decide_budget",
        conditions=[cycle_is_balancing],
    )
    def reject(self, *, at) -> None:
        """Not funded."""
        self.decided_at = at


class BudgetDocument(models.Model):
    """A request's plan document (計畫書): PDF, DOCX or ODT, recognised by content."""

    class Format(models.TextChoices):
        PDF = "pdf", "PDF"
        DOCX = "docx", "DOCX"
        ODT = "odt", "ODT"

    request = models.ForeignKey(BudgetRequest, on_delete=models.CASCADE, related_name="documents")
    file = models.FileField(_("檔案"), upload_to="budget/%Y/")
    name = models.CharField(_("檔名"), max_length=255)
    format = models.CharField(_("格式"), max_length=8, choices=Format.choices)
    size = models.PositiveIntegerField(_("大小（位元組）"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("計畫書")
        verbose_name_plural = _("計畫書")
        ordering = ["request", "pk"]

    def __str__(self) -> str:
        return self.name


class ReviewMeeting(StatefulModel):
    """A preliminary review meeting (初審會議): who attends, which requests it discusses, its minutes."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("已排定")
        HELD = "held", _("已召開")

    cycle = models.ForeignKey(BudgetCycle, verbose_name=_("年度"), on_delete=models.PROTECT, related_name="meetings")
    date = models.DateField(_("會議日期"))
    place = models.CharField(_("地點"), max_length=200)
    attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("出席人員"), related_name="budget_meetings", blank=True
    )
    agencies = models.ManyToManyField(
        "accounts.Agency", verbose_name=_("相關機關"), related_name="budget_meetings", blank=True
    )
    agenda = models.ManyToManyField(BudgetRequest, verbose_name=_("審查案件"), related_name="meetings")
    minutes = models.TextField(_("會議紀錄"), blank=True, max_length=JUSTIFICATION_MAX, validators=LONG_TEXT)
    status = FSMField(_("狀態"), default=Status.SCHEDULED, choices=Status.choices, protected=True)
    held_at = models.DateTimeField(_("紀錄時間"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("建立者"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("建立時間"), auto_now_add=True)

    class Meta:
        verbose_name = _("先期作業初審會議")
        verbose_name_plural = _("先期作業初審會議")
        ordering = ["cycle", "date", "pk"]

    def __str__(self) -> str:
        return f"{self.cycle} {self.date} {self.place}"

    @transition(field=status, source=Status.SCHEDULED, target=Status.HELD, permission="plan_control.run_budget")
    def hold(self, *, minutes: str, at) -> None:
        """The meeting took place: its minutes are recorded."""
        self.minutes = minutes
        self.held_at = at


class MeetingDecision(models.Model):
    """A meeting's recommendation on one request of its agenda: the amounts by source and a note."""

    meeting = models.ForeignKey(ReviewMeeting, on_delete=models.PROTECT, related_name="decisions")
    request = models.ForeignKey(BudgetRequest, on_delete=models.PROTECT, related_name="meeting_decisions")
    public = models.BigIntegerField(_("建議公務預算"), validators=AMOUNT)
    fund = models.BigIntegerField(_("建議基金預算"), validators=AMOUNT)
    central = models.BigIntegerField(_("建議中央補助款"), validators=AMOUNT)
    other = models.BigIntegerField(_("建議其他經費"), validators=AMOUNT)
    note = models.TextField(_("審查意見"), blank=True, max_length=JUSTIFICATION_MAX, validators=LONG_TEXT)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("初審建議")
        verbose_name_plural = _("初審建議")
        ordering = ["meeting", "request"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "request"], name="meeting_decision_once_per_request"),
            models.CheckConstraint(
                condition=Q(public__gte=0, fund__gte=0, central__gte=0, other__gte=0),
                name="meeting_decision_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.meeting}: {self.request}"

    @property
    def total(self) -> int:
        return self.public + self.fund + self.central + self.other


class SiteVisit(models.Model):
    """A site visit (實地訪查) to one or more requested plans, with its findings and photos."""

    cycle = models.ForeignKey(BudgetCycle, verbose_name=_("年度"), on_delete=models.PROTECT, related_name="site_visits")
    date = models.DateField(_("訪查日期"))
    requests = models.ManyToManyField(BudgetRequest, verbose_name=_("訪查計畫"), related_name="site_visits")
    findings = models.TextField(_("訪查意見"), blank=True, max_length=JUSTIFICATION_MAX, validators=LONG_TEXT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("建立者"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("建立時間"), auto_now_add=True)

    class Meta:
        verbose_name = _("實地訪查")
        verbose_name_plural = _("實地訪查")
        ordering = ["cycle", "date", "pk"]

    def __str__(self) -> str:
        return f"{self.cycle} {self.date}"


class SiteVisitPhoto(models.Model):
    """A photo of a site visit: JPEG or PNG, recognised by content, 10 MB at most."""

    class Format(models.TextChoices):
        JPEG = "jpeg", "JPEG"
        PNG = "png", "PNG"

    visit = models.ForeignKey(SiteVisit, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(_("檔案"), upload_to="budget/visits/%Y/")
    name = models.CharField(_("檔名"), max_length=255)
    format = models.CharField(_("格式"), max_length=8, choices=Format.choices)
    size = models.PositiveIntegerField(_("大小（位元組）"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("訪查照片")
        verbose_name_plural = _("訪查照片")
        ordering = ["visit", "pk"]

    def __str__(self) -> str:
        return self.name


class AppendOnlyQuerySet(models.QuerySet):
    """Ledger rows are evidence: a queryset of them cannot update or delete (a PostgreSQL trigger refuses it too)."""

    def update(self, **kwargs):
        raise TypeError("AmountLedger rows are append-only")

    def delete(self):
        raise TypeError("AmountLedger rows are append-only")


class AmountLedger(models.Model):
    """One change of one amount of a request: who, when, from, to, why. Written by the services, never changed."""

    request = models.ForeignKey(
        BudgetRequest, verbose_name=_("先期作業計畫申請"), on_delete=models.PROTECT, related_name="ledger"
    )
    # The request's field that changed: "requested_public", "recommended_fund", "approved_central", ...
    field = models.CharField(_("欄位"), max_length=32)
    from_amount = models.BigIntegerField(_("原金額"), null=True, blank=True)
    to_amount = models.BigIntegerField(_("新金額"), null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("異動者"),
        null=True,  # null: the system
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField(_("時間"), default=timezone.now)
    reason = models.TextField(_("理由"), blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("金額異動紀錄")
        verbose_name_plural = _("金額異動紀錄")
        ordering = ["request", "at", "pk"]
        indexes = [models.Index(fields=["request", "at"], name="amount_ledger_request_at")]

    def __str__(self) -> str:
        return f"{self.request_id} {self.field}: {self.from_amount} → {self.to_amount}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("AmountLedger rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("AmountLedger rows are append-only")
