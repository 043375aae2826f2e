"""Amounts of NT$ as people read them in government papers: 億 and 萬 with thousands separators, never rounded.

    format_money(359_533_000) == "3億5,953萬3,000元"
    format_money(270_000_000) == "2億7,000萬元"
    format_money(12_345) == "1萬2,345元"

The same grouping is done in the browser beside a money input (`static/workflow_site/money.js`).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

UNITS = ((10**12, "兆"), (10**8, "億"), (10**4, "萬"))


def format_money(amount) -> str:
    """Whole NT$ in 兆/億/萬 groups, each group with thousands separators; "" for none; non-integers as they are."""
    if amount is None or amount == "":
        return ""
    try:
        number = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        return str(amount)
    if not number.is_finite() or number != number.to_integral_value():
        return str(amount)
    value = int(number)
    if value == 0:
        return _("0元")
    sign, value = ("-" if value < 0 else ""), abs(value)
    parts = []
    for size, unit in UNITS:
        group, value = divmod(value, size)
        if group:
            parts.append(f"{group:,}{unit}")
    if value:
        parts.append(f"{value:,}")
    return f"{sign}{''.join(parts)}元"
