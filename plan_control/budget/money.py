"""Amounts of NT$ as people write them in budget papers, exactly (never rounded): 億 and 萬 where they fit."""

from __future__ import annotations

from decimal import Decimal

YI = 10**8  # 億
WAN = 10**4  # 萬


def format_amount(amount: int) -> str:
    """ "91.64 億元" (億 to two decimals), "5,000 萬元", or "12,345 元" when neither is exact."""
    if amount and amount % (YI // 100) == 0 and abs(amount) >= YI:
        yi = Decimal(amount) / YI
        text = f"{yi:,.2f}".rstrip("0").rstrip(".")
        return f"{text} 億元"
    if amount and amount % WAN == 0:
        return f"{amount // WAN:,} 萬元"
    return f"{amount:,} 元"
