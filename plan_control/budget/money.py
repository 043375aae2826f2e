"""Amounts of NT$ in the pre-budget review's messages, as budget papers write them, exactly (never rounded):
億 and 萬 groups with thousands separators, the same reading as every page's `|money` (`workflow_site.money`)."""

from __future__ import annotations

from workflow_site.money import format_money


def format_amount(amount: int) -> str:
    """ "9億1,640萬元", "5,000萬元", "1萬2,345元": `workflow_site.money.format_money`."""
    return format_money(amount)
