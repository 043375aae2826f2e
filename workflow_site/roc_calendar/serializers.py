import datetime as dt

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .roc import parse_roc_date


class ROCDateField(serializers.DateField):
    """Accepts ROC dates (107/12/31, 民國107年12月31日, 1071231) as well as ISO; always answers in ISO."""

    default_error_messages = {
        "invalid": _("日期格式不正確，請以民國年輸入，例如 107/12/31"),
        "datetime": _("請輸入日期，而不是日期時間。"),
    }

    def to_internal_value(self, value):
        if isinstance(value, dt.datetime):
            self.fail("datetime")
        if isinstance(value, dt.date):
            return value
        if not isinstance(value, str):
            self.fail("invalid")
        try:
            return parse_roc_date(value, allow_ad=True)
        except DjangoValidationError as error:
            if error.code == "invalid":
                self.fail("invalid")
            raise serializers.ValidationError(error.messages, code=error.code) from None
