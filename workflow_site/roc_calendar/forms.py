import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import CalendarOverride
from .roc import format_roc_date_short, parse_roc_date


class ROCDateField(forms.DateField):
    """A date typed in ROC years (民國107年12月31日, 107/12/31, 107.12.31, 1071231) or ISO."""

    default_error_messages = {"invalid": _("日期格式不正確，請以民國年輸入，例如 107/12/31")}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, dt.date | dt.datetime):
            return parse_roc_date(value)
        try:
            return parse_roc_date(str(value), allow_ad=True)
        except ValidationError as error:
            # Keep the parser's precise message (e.g. 民國107年2月沒有30日); map only the generic one.
            if error.code == "invalid":
                raise ValidationError(self.error_messages["invalid"], code="invalid") from None
            raise

    def prepare_value(self, value):
        # Show stored dates the way people type them, so a redisplayed form reads in ROC years.
        if isinstance(value, dt.date):
            return format_roc_date_short(value)
        return value


class OfficialCalendarUploadForm(forms.Form):
    file = forms.FileField(
        label=_("辦公日曆表 CSV 檔"),
        help_text=_("行政院人事行政總處「中華民國政府行政機關辦公日曆表」，可為 Big5 或 UTF-8 編碼。"),
    )


class CalendarOverrideForm(forms.Form):
    """A day added by hand: a typhoon closure, a holiday or a make-up working day, city-wide or for one district."""

    date = ROCDateField(label=_("日期"), help_text=_("以民國年輸入，例如 114/07/25。"))
    kind = forms.ChoiceField(label=_("類別"), choices=CalendarOverride.Kind.choices)
    district_code = forms.CharField(
        label=_("區公所機關代碼"),
        max_length=32,
        required=False,
        help_text=_("空白表示全市適用；填寫區公所的機關代碼則只適用於該區。"),
    )
    reason = forms.CharField(label=_("事由"), max_length=200, help_text=_("例如：颱風停班停課、補行上班。"))


class CalendarOverrideCorrectForm(forms.Form):
    """A correction of an existing day: its kind and reason (the date and district are what identify it)."""

    kind = forms.ChoiceField(label=_("類別"), choices=CalendarOverride.Kind.choices)
    reason = forms.CharField(label=_("事由"), max_length=200)


class CalendarYearForm(forms.Form):
    """?year= on the list, in ROC years."""

    year = forms.IntegerField(min_value=1, max_value=200)
