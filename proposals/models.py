"""市政創新提案: yearly rounds, agencies' proposals, forwarding for adoption (參採, reviews.Adoption)."""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition

from workflow_site.models import StatefulModel
from workflow_site.transitions import refusal

from .errors import Code


class Grade(models.TextChoices):
    EXCELLENT = "excellent", _("優等")
    A = "a", _("甲等")
    B = "b", _("乙等")
    MERIT = "merit", _("佳作")


GRADE_ORDER = [Grade.EXCELLENT, Grade.A, Grade.B, Grade.MERIT]


def _default_quotas() -> list[dict]:
    # The 2018 (民國107年) round: 優等 4, 甲等 17, 乙等 13, 佳作 11.
    return [
        {"grade": Grade.EXCELLENT, "count": 4},
        {"grade": Grade.A, "count": 17},
        {"grade": Grade.B, "count": 13},
        {"grade": Grade.MERIT, "count": 11},
    ]


def _default_forward_grades() -> list[str]:
    return [Grade.EXCELLENT, Grade.A, Grade.B]  # 乙等 or better goes to the agencies concerned


# Stage rules the transitions state once: the buttons (available_transitions) and the services both read them.


def not_finalised(round_) -> bool:
    """Grades are fixed once."""
    return round_.finalised_at is None


@refusal(_("結果尚未確定，不能公布。"), code=Code.NOT_FINALISED)
def finalised(round_) -> bool:
    return round_.finalised_at is not None


@refusal(_("已有提案完成書面初審，不能再重新開放收件。"), code=Code.SCREENING_STARTED)
def screening_not_started(round_) -> bool:
    """Screening has started once any proposal of the round has been screened (passed or not)."""
    screened = (Proposal.Status.SCREENED_OUT, Proposal.Status.IN_REVIEW, Proposal.Status.GRADED)
    return not round_.proposals.filter(status__in=screened).exists()


class ProposalRound(StatefulModel):
    class Status(models.TextChoices):
        PLANNING = "planning", _("規劃中")
        OPEN = "open", _("受理提案")
        SCREENING = "screening", _("書面初審")
        SCORING = "scoring", _("委員評分")
        GRADING = "grading", _("評定等第")
        PUBLISHED = "published", _("已公布")
        CLOSED = "closed", _("已結案")

    year = models.PositiveSmallIntegerField(_("年度（民國）"), unique=True, validators=[MinValueValidator(1)])
    title = models.CharField(_("名稱"), max_length=200)
    submission_deadline = models.DateField(_("提案截止日"))
    scoring_deadline = models.DateField(_("評分截止日"))
    response_days = models.PositiveSmallIntegerField(_("參採回復期限（工作天）"), default=20)
    panel = models.OneToOneField(
        "reviews.Panel", verbose_name=_("審查會"), on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    grade_quotas = models.JSONField(_("等第名額"), default=_default_quotas)
    forward_grades = models.JSONField(_("轉請參採之等第"), default=_default_forward_grades)
    status = FSMField(_("狀態"), default=Status.PLANNING, choices=Status.choices, protected=True)
    finalised_at = models.DateTimeField(_("結果確定時間"), null=True, blank=True)
    published_at = models.DateTimeField(_("公布時間"), null=True, blank=True)
    created_at = models.DateTimeField(_("建立時間"), auto_now_add=True)

    class Meta:
        verbose_name = _("提案年度")
        verbose_name_plural = _("提案年度")
        ordering = ["-year"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_configurable(self) -> bool:
        """Its settings (dates, rubric, quotas, panel rule) may change until submissions close."""
        return self.status in CONFIGURABLE

    @transition(field=status, source=Status.PLANNING, target=Status.OPEN, permission="proposals.run_round")
    def open(self) -> None:
        """Agencies may submit proposals."""

    @transition(field=status, source=Status.OPEN, target=Status.SCREENING, permission="proposals.run_round")
    def close_submissions(self) -> None:
        """No more proposals; RDEC screens what was submitted."""

    @transition(
        field=status,
        source=Status.SCREENING,
        target=Status.OPEN,
        permission="proposals.run_round",
        conditions=[screening_not_started],
    )
    def reopen_submissions(self) -> None:
        """A way back from closing too early: agencies may send again (the reason is logged)."""

    @transition(field=status, source=Status.SCREENING, target=Status.SCORING, permission="proposals.run_round")
    def start_scoring(self) -> None:
        """The panel scores the proposals that passed screening."""

    @transition(field=status, source=Status.SCORING, target=Status.GRADING, permission="proposals.run_round")
    def close_scoring(self) -> None:
        """Scoring ends; the what-if preview becomes available."""

    @transition(
        field=status,
        source=Status.GRADING,
        target=Status.GRADING,
        permission="proposals.finalise_round",
        conditions=[not_finalised],
    )
    def finalise(self, *, at) -> None:
        """Grades are fixed; the proposals are graded."""
        self.finalised_at = at

    @transition(
        field=status,
        source=Status.GRADING,
        target=Status.PUBLISHED,
        permission="proposals.run_round",
        conditions=[finalised],
    )
    def publish(self, *, at) -> None:
        """The results appear on the public page."""
        self.published_at = at

    @transition(field=status, source=Status.PUBLISHED, target=Status.CLOSED, permission="proposals.run_round")
    def close(self) -> None:
        """The round is over."""


# Until submissions close the round is still being set up: dates, rubric, quotas and the panel rule may change.
CONFIGURABLE = (ProposalRound.Status.PLANNING, ProposalRound.Status.OPEN)


@refusal(_("本年度已截止收件。"), code=Code.ROUND_NOT_OPEN)
def round_is_open(proposal) -> bool:
    return proposal.round.status == ProposalRound.Status.OPEN


@refusal(_("本年度目前不在書面初審階段。"), code=Code.ROUND_NOT_SCREENING)
def round_is_screening(proposal) -> bool:
    return proposal.round.status == ProposalRound.Status.SCREENING


@refusal(_("此提案的等第不在轉請參採範圍內。"), code=Code.GRADE_NOT_FORWARDED)
def grade_is_forwarded(proposal) -> bool:
    return proposal.grade in proposal.round.forward_grades


class Proposal(StatefulModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PENDING_APPROVAL = "pending_approval", _("待機關主管核定")
        SUBMITTED = "submitted", _("已送研考會")
        SCREENED_OUT = "screened_out", _("初審未通過")
        IN_REVIEW = "in_review", _("委員審查中")
        GRADED = "graded", _("已評定")
        FORWARDED = "forwarded", _("已轉請參採")
        CLOSED = "closed", _("已結案")
        WITHDRAWN = "withdrawn", _("已撤回")

    round = models.ForeignKey(ProposalRound, verbose_name=_("年度"), on_delete=models.PROTECT, related_name="proposals")
    agency = models.ForeignKey(
        "accounts.Agency", verbose_name=_("提案機關"), on_delete=models.PROTECT, related_name="proposals"
    )
    title = models.CharField(_("提案名稱"), max_length=200)
    summary = models.TextField(_("摘要"))
    problem = models.TextField(_("問題與現況"), blank=True)
    approach = models.TextField(_("創新作法"), blank=True)
    benefits = models.TextField(_("預期效益"), blank=True)
    contact_name = models.CharField(_("聯絡人"), max_length=100, blank=True)
    contact_phone = models.CharField(_("聯絡電話"), max_length=50, blank=True)
    contact_email = models.EmailField(_("聯絡信箱"), blank=True)
    status = FSMField(_("狀態"), default=Status.DRAFT, choices=Status.choices, protected=True)
    grade = models.CharField(_("等第"), max_length=16, choices=Grade.choices, blank=True)
    rank = models.PositiveIntegerField(_("名次"), null=True, blank=True)
    score = models.DecimalField(_("總分"), max_digits=6, decimal_places=2, null=True, blank=True)
    screening_reason = models.TextField(_("初審意見"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("承辦人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("建立時間"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新時間"), auto_now=True)
    # Its questions to the agencies concerned once forwarded: `proposal.adoptions`, and
    # `Adoption.objects.filter(proposal=...)` reads only proposals' questions.
    adoptions = GenericRelation(
        "reviews.Adoption",
        content_type_field="subject_type",
        object_id_field="subject_id",
        related_query_name="proposal",
    )

    class Meta:
        verbose_name = _("創新提案")
        verbose_name_plural = _("創新提案")
        ordering = ["round", "pk"]
        indexes = [
            models.Index(fields=["round", "status"], name="proposal_round_status"),
            models.Index(fields=["agency", "status"], name="proposal_agency_status"),
        ]

    def __str__(self) -> str:
        return self.title

    @transition(
        field=status,
        source=Status.DRAFT,
        target=Status.PENDING_APPROVAL,
        permission="proposals.draft_proposal",
        conditions=[round_is_open],
    )
    def submit(self) -> None:
        """The clerk hands the proposal to the agency's head for sign-off."""

    @transition(
        field=status, source=Status.PENDING_APPROVAL, target=Status.SUBMITTED, permission="proposals.sign_off_proposal"
    )
    def approve(self) -> None:
        """The head signs off: the proposal goes to RDEC."""

    @transition(
        field=status, source=Status.PENDING_APPROVAL, target=Status.DRAFT, permission="proposals.sign_off_proposal"
    )
    def return_to_draft(self) -> None:
        """The head sends it back to the clerk (the reason is logged)."""

    @transition(
        field=status,
        source=[Status.DRAFT, Status.PENDING_APPROVAL],
        target=Status.WITHDRAWN,
        permission="proposals.draft_proposal",
    )
    def withdraw(self) -> None:
        """The agency withdraws the proposal before it reaches RDEC."""

    @transition(
        field=status,
        source=Status.SUBMITTED,
        target=Status.IN_REVIEW,
        permission="proposals.run_round",
        conditions=[round_is_screening],
    )
    def pass_screening(self, *, reason: str) -> None:
        """Written screening passed: the proposal goes to the panel."""
        self.screening_reason = reason

    @transition(
        field=status,
        source=Status.SUBMITTED,
        target=Status.SCREENED_OUT,
        permission="proposals.run_round",
        conditions=[round_is_screening],
    )
    def fail_screening(self, *, reason: str) -> None:
        """Written screening failed, with the reason."""
        self.screening_reason = reason

    @transition(field=status, source=Status.IN_REVIEW, target=Status.GRADED, permission="proposals.finalise_round")
    def set_grade(self) -> None:
        """Applied to the whole round at once when it is finalised (see services.round_finalise)."""

    @transition(
        field=status,
        source=Status.GRADED,
        target=Status.FORWARDED,
        permission="proposals.run_round",
        conditions=[grade_is_forwarded],
    )
    def forward(self) -> None:
        """Sent to the agencies concerned, who must answer whether they adopt it."""

    @transition(field=status, source=[Status.FORWARDED, Status.GRADED], target=Status.CLOSED)
    def close(self) -> None:
        """Every agency asked has answered (or the round closed)."""


class Attachment(models.Model):
    """A proposal's file: PDF, DOCX or ODT, recognised by content, up to 20 MB."""

    class Kind(models.TextChoices):
        PDF = "pdf", "PDF"
        DOCX = "docx", "DOCX"
        ODT = "odt", "ODT"

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("檔案"), upload_to="proposals/%Y/")
    name = models.CharField(_("檔名"), max_length=255)
    kind = models.CharField(_("格式"), max_length=8, choices=Kind.choices)
    size = models.PositiveIntegerField(_("大小（位元組）"))
    is_award_report = models.BooleanField(_("得獎報告"), default=False)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["proposal", "pk"]

    def __str__(self) -> str:
        return self.name
