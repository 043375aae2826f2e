import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

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
