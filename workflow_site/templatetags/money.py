"""Amounts of money in the pages.

- `{{ amount|money }}`: "3億5,953萬3,000元", how an amount is read in a sentence or a field (`workflow_site.money`).
- `{{ amount|thousands }}`: "30,000", for dense numeric table columns (the zh-Hant locale groups no digits).
"""

from decimal import Decimal, InvalidOperation

from django import template

from workflow_site.money import format_money

register = template.Library()


@register.filter
def money(value) -> str:
    """An integer NT$ amount in 億/萬 with thousands separators and 元; "" for none."""
    return format_money(value)


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
