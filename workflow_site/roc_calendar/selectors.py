"""Reads of the city's calendar corrections."""

import datetime as dt

from django.db.models import QuerySet

from .models import CalendarOverride


def overrides_for_year(*, year: int) -> QuerySet[CalendarOverride]:
    """The overrides dated in an AD year, by date, city-wide rows before a district's."""
    return CalendarOverride.objects.filter(date__range=(dt.date(year, 1, 1), dt.date(year, 12, 31))).order_by(
        "date", "district_code"
    )


def override_years() -> list[int]:
    """The AD years that hold at least one override, latest first."""
    return sorted({day.year for day in CalendarOverride.objects.dates("date", "year")}, reverse=True)
