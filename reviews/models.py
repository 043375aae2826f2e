"""The panel-scoring engine shared by proposals, theses and budget reviews.

A Panel is attached to any round (generic relation) and scores ReviewItems (each pointing at the domain
object: a proposal, an application, a budget request) with a weighted Rubric. Every member has one
ScoreSheet per item, holding `{criterion_code: score}` and its weighted total: one row per reviewer and
item keeps the reviewer's page one query and the aggregation one scan of the sheets.

An Adoption (參採) is what follows an award: one agency asked whether it adopts the awarded subject (a proposal,
a thesis), pointing at it the same generic way.
"""

from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition

from workflow_site.models import StatefulModel


class Rubric(models.Model):
    name = models.CharField(_("評分表名稱"), max_length=200)
    description = models.TextField(_("說明"), blank=True)

    class Meta:
        verbose_name = _("評分表")
        verbose_name_plural = _("評分表")

    def __str__(self) -> str:
        return self.name


class Criterion(models.Model):
    rubric = models.ForeignKey(Rubric, on_delete=models.CASCADE, related_name="criteria")
    order = models.PositiveSmallIntegerField(_("順序"))
    code = models.SlugField(_("代碼"), max_length=32)
    name = models.CharField(_("評分項目"), max_length=200)
    weight = models.DecimalField(
        _("權重（%）"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
    )
    max_score = models.DecimalField(
        _("滿分"), max_digits=6, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    guidance = models.TextField(_("評分說明"), blank=True)

    class Meta:
        verbose_name = _("評分項目")
        verbose_name_plural = _("評分項目")
        ordering = ["rubric", "order"]
        constraints = [
            models.UniqueConstraint(fields=["rubric", "code"], name="criterion_code_unique"),
            models.UniqueConstraint(fields=["rubric", "order"], name="criterion_order_unique"),
            models.CheckConstraint(condition=Q(weight__gt=0) & Q(weight__lte=100), name="criterion_weight_range"),
            models.CheckConstraint(condition=Q(max_score__gt=0), name="criterion_max_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.weight}%）"


class Aggregation(models.TextChoices):
    MEAN = "mean", _("平均")
    TRIMMED_MEAN = "trimmed_mean", _("去除最高最低分後平均")
    ZSCORE = "zscore", _("標準分數")


class Panel(StatefulModel):
    """A review panel for one round: who scores, how scores combine, and the grade bands."""

    class Status(models.TextChoices):
        FORMING = "forming", _("籌組中")
        SCORING = "scoring", _("評分中")
        CLOSED = "closed", _("評分結束")
        FINALISED = "finalised", _("結果確定")

    round_type = models.ForeignKey(
        ContentType, verbose_name=_("年度資料類型"), on_delete=models.PROTECT, related_name="+"
    )
    round_id = models.PositiveBigIntegerField(_("年度資料編號"))
    round = GenericForeignKey("round_type", "round_id")
    title = models.CharField(_("審查會名稱"), max_length=200)
    rubric = models.ForeignKey(Rubric, verbose_name=_("評分表"), on_delete=models.PROTECT, related_name="panels")
    aggregation = models.CharField(_("計分方式"), max_length=16, choices=Aggregation.choices, default=Aggregation.MEAN)
    min_members = models.PositiveSmallIntegerField(_("最少委員人數"), default=7)
    min_external = models.PositiveSmallIntegerField(_("最少外部委員人數"), default=0)
    deviation_points = models.DecimalField(_("評分差異提示門檻（分）"), max_digits=5, decimal_places=2, default=15)
    hide_agency = models.BooleanField(_("對委員隱藏提案機關"), default=False)
    scoring_deadline = models.DateField(_("評分期限"), null=True, blank=True)
    status = FSMField(_("狀態"), default=Status.FORMING, choices=Status.choices, protected=True)
    created_at = models.DateTimeField(_("建立時間"), auto_now_add=True)

    class Meta:
        verbose_name = _("審查會")
        verbose_name_plural = _("審查會")
        constraints = [
            models.UniqueConstraint(fields=["round_type", "round_id"], name="panel_one_per_round"),
        ]

    def __str__(self) -> str:
        return self.title

    def composition_problems(self) -> list[str]:
        """Why scoring cannot start yet (empty when the composition rule is met)."""
        from django.utils.translation import gettext

        members = [m for m in self.members.all() if not m.reserve]
        problems = []
        if len(members) < self.min_members:
            problems.append(
                gettext("委員人數 %(n)d 人，少於規定的 %(min)d 人。") % {"n": len(members), "min": self.min_members}
            )
        external = sum(1 for m in members if m.kind == PanelMember.Kind.EXTERNAL)
        if external < self.min_external:
            problems.append(
                gettext("外部委員 %(n)d 人，少於規定的 %(min)d 人。") % {"n": external, "min": self.min_external}
            )
        if not any(m.is_chair for m in members):
            problems.append(gettext("尚未指定召集人。"))
        return problems

    @transition(field=status, source=Status.FORMING, target=Status.SCORING, permission="reviews.run_panel")
    def start_scoring(self) -> None:
        """Opens scoring; the service creates the score sheets and the automatic recusals."""

    @transition(field=status, source=Status.SCORING, target=Status.CLOSED, permission="reviews.run_panel")
    def close(self) -> None:
        """Ends scoring: reviewers may now see the panel's scores."""

    @transition(field=status, source=Status.CLOSED, target=Status.SCORING, permission="reviews.run_panel")
    def reopen_scoring(self) -> None:
        """Back to scoring (a chair reopened sheets after the close)."""

    @transition(field=status, source=Status.CLOSED, target=Status.FINALISED, permission="reviews.finalise_panel")
    def finalise(self) -> None:
        """Locks the results: ranks and grades no longer change."""


class PanelMember(models.Model):
    class Kind(models.TextChoices):
        EXTERNAL = "external", _("外部委員")
        INTERNAL = "internal", _("內部委員")

    panel = models.ForeignKey(Panel, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="panel_memberships")
    kind = models.CharField(_("委員類別"), max_length=16, choices=Kind.choices)
    is_chair = models.BooleanField(_("召集人"), default=False)
    # A reserve member scores only the items the chair reassigns to them (when a member is recused).
    reserve = models.BooleanField(_("備位委員"), default=False)

    class Meta:
        verbose_name = _("審查委員")
        verbose_name_plural = _("審查委員")
        ordering = ["panel", "pk"]
        constraints = [models.UniqueConstraint(fields=["panel", "user"], name="panel_member_once")]

    def __str__(self) -> str:
        return str(self.user)


class ReviewItem(models.Model):
    """What a panel scores: a pointer to the domain object, with what recusal and blindness need."""

    panel = models.ForeignKey(Panel, on_delete=models.CASCADE, related_name="items")
    subject_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    subject_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("subject_type", "subject_id")
    title = models.CharField(_("名稱"), max_length=300)
    agency = models.ForeignKey(
        "accounts.Agency", verbose_name=_("機關"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("受審項目")
        verbose_name_plural = _("受審項目")
        ordering = ["panel", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["panel", "subject_type", "subject_id"], name="review_item_once"),
        ]

    def __str__(self) -> str:
        return self.title


class ScoreSheet(StatefulModel):
    """One reviewer's scores for one item."""

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", _("未評分")
        DRAFT = "draft", _("暫存")
        SUBMITTED = "submitted", _("已送出")
        RECUSED = "recused", _("迴避")

    panel = models.ForeignKey(Panel, verbose_name=_("審查會"), on_delete=models.CASCADE, related_name="sheets")
    item = models.ForeignKey(ReviewItem, verbose_name=_("受審項目"), on_delete=models.CASCADE, related_name="sheets")
    member = models.ForeignKey(PanelMember, verbose_name=_("審查委員"), on_delete=models.PROTECT, related_name="sheets")
    status = FSMField(_("狀態"), default=Status.NOT_STARTED, choices=Status.choices, protected=True)
    scores = models.JSONField(_("各項分數"), default=dict, blank=True)
    total = models.DecimalField(_("加權總分"), max_digits=6, decimal_places=2, null=True, blank=True)
    comment = models.TextField(_("評語"), blank=True)
    recusal_reason = models.CharField(_("迴避理由"), max_length=300, blank=True)
    submitted_at = models.DateTimeField(_("送出時間"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新時間"), auto_now=True)

    class Meta:
        verbose_name = _("評分表單")
        verbose_name_plural = _("評分表單")
        ordering = ["item_id", "member_id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "member"], name="score_sheet_once"),
            models.CheckConstraint(
                condition=Q(total__isnull=True) | Q(total__gte=0, total__lte=100), name="sheet_total_range"
            ),
        ]
        indexes = [
            models.Index(fields=["panel", "status"], name="sheet_panel_status"),
            models.Index(fields=["member", "status"], name="sheet_member_status"),
        ]

    def __str__(self) -> str:
        return f"{self.member} / {self.item}"

    @transition(
        field=status, source=[Status.NOT_STARTED, Status.DRAFT], target=Status.DRAFT, permission="reviews.score_sheet"
    )
    def save_draft(self) -> None:
        """Scores kept as a draft; the reviewer may change them until submitting."""

    @transition(
        field=status,
        source=[Status.NOT_STARTED, Status.DRAFT],
        target=Status.SUBMITTED,
        permission="reviews.score_sheet",
    )
    def submit(self, *, at) -> None:
        """Scores handed in; from now on only the chair's logged reopen changes them."""
        self.submitted_at = at

    @transition(field=status, source=Status.SUBMITTED, target=Status.DRAFT, permission="reviews.chair_panel")
    def reopen(self) -> None:
        """The chair gives the sheet back to its reviewer."""
        self.submitted_at = None

    @transition(
        field=status, source=[Status.NOT_STARTED, Status.DRAFT], target=Status.RECUSED, permission="reviews.score_sheet"
    )
    def declare_conflict(self, *, reason: str) -> None:
        """The reviewer steps aside from this item."""
        self.recusal_reason = reason
        self.scores = {}
        self.total = None

    @transition(field=status, source=Status.RECUSED, target=Status.NOT_STARTED, permission="reviews.chair_panel")
    def reinstate(self) -> None:
        """The chair finds no conflict after all: the reviewer scores the item."""
        self.recusal_reason = ""


class GradeBand(models.Model):
    """One grade of a panel, best first: a quota (count or percent of items) and an optional minimum score."""

    panel = models.ForeignKey(Panel, on_delete=models.CASCADE, related_name="bands")
    order = models.PositiveSmallIntegerField(_("順序"))
    grade = models.SlugField(_("等第代碼"), max_length=32)
    label = models.CharField(_("等第名稱"), max_length=50)
    quota_count = models.PositiveIntegerField(_("名額"), null=True, blank=True)
    quota_percent = models.DecimalField(_("名額比例（%）"), max_digits=5, decimal_places=2, null=True, blank=True)
    min_score = models.DecimalField(_("最低分數"), max_digits=5, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name = _("等第")
        verbose_name_plural = _("等第")
        ordering = ["panel", "order"]
        constraints = [
            models.UniqueConstraint(fields=["panel", "grade"], name="band_grade_unique"),
            models.UniqueConstraint(fields=["panel", "order"], name="band_order_unique"),
            models.CheckConstraint(
                condition=~(Q(quota_count__isnull=False) & Q(quota_percent__isnull=False)), name="band_one_quota_kind"
            ),
        ]

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        if self.quota_percent is not None and not (0 <= self.quota_percent <= 100):
            raise ValidationError({"quota_percent": _("名額比例須介於 0 到 100。")})


class TieResolution(models.Model):
    """The chair's order for items tied across a quota boundary (best first); logged, required to finalise."""

    panel = models.ForeignKey(Panel, verbose_name=_("審查會"), on_delete=models.CASCADE, related_name="tie_resolutions")
    item_ids = models.JSONField(_("並列項目（依召集人排序）"))
    reason = models.TextField(_("理由"))
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("排序者"), on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(_("排序時間"), auto_now_add=True)

    class Meta:
        verbose_name = _("同分排序")
        verbose_name_plural = _("同分排序")

    def __str__(self) -> str:
        return f"{self.panel}：{self.item_ids}"


class ItemResult(models.Model):
    """The finalised outcome for one item: locked once the panel is finalised."""

    panel = models.ForeignKey(Panel, verbose_name=_("審查會"), on_delete=models.CASCADE, related_name="results")
    item = models.OneToOneField(ReviewItem, verbose_name=_("受審項目"), on_delete=models.CASCADE, related_name="result")
    score = models.DecimalField(_("總分"), max_digits=6, decimal_places=2, null=True)
    rank = models.PositiveIntegerField(_("名次"), null=True)
    grade = models.SlugField(_("等第"), max_length=32, blank=True)
    sheet_count = models.PositiveSmallIntegerField(_("有效評分數"), default=0)
    # Anonymised reviewer totals in member order ("委員A", ...): what exports may show.
    reviewer_totals = models.JSONField(_("各委員總分（匿名）"), default=list)

    class Meta:
        verbose_name = _("審查結果")
        verbose_name_plural = _("審查結果")
        ordering = ["panel", F("rank").asc(nulls_last=True)]

    def __str__(self) -> str:
        return f"{self.item}：{self.rank}"


class Adoption(StatefulModel):
    """An awarded subject's question to one agency: will you adopt it? (參採)"""

    class Status(models.TextChoices):
        PENDING = "pending", _("待回復")
        ANSWERED = "answered", _("已回復")

    class Response(models.TextChoices):
        ADOPT = "adopt", _("參採")
        PARTIAL = "partial", _("部分參採")
        DECLINE = "decline", _("不參採")

    subject_type = models.ForeignKey(
        ContentType, verbose_name=_("對象類型"), on_delete=models.PROTECT, related_name="+"
    )
    subject_id = models.PositiveBigIntegerField(_("對象編號"))
    subject = GenericForeignKey("subject_type", "subject_id")
    # The subject's title when it was sent: lists and reminders name it without loading the subject.
    title = models.CharField(_("名稱"), max_length=300)
    agency = models.ForeignKey(
        "accounts.Agency", verbose_name=_("受文機關"), on_delete=models.PROTECT, related_name="+"
    )
    status = FSMField(_("狀態"), default=Status.PENDING, choices=Status.choices, protected=True)
    response = models.CharField(_("回復"), max_length=16, choices=Response.choices, blank=True)
    reason = models.TextField(_("理由"), blank=True)
    due_date = models.DateField(_("回復期限"))
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("回復者"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    answered_at = models.DateTimeField(_("回復時間"), null=True, blank=True)
    created_at = models.DateTimeField(_("建立時間"), auto_now_add=True)

    class Meta:
        verbose_name = _("參採回復")
        verbose_name_plural = _("參採回復")
        ordering = ["due_date", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["subject_type", "subject_id", "agency"], name="adoption_once_per_agency"),
            models.CheckConstraint(
                condition=Q(status="pending") | ~Q(response=""), name="adoption_answer_has_response"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} → {self.agency}"

    @transition(field=status, source=Status.PENDING, target=Status.ANSWERED, permission="reviews.answer_adoption")
    def respond(self, *, response: str, reason: str, by, at) -> None:
        """The agency answers adopt / partial / decline, with the reason."""
        self.response = response
        self.reason = reason
        self.answered_by = by
        self.answered_at = at
