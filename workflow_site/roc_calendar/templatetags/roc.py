import datetime as dt

from django import template

from ..roc import format_roc_date, format_roc_date_short, format_roc_datetime

register = template.Library()


def _guard(formatter, value):
    # A template must never crash on a blank or a string: show it unchanged.
    if not isinstance(value, dt.date):
        return "" if value is None else value
    return formatter(value)


@register.filter
def roc_date(value):
    """民國107年12月31日; aware datetimes are read in Asia/Taipei."""
    return _guard(format_roc_date, value)


@register.filter
def roc_date_short(value):
    """107/12/31; aware datetimes are read in Asia/Taipei."""
    return _guard(format_roc_date_short, value)


@register.filter
def roc_datetime(value):
    """民國107年12月31日 14:05 in Asia/Taipei."""
    return _guard(format_roc_datetime, value)
