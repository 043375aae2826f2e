from django.db import models
from django.utils.translation import gettext_lazy as _

from .roc import format_roc_date


class CalendarOverride(models.Model):
    """A day on which the city departs from the national calendar, city-wide or for one district."""

    class Kind(models.TextChoices):
        CLOSURE = "closure", _("停班停課")
        HOLIDAY = "holiday", _("放假")
        WORKING_DAY = "working_day", _("上班日")

    class Source(models.TextChoices):
        MANUAL = "manual", _("人工輸入")
        OFFICIAL_CSV = "official_csv", _("政府行政機關辦公日曆表")

    date = models.DateField(_("日期"))
    kind = models.CharField(_("類別"), max_length=16, choices=Kind.choices)
    # An Agency code, not a foreign key: the calendar sits below accounts in the dependency order.
    district_code = models.CharField(
        _("區公所機關代碼"),
        max_length=32,
        blank=True,
        default="",
        help_text=_("空白表示全市適用；填寫區公所的機關代碼則只適用於該區。"),
    )
    reason = models.CharField(_("事由"), max_length=200)
    # Lets a reload of the official calendar replace its own rows without touching typhoon closures.
    source = models.CharField(_("來源"), max_length=16, choices=Source.choices, default=Source.MANUAL)
    created_at = models.DateTimeField(_("建立時間"), auto_now_add=True)

    class Meta:
        verbose_name = _("行事曆調整")
        verbose_name_plural = _("行事曆調整")
        ordering = ["-date", "district_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["date", "district_code"], name="roc_calendar_override_unique_date_district"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=["closure", "holiday", "working_day"]),
                name="roc_calendar_override_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        where = self.district_code or _("全市")
        return f"{format_roc_date(self.date)} {self.get_kind_display()}（{where}）"
