from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, FSMField, transition

from workflow_site.models import StatefulModel

from . import registry


class Channel(models.TextChoices):
    EMAIL = "email", _("電子郵件")
    IN_APP = "in_app", _("系統內通知")


DEFAULT_SUBJECT = "【提醒】{{ title }}將於{{ due_date|roc_date }}到期"
DEFAULT_BODY = """{{ recipient }} 您好：

{% if on_behalf_of %}您目前代理 {{ on_behalf_of }} 的職務，以下事項原應由其辦理。
{% endif %}{{ kind_label }}「{{ title }}」的期限為{{ due_date|roc_date }}{% if days_overdue > 0 %}，\
已逾期 {{ days_overdue }} 個工作天{% elif days_left > 0 %}，尚餘 {{ days_left }} 個工作天\
{% else %}，即為今日{% endif %}。

請至系統辦理：{{ url }}

研考會工作流程系統（本信由系統自動寄發，請勿直接回覆）
"""
DEFAULT_ESCALATION_SUBJECT = "【逾期通知】{{ title }}已逾期 {{ days_overdue }} 個工作天"
DEFAULT_ESCALATION_BODY = """{{ recipient }} 您好：

{% if on_behalf_of %}您目前代理 {{ on_behalf_of }} 的職務。
{% endif %}貴屬{{ kind_label }}「{{ title }}」的期限為{{ due_date|roc_date }}，\
至今已逾期 {{ days_overdue }} 個工作天，尚未辦理。
承辦人：{{ assignees }}

請督促辦理：{{ url }}

研考會工作流程系統（本信由系統自動寄發，請勿直接回覆）
"""


def _default_offsets() -> list[int]:
    return [-3, 0, 1]


def _default_channels() -> list[str]:
    return [Channel.EMAIL, Channel.IN_APP]


class ReminderRule(models.Model):
    """When and how the people responsible for a kind of deadline are reminded, and when it escalates."""

    kind = models.CharField(_("期限類別"), max_length=64, db_index=True)
    name = models.CharField(_("規則名稱"), max_length=100)
    offsets = models.JSONField(
        _("提醒時點（工作天）"),
        default=_default_offsets,
        help_text=_("相對於期限的工作天數，負數為期限前、0 為當天、正數為逾期後，例如 [-3, 0, 1]。"),
    )
    channels = models.JSONField(_("通知管道"), default=_default_channels)
    escalate_after = models.PositiveSmallIntegerField(
        _("逾期幾個工作天後通知主管"), null=True, blank=True, help_text=_("留空則不通知主管。")
    )
    subject_template = models.CharField(_("提醒主旨範本"), max_length=200, default=DEFAULT_SUBJECT)
    body_template = models.TextField(_("提醒內文範本"), default=DEFAULT_BODY)
    escalation_subject_template = models.CharField(
        _("逾期通知主旨範本"), max_length=200, default=DEFAULT_ESCALATION_SUBJECT
    )
    escalation_body_template = models.TextField(_("逾期通知內文範本"), default=DEFAULT_ESCALATION_BODY)
    active = models.BooleanField(_("啟用"), default=True)

    class Meta:
        verbose_name = _("提醒規則")
        verbose_name_plural = _("提醒規則")
        ordering = ["kind", "pk"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.template import Template, TemplateSyntaxError

        errors: dict[str, list] = {}
        if registry.get(self.kind) is None:
            errors["kind"] = [_("未知的期限類別：%(kind)s") % {"kind": self.kind}]
        offsets = self.offsets
        if (
            not isinstance(offsets, list)
            or not offsets
            or not all(isinstance(o, int) and not isinstance(o, bool) and -60 <= o <= 60 for o in offsets)
        ):
            errors["offsets"] = [_("提醒時點須為 -60 到 60 之間的整數清單，例如 [-3, 0, 1]。")]
        elif len(set(offsets)) != len(offsets):
            errors["offsets"] = [_("提醒時點不可重複。")]
        if not isinstance(self.channels, list) or not self.channels or not set(self.channels) <= set(Channel.values):
            errors["channels"] = [_("通知管道須為 email、in_app 其中之一或兩者。")]
        for field in ("subject_template", "body_template", "escalation_subject_template", "escalation_body_template"):
            try:
                Template(getattr(self, field))
            except TemplateSyntaxError as exc:
                errors[field] = [_("範本語法錯誤：%(error)s") % {"error": exc}]
        if errors:
            raise ValidationError(errors)


class NotificationPreference(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("使用者"),
        on_delete=models.CASCADE,
        related_name="notification_preference",
    )
    daily_digest = models.BooleanField(_("以每日摘要寄送提醒"), default=False)

    class Meta:
        verbose_name = _("通知偏好")
        verbose_name_plural = _("通知偏好")

    def __str__(self) -> str:
        return str(self.user)


NOTICE_KIND = "notice"  # the `kind` of every notice; no deadline source has it, so a notice is never cancelled


class Notification(StatefulModel):
    """One reminder to one person on one channel: the row is also the proof that notice was given."""

    class Purpose(models.TextChoices):
        REMINDER = "reminder", _("提醒")
        ESCALATION = "escalation", _("逾期通知主管")
        NOTICE = "notice", _("事項通知")

    class State(models.TextChoices):
        PENDING = "pending", _("待寄送")
        SENT = "sent", _("已送達")
        RETRYING = "retrying", _("重試中")
        DEAD = "dead", _("寄送失敗")
        CANCELLED = "cancelled", _("已取消")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("收件人"), on_delete=models.PROTECT, related_name="notifications"
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("代理對象"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    content_type = models.ForeignKey(
        ContentType, verbose_name=_("資料類型"), on_delete=models.PROTECT, related_name="+"
    )
    object_id = models.PositiveBigIntegerField(_("資料編號"))
    item = GenericForeignKey("content_type", "object_id")
    kind = models.CharField(_("期限類別"), max_length=64)
    item_title = models.CharField(_("事項"), max_length=300)
    url = models.CharField(_("連結"), max_length=500)
    # None for a notice (`Purpose.NOTICE`): sent once because something happened, not by a rule.
    rule = models.ForeignKey(
        ReminderRule, verbose_name=_("規則"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    purpose = models.CharField(_("性質"), max_length=16, choices=Purpose.choices, default=Purpose.REMINDER)
    offset = models.SmallIntegerField(_("提醒時點"))
    due_date = models.DateField(_("期限"))
    channel = models.CharField(_("管道"), max_length=16, choices=Channel.choices)
    digest = models.BooleanField(_("併入每日摘要"), default=False)
    state = FSMField(_("狀態"), default=State.PENDING, choices=State.choices, protected=True)
    to_address = models.EmailField(_("收件地址"), blank=True)
    subject = models.CharField(_("主旨"), max_length=300)
    body = models.TextField(_("內文"))
    attempts = models.PositiveSmallIntegerField(_("寄送次數"), default=0)
    last_error = models.TextField(_("最後錯誤"), blank=True)
    next_attempt_at = models.DateTimeField(_("下次嘗試"), null=True, blank=True)
    queued_at = models.DateTimeField(_("排入佇列時間"), null=True, blank=True)
    # The send task holding the row (its Celery task id, the same when redelivered) and until when.
    claimed_by = models.CharField(_("寄送工作"), max_length=64, blank=True)
    claimed_until = models.DateTimeField(_("寄送保留至"), null=True, blank=True)
    sent_at = models.DateTimeField(_("送達時間"), null=True, blank=True)
    read_at = models.DateTimeField(_("已讀時間"), null=True, blank=True)
    created_at = models.DateTimeField(_("建立時間"), auto_now_add=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # Exactly once per recipient, item, rule, moment and channel: re-running the scan adds nothing.
            models.UniqueConstraint(
                fields=["recipient", "content_type", "object_id", "rule", "purpose", "offset", "due_date", "channel"],
                name="notification_once",
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "channel", "read_at"], name="notification_inbox"),
            models.Index(fields=["state", "channel"], name="notification_outbox"),
            models.Index(fields=["content_type", "object_id"], name="notification_item"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient}：{self.subject}"

    @transition(field=state, source=[State.PENDING, State.RETRYING], target=State.SENT)
    def mark_sent(self, *, at) -> None:
        """The SMTP server accepted the message (or a digest carrying it)."""
        self.attempts += 1
        self.sent_at = at
        self.last_error = ""
        self.next_attempt_at = None

    @transition(field=state, source=[State.PENDING, State.RETRYING], target=RETURN_VALUE(State.RETRYING, State.DEAD))
    def mark_failed(self, *, error: str, max_attempts: int, next_attempt_at) -> str:
        """An attempt failed; retry later, or give up after `max_attempts`."""
        self.attempts += 1
        self.last_error = error[:2000]
        if self.attempts >= max_attempts:
            self.next_attempt_at = None
            return self.State.DEAD
        self.next_attempt_at = next_attempt_at
        return self.State.RETRYING

    @transition(field=state, source=[State.PENDING, State.RETRYING], target=State.CANCELLED)
    def cancel(self) -> None:
        """The item was done (or withdrawn) before the reminder went out."""
