"""Amounts of money in the pages: `{{ amount|thousands }}` -> "30,000" (the zh-Hant locale groups no digits)."""

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def thousands(value) -> str:
    """An integer amount with a comma every three digits; "" for none, the value unchanged when it is no number."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    return f"{number:,.0f}" if number == number.to_integral_value() else f"{number:,}"
