"""學位論文獎補助: a yearly call, graduate students' applications, their review on the panel engine.

Any graduate student of any university whose thesis is on Kaohsiung city affairs may apply. Two kinds: the
writing subsidy (a research plan, before writing; the final thesis is due later) and the award (a thesis
defended within the last two years). Per kind and degree the call has a quota, an amount and a panel (a
`ThesisTrack`); the engine ranks each track's applications on its own.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition

from workflow_site.models import StatefulModel
from workflow_site.transitions import refusal

from .errors import Code

MAX_AMOUNT = 10_000_000  # NT$: an amount beyond this is a typing error, not a subsidy


class Kind(models.TextChoices):
    SUBSIDY = "subsidy", _("論文撰寫補助")
    AWARD = "award", _("優良論文獎勵")


class Degree(models.TextChoices):
    MASTER = "master", _("碩士")
    DOCTOR = "doctor", _("博士")


class ThesisCall(StatefulModel):
    """One year's call for applications, both kinds."""

    class Status(models.TextChoices):
        PLANNING = "planning", _("規劃中")
        OPEN = "open", _("受理申請")
        REVIEWING = "reviewing", _("審查中")
        DECIDED = "decided", _("已決定")
        CLOSED = "closed", _("已結案")

    year = models.PositiveSmallIntegerField(_("年度（民國）"), unique=True, validators=[MinValueValidator(1)])
    title = models.CharField(_("名稱"), max_length=200)
    application_deadline = models.DateField(_("申請截止日"))
    review_deadline = models.DateField(_("評分截止日"))
    final_due_date = models.DateField(_("補助論文完稿繳交期限"))
    double_blind = models.BooleanField(_("雙盲審查"), default=True, help_text=_("委員看不到申請人姓名與學校。"))
    retention_days = models.PositiveSmallIntegerField(
        _("未獲補助申請資料保存天數"),
        default=365,
        validators=[MinValueValidator(30), MaxValueValidator(3650)],
        help_text=_("決定後經過此天數，未獲補助或不符資格之申請的個人資料與檔案即刪除。"),
    )
    status = FSMField(_("狀態"), default=Status.PLANNING, choices=Status.choices, protected=True)
    decided_at = models.DateTimeField(_("決定時間"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("學位論文獎補助年度")
        verbose_name_plural = _("學位論文獎補助年度")
        ordering = ["-year"]
        constraints = [
            models.CheckConstraint(
                condition=Q(review_deadline__gte=models.F("application_deadline")), name="thesis_call_review_after"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @transition(field=status, source=Status.PLANNING, target=Status.OPEN, permission="theses.run_call")
    def open(self) -> None:
        """Applicants may apply."""

    @transition(field=status, source=Status.OPEN, target=Status.REVIEWING, permission="theses.run_call")
    def start_review(self) -> None:
        """Applications close; each track's panel scores the eligible ones."""

    @transition(field=status, source=Status.REVIEWING, target=Status.DECIDED, permission="theses.decide_call")
    def decide(self, *, at) -> None:
        """The panels' results are fixed: approved within each quota, the rest rejected."""
        self.decided_at = at

    @transition(field=status, source=Status.DECIDED, target=Status.CLOSED, permission="theses.run_call")
    def close(self) -> None:
        """The year is over."""


class ThesisTrack(models.Model):
    """A call's kind and degree: how many, how much, and the panel that ranks them."""

    call = models.ForeignKey(ThesisCall, on_delete=models.CASCADE, related_name="tracks")
    kind = models.CharField(_("類別"), max_length=16, choices=Kind.choices)
    degree = models.CharField(_("學位"), max_length=16, choices=Degree.choices)
    quota = models.PositiveSmallIntegerField(_("名額"), validators=[MaxValueValidator(1000)])
    amount = models.PositiveIntegerField(_("金額（新臺幣元）"), validators=[MaxValueValidator(MAX_AMOUNT)])
    min_score = models.DecimalField(
        _("最低分數"), max_digits=5, decimal_places=2, default=70, validators=[MaxValueValidator(100)]
    )
    panel = models.OneToOneField(
        "reviews.Panel", verbose_name=_("審查會"), on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        verbose_name = _("獎補助類別")
        verbose_name_plural = _("獎補助類別")
        ordering = ["call", "kind", "degree"]
        constraints = [models.UniqueConstraint(fields=["call", "kind", "degree"], name="thesis_track_once")]

    def __str__(self) -> str:
        return f"{self.call.year}年{self.get_degree_display()}{self.get_kind_display()}"


class ApplicantProfile(models.Model):
    """An external applicant's minimal data: no national ID, nothing the review does not need."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="applicant_profile")
    university = models.CharField(_("學校"), max_length=100)
    department = models.CharField(_("系所"), max_length=100)
    degree = models.CharField(_("學位"), max_length=16, choices=Degree.choices)
    advisor = models.CharField(_("指導教授"), max_length=100)
    expected_date = models.DateField(_("預計畢業日"), null=True, blank=True)
    defence_date = models.DateField(_("學位考試日"), null=True, blank=True)
    email_verified_at = models.DateTimeField(_("信箱驗證時間"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("申請人資料")
        verbose_name_plural = _("申請人資料")

    def __str__(self) -> str:
        return str(self.user)

    @property
    def is_complete(self) -> bool:
        """Filled in by the applicant: a verified account starts with an empty profile (services.applicant_verify)."""
        return bool(self.university and self.department and self.degree and self.advisor)


@refusal(_("本年度已截止收件。"), code=Code.CALL_NOT_OPEN)
def call_is_open(application) -> bool:
    return application.call.status == ThesisCall.Status.OPEN


@refusal(_("本年度目前不在審查階段。"), code=Code.CALL_NOT_REVIEWING)
def call_is_reviewing(application) -> bool:
    return application.call.status == ThesisCall.Status.REVIEWING


def is_subsidy(application) -> bool:
    return application.kind == Kind.SUBSIDY


def is_award(application) -> bool:
    return application.kind == Kind.AWARD


class ThesisApplication(StatefulModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("已送出")
        RETURNED = "returned", _("退回補件")
        ELIGIBLE = "eligible", _("資格符合")
        INELIGIBLE = "ineligible", _("資格不符")
        IN_REVIEW = "in_review", _("委員審查中")
        APPROVED = "approved", _("獲補助／獲獎")
        REJECTED = "rejected", _("未獲選")
        FINAL_SUBMITTED = "final_submitted", _("已繳交完稿")
        ACCEPTED = "accepted", _("完稿已驗收")
        OVERDUE = "overdue", _("逾期未繳完稿")
        CANCELLED = "cancelled", _("已撤銷補助")
        FORWARDED = "forwarded", _("已函送機關參採")
        CLOSED = "closed", _("已結案")
        WITHDRAWN = "withdrawn", _("已撤回")

    call = models.ForeignKey(ThesisCall, verbose_name=_("年度"), on_delete=models.PROTECT, related_name="applications")
    kind = models.CharField(_("類別"), max_length=16, choices=Kind.choices)
    degree = models.CharField(_("學位"), max_length=16, choices=Degree.choices)
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("申請人"), on_delete=models.PROTECT, related_name="thesis_applications"
    )
    title = models.CharField(_("論文題目"), max_length=300)
    abstract = models.TextField(_("摘要"), max_length=20000)
    university = models.CharField(_("學校"), max_length=100)
    department = models.CharField(_("系所"), max_length=100)
    advisor = models.CharField(_("指導教授"), max_length=100)
    defence_date = models.DateField(_("學位考試日"), null=True, blank=True)
    publish_name = models.CharField(
        _("同意公布之姓名"), max_length=100, blank=True, help_text=_("獲獎時公布於成果頁；留空則不公布姓名。")
    )
    status = FSMField(_("狀態"), default=Status.DRAFT, choices=Status.choices, protected=True)
    note = models.TextField(_("審查意見"), max_length=2000, blank=True)
    amount = models.PositiveIntegerField(_("核定金額（新臺幣元）"), null=True, blank=True)
    score = models.DecimalField(_("總分"), max_digits=6, decimal_places=2, null=True, blank=True)
    rank = models.PositiveIntegerField(_("名次"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("送出時間"), null=True, blank=True)
    final_submitted_at = models.DateTimeField(_("完稿繳交時間"), null=True, blank=True)
    purged_at = models.DateTimeField(_("個資刪除時間"), null=True, blank=True)
    created_at = models.DateTimeField(_("建立時間"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新時間"), auto_now=True)
    # An awarded thesis's questions to the agencies concerned (reviews' generic adoption, as for proposals).
    adoptions = GenericRelation(
        "reviews.Adoption",
        content_type_field="subject_type",
        object_id_field="subject_id",
        related_query_name="thesis_application",
    )

    class Meta:
        verbose_name = _("學位論文獎補助申請")
        verbose_name_plural = _("學位論文獎補助申請")
        ordering = ["call", "kind", "degree", "pk"]
        constraints = [
            # One application per call and kind for each applicant (a withdrawn one does not count).
            models.UniqueConstraint(
                fields=["call", "kind", "applicant"], condition=~Q(status="withdrawn"), name="thesis_application_once"
            ),
        ]
        indexes = [models.Index(fields=["call", "status"], name="thesis_application_status")]

    def __str__(self) -> str:
        return self.title

    @transition(
        field=status,
        source=[Status.DRAFT, Status.RETURNED],
        target=Status.SUBMITTED,
        permission="theses.own_application",
        conditions=[call_is_open],
    )
    def submit(self, *, at) -> None:
        """The applicant sends the application to RDEC."""
        self.submitted_at = at

    @transition(field=status, source=Status.SUBMITTED, target=Status.ELIGIBLE, permission="theses.run_call")
    def accept_eligibility(self) -> None:
        """RDEC's screening: the applicant may apply and the documents are complete."""

    @transition(field=status, source=Status.SUBMITTED, target=Status.INELIGIBLE, permission="theses.run_call")
    def refuse_eligibility(self, *, note: str) -> None:
        """RDEC's screening: not eligible, with the reason."""
        self.note = note

    @transition(
        field=status,
        source=Status.SUBMITTED,
        target=Status.RETURNED,
        permission="theses.run_call",
        conditions=[call_is_open],
    )
    def return_for_documents(self, *, note: str) -> None:
        """Documents missing: back to the applicant with a note, while the call still takes applications."""
        self.note = note

    @transition(
        field=status,
        source=[Status.DRAFT, Status.RETURNED, Status.SUBMITTED],
        target=Status.WITHDRAWN,
        permission="theses.own_application",
    )
    def withdraw(self) -> None:
        """The applicant takes the application back before screening."""

    @transition(field=status, source=Status.ELIGIBLE, target=Status.IN_REVIEW, permission="theses.run_call")
    def start_review(self) -> None:
        """The track's panel scores it."""

    @transition(field=status, source=Status.IN_REVIEW, target=Status.APPROVED, permission="theses.decide_call")
    def approve(self, *, amount: int) -> None:
        """Within the quota and above the minimum score: the track's amount."""
        self.amount = amount

    @transition(field=status, source=Status.IN_REVIEW, target=Status.REJECTED, permission="theses.decide_call")
    def reject(self) -> None:
        """Outside the quota or below the minimum score."""

    @transition(
        field=status,
        source=[Status.APPROVED, Status.OVERDUE],
        target=Status.FINAL_SUBMITTED,
        permission="theses.own_application",
        conditions=[is_subsidy],
    )
    def submit_final(self, *, at) -> None:
        """The subsidised thesis, finished (a late one is still taken until RDEC cancels)."""
        self.final_submitted_at = at

    @transition(
        field=status,
        source=Status.FINAL_SUBMITTED,
        target=Status.ACCEPTED,
        permission="theses.run_call",
        conditions=[is_subsidy],
    )
    def accept_final(self) -> None:
        """RDEC accepts the final thesis; the subsidy is paid."""

    @transition(field=status, source=Status.APPROVED, target=Status.OVERDUE, conditions=[is_subsidy])
    def mark_overdue(self) -> None:
        """The final thesis was not in by the due date (the system, daily)."""

    @transition(
        field=status,
        source=[Status.APPROVED, Status.OVERDUE],
        target=Status.CANCELLED,
        permission="theses.run_call",
        conditions=[is_subsidy],
    )
    def cancel(self, *, note: str) -> None:
        """RDEC cancels the subsidy, with the reason."""
        self.note = note

    @transition(
        field=status,
        source=Status.APPROVED,
        target=Status.FORWARDED,
        permission="theses.run_call",
        conditions=[is_award],
    )
    def forward(self) -> None:
        """The awarded thesis goes to the agencies concerned for adoption."""

    @transition(
        field=status, source=[Status.ACCEPTED, Status.FORWARDED], target=Status.CLOSED, permission="theses.run_call"
    )
    def close(self) -> None:
        """Nothing more to do."""


class ThesisDocument(models.Model):
    """A file of an application: the research plan, the thesis, or the final thesis (PDF, DOCX or ODT)."""

    class Role(models.TextChoices):
        PLAN = "plan", _("研究計畫")
        THESIS = "thesis", _("學位論文")
        FINAL = "final", _("論文完稿")
        OTHER = "other", _("其他證明文件")

    class Format(models.TextChoices):
        PDF = "pdf", "PDF"
        DOCX = "docx", "DOCX"
        ODT = "odt", "ODT"

    application = models.ForeignKey(ThesisApplication, on_delete=models.CASCADE, related_name="documents")
    role = models.CharField(_("文件"), max_length=16, choices=Role.choices)
    file = models.FileField(_("檔案"), upload_to="theses/%Y/")
    name = models.CharField(_("檔名"), max_length=255)
    format = models.CharField(_("格式"), max_length=8, choices=Format.choices)
    size = models.PositiveIntegerField(_("大小（位元組）"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("申請文件")
        verbose_name_plural = _("申請文件")
        ordering = ["application", "pk"]

    def __str__(self) -> str:
        return self.name
