"""Form fields every back-office page shares."""

from __future__ import annotations

import re
import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .money import format_money

# Separators people type inside an amount: commas (half- and full-width after NFKC), spaces, 元 at the end.
_SEPARATORS = re.compile(r"[,\s_]")
MAX_DIGITS = 16  # beyond any budget; refuses a pasted 10,000-digit number before int() reads it


class MoneyInput(forms.TextInput):
    """A text box for NT$ with the amount read out beside it (3億5,953萬3,000元), updated as the user types."""

    template_name = "workflow_site/widgets/money.html"

    def __init__(self, attrs=None):
        super().__init__({"inputmode": "numeric", "autocomplete": "off", "data-money": "", **(attrs or {})})

    def format_value(self, value):
        # Redisplay a stored amount grouped as people type it ("270,000,000"); what the user typed stays as typed.
        if isinstance(value, int):
            return f"{value:,}"
        return super().format_value(value)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        try:
            words = format_money(MoneyField.parse(value)) if value not in (None, "") else ""
        except ValidationError:
            words = ""
        context["widget"]["words"] = words
        return context


class MoneyField(forms.IntegerField):
    """Whole NT$: accepts "270,000,000", "２７０，０００，０００", "270 000 000 元"; refuses fractions, negatives
    (unless `min_value` allows them) and amounts beyond `max_value`, each with a message in Chinese."""

    widget = MoneyInput
    default_error_messages = {
        "invalid": _("請輸入新臺幣金額（整數，可用千分位逗號），例如 270,000,000"),
        "max_value": _("金額不可超過 %(limit_value)s 元"),
        "min_value": _("金額不可小於 %(limit_value)s 元"),
    }

    def __init__(self, *, min_value=0, max_value=10**15 - 1, **kwargs):
        super().__init__(min_value=min_value, max_value=max_value, **kwargs)

    @classmethod
    def parse(cls, value) -> int:
        if isinstance(value, int):
            return value
        text = unicodedata.normalize("NFKC", str(value)).strip()
        text = _SEPARATORS.sub("", text.removeprefix("新臺幣").removesuffix("元"))
        if not re.fullmatch(rf"-?\d{{1,{MAX_DIGITS}}}", text):
            raise ValidationError(cls.default_error_messages["invalid"], code="invalid")
        return int(text)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        return self.parse(value)
