from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition

from workflow_site.models import StatefulModel


class Agency(models.Model):
    class Kind(models.TextChoices):
        BUREAU = "bureau", _("局處")
        DISTRICT_OFFICE = "district_office", _("區公所")
        ENTERPRISE = "enterprise", _("市營事業")
        SCHOOL = "school", _("學校")
        EXTERNAL = "external", _("外部單位")

    code = models.CharField(_("機關代碼"), max_length=32, unique=True)
    name = models.CharField(_("機關名稱"), max_length=200)
    name_en = models.CharField(_("英文名稱"), max_length=200, blank=True)
    kind = models.CharField(_("機關類型"), max_length=20, choices=Kind.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("上級機關"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    active = models.BooleanField(_("使用中"), default=True)

    class Meta:
        verbose_name = _("機關")
        verbose_name_plural = _("機關")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=~Q(parent=F("pk")), name="agency_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    agency = models.ForeignKey(
        Agency, verbose_name=_("所屬機關"), null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    display_name = models.CharField(_("顯示名稱"), max_length=100, blank=True)

    class Meta(AbstractUser.Meta):
        verbose_name = _("使用者")
        verbose_name_plural = _("使用者")

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    def get_full_name(self) -> str:
        # The back office's menu and logs name people as the government does: by their display name.
        return self.display_name or super().get_full_name()


class Delegation(StatefulModel):
    """An acting substitute (職務代理人): between `starts` and `ends` the substitute acts with the user's rights."""

    class Status(models.TextChoices):
        IN_FORCE = "in_force", _("有效")
        REVOKED = "revoked", _("已撤銷")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("請假人"), on_delete=models.PROTECT, related_name="delegations_given"
    )
    substitute = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("職務代理人"),
        on_delete=models.PROTECT,
        related_name="delegations_received",
    )
    starts = models.DateField(_("代理起日"))
    ends = models.DateField(_("代理迄日"))
    reason = models.CharField(_("事由"), max_length=200)
    status = FSMField(_("狀態"), default=Status.IN_FORCE, choices=Status.choices, protected=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("建立者"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("建立時間"), auto_now_add=True)

    class Meta:
        verbose_name = _("職務代理")
        verbose_name_plural = _("職務代理")
        ordering = ["-starts"]
        constraints = [
            models.CheckConstraint(condition=Q(ends__gte=F("starts")), name="delegation_ends_after_starts"),
            models.CheckConstraint(condition=~Q(user=F("substitute")), name="delegation_not_self"),
        ]
        indexes = [models.Index(fields=["substitute", "starts", "ends"], name="delegation_substitute_dates")]

    def __str__(self) -> str:
        return f"{self.substitute} 代理 {self.user}（{self.starts}～{self.ends}）"

    def clean(self) -> None:
        errors = {}
        if self.starts and self.ends and self.ends < self.starts:
            errors["ends"] = _("代理迄日不得早於起日。")
        if self.user_id and self.user_id == self.substitute_id:
            errors["substitute"] = _("代理人不得為本人。")
        if errors:
            raise ValidationError(errors)

    @transition(field=status, source=Status.IN_FORCE, target=Status.REVOKED, permission="accounts.revoke_delegation")
    def revoke(self) -> None:
        """Ends the delegation early; the substitute loses the rights at once."""


class ApiToken(models.Model):
    """An API token (`Authorization: Token <key>`), one per sign-in. Only the key's SHA-256 is stored; it stops
    working when revoked (deleted), unused for `API_TOKEN_IDLE_TIMEOUT` seconds or past `expires_at`."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("使用者"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    key_hash = models.CharField(_("權杖雜湊"), max_length=64, unique=True)
    prefix = models.CharField(_("權杖開頭"), max_length=8)
    created_at = models.DateTimeField(_("建立時間"))
    last_used_at = models.DateTimeField(_("最後使用時間"))
    expires_at = models.DateTimeField(_("到期時間"))
    user_agent = models.CharField(_("用戶端"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("API 權杖")
        verbose_name_plural = _("API 權杖")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
