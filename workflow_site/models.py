from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMFieldMixin


class StatefulModel(ConcurrentTransitionMixin, models.Model):
    """Base of every model with a lifecycle: optimistic concurrency on its FSM fields.

    `full_clean()` skips the protected state fields: they change only through transitions, and Django's
    `clean_fields` would otherwise try to assign them and trip django-fsm's protection.
    """

    class Meta:
        abstract = True

    def clean_fields(self, exclude=None):
        protected = {
            f.name
            for f in self._meta.concrete_fields
            if isinstance(f, FSMFieldMixin) and getattr(f, "protected", False)
        }
        super().clean_fields(exclude={*(exclude or ()), *protected})


class TransitionLog(models.Model):
    """One row per state change of any workflow object: who, for whom, when, from, to and why."""

    content_type = models.ForeignKey(
        ContentType, verbose_name=_("資料類型"), on_delete=models.PROTECT, related_name="+"
    )
    object_id = models.PositiveBigIntegerField(_("資料編號"))
    subject = GenericForeignKey("content_type", "object_id")
    transition = models.CharField(_("動作"), max_length=64)
    source = models.CharField(_("原狀態"), max_length=64)
    target = models.CharField(_("新狀態"), max_length=64)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("執行者"),
        null=True,  # null: the system itself (a scheduled task)
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    acting_for = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("代理對象"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.TextField(_("理由"), blank=True)
    created_at = models.DateTimeField(_("時間"), default=timezone.now)

    class Meta:
        verbose_name = _("狀態異動紀錄")
        verbose_name_plural = _("狀態異動紀錄")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["content_type", "object_id", "created_at"], name="transitionlog_object")]

    def __str__(self) -> str:
        return f"{self.transition}: {self.source} → {self.target}"


class WorkerHeartbeat(models.Model):
    """Last time each Celery worker ran the heartbeat task: operators see at a glance that background work runs."""

    hostname = models.CharField(_("工作程序"), max_length=255, unique=True)
    last_seen = models.DateTimeField(_("最後回報"))

    class Meta:
        verbose_name = _("背景工作程序")
        verbose_name_plural = _("背景工作程序")
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return self.hostname
