"""Working days in Taiwan: the national calendar (holidays package) plus the city's own overrides."""

import calendar as stdlib_calendar
import datetime as dt
from functools import lru_cache

import holidays
from django.utils import timezone

from .models import CalendarOverride

ONE_DAY = dt.timedelta(days=1)
# Government offices observe the public holidays, plus (before 2001) the government-only ones.
NATIONAL_CATEGORIES = (holidays.PUBLIC, holidays.GOVERNMENT)
# No real calendar has a run of non-working days this long; hitting it means bad override data.
MAX_SEARCH_DAYS = 370


def today() -> dt.date:
    """Today's date in Asia/Taipei."""
    return timezone.localdate()


@lru_cache(maxsize=64)
def national_holidays(year: int) -> holidays.HolidayBase:
    """The Taiwan holidays object for a year, memoised."""
    # The next year is included because its make-up days may fall in this one
    # (the 2015 New Year bridge was worked off on Saturday 2014-12-27).
    return holidays.country_holidays("TW", years=(year, year + 1), categories=NATIONAL_CATEGORIES, language="zh_TW")


def is_national_working_day(day: dt.date) -> bool:
    """Whether the national calendar alone (weekends, holidays, make-up days) says day is worked."""
    return national_holidays(day.year).is_working_day(day)


class WorkingCalendar:
    """Working days for one district (or city-wide), loading overrides one date range per query."""

    def __init__(self, *, district_code: str = ""):
        self.district_code = district_code
        self._loaded_from: dt.date | None = None
        self._loaded_to: dt.date | None = None
        self._overrides: dict[dt.date, bool] = {}

    def preload(self, start: dt.date, end: dt.date) -> None:
        """Load the overrides for [start, end] in one query, skipping what is already loaded."""
        if start > end:
            start, end = end, start
        if self._loaded_from is not None:
            if start >= self._loaded_from and end <= self._loaded_to:
                return
            # Keep one contiguous loaded range so the membership test above stays simple.
            start = min(start, self._loaded_from)
            end = max(end, self._loaded_to)
        codes = {"", self.district_code}
        rows = CalendarOverride.objects.filter(date__range=(start, end), district_code__in=codes).values_list(
            "date", "district_code", "kind"
        )
        overrides: dict[dt.date, bool] = {}
        specific: set[dt.date] = set()
        for date, district_code, kind in rows:
            # The district's own row is more specific than a city-wide one for the same date.
            if date in specific:
                continue
            overrides[date] = kind == CalendarOverride.Kind.WORKING_DAY
            if district_code:
                specific.add(date)
        self._overrides = overrides
        self._loaded_from, self._loaded_to = start, end

    def _ensure(self, day: dt.date, *, forward: bool = True) -> None:
        if self._loaded_from is not None and self._loaded_from <= day <= self._loaded_to:
            return
        # Fetch a generous chunk in the direction of travel so a walk costs one more query, not many.
        chunk = dt.timedelta(days=90)
        if forward:
            self.preload(day, day + chunk)
        else:
            self.preload(day - chunk, day)

    def is_working_day(self, day: dt.date) -> bool:
        """Whether day is worked: an override if there is one, else the national calendar."""
        return self._is_working(day, forward=True)

    def _is_working(self, day: dt.date, *, forward: bool) -> bool:
        self._ensure(day, forward=forward)
        if day in self._overrides:
            return self._overrides[day]
        return is_national_working_day(day)

    def working_day_on_or_after(self, day: dt.date) -> dt.date:
        """The first working day on or after day."""
        return self._walk(day, step=ONE_DAY)

    def working_day_on_or_before(self, day: dt.date) -> dt.date:
        """The last working day on or before day."""
        return self._walk(day, step=-ONE_DAY)

    def _walk(self, day: dt.date, *, step: dt.timedelta) -> dt.date:
        forward = step > dt.timedelta(0)
        for _ in range(MAX_SEARCH_DAYS):
            if self._is_working(day, forward=forward):
                return day
            day += step
        raise ValueError(f"No working day within {MAX_SEARCH_DAYS} days of {day}: check the overrides.")

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day strictly after day."""
        return self.working_day_on_or_after(day + ONE_DAY)

    def previous_working_day(self, day: dt.date) -> dt.date:
        """The last working day strictly before day."""
        return self.working_day_on_or_before(day - ONE_DAY)

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """The n-th working day after day (before it if n < 0); n == 0 gives day or the next working day."""
        if n == 0:
            return self.working_day_on_or_after(day)
        # Enough calendar days for n working days around Lunar New Year, in one query.
        span = dt.timedelta(days=abs(n) * 2 + 30)
        self.preload(day, day + span if n > 0 else day - span)
        for _ in range(abs(n)):
            day = self.next_working_day(day) if n > 0 else self.previous_working_day(day)
        return day

    def monthly_deadline(self, year: int, month: int, day: int = 10) -> dt.date:
        """The day-th of the month (clamped to its length), moved forward to a working day."""
        last = stdlib_calendar.monthrange(year, month)[1]
        nominal = dt.date(year, month, min(max(day, 1), last))
        return self.working_day_on_or_after(nominal)

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """The number of working days in (start, end]; negative when end is before start."""
        if end < start:
            return -self.working_days_between(end, start)
        if end == start:
            return 0
        self.preload(start + ONE_DAY, end)
        count = 0
        day = start + ONE_DAY
        while day <= end:
            count += self.is_working_day(day)
            day += ONE_DAY
        return count


def is_working_day(day: dt.date, *, district_code: str = "") -> bool:
    """Whether day is a working day for the district (or city-wide when district_code is blank)."""
    calendar = WorkingCalendar(district_code=district_code)
    calendar.preload(day, day)
    return calendar.is_working_day(day)


def working_day_on_or_after(day: dt.date, *, district_code: str = "") -> dt.date:
    """The first working day on or after day."""
    return WorkingCalendar(district_code=district_code).working_day_on_or_after(day)


def next_working_day(day: dt.date, *, district_code: str = "") -> dt.date:
    """The first working day strictly after day."""
    return WorkingCalendar(district_code=district_code).next_working_day(day)


def previous_working_day(day: dt.date, *, district_code: str = "") -> dt.date:
    """The last working day strictly before day."""
    return WorkingCalendar(district_code=district_code).previous_working_day(day)


def add_working_days(day: dt.date, n: int, *, district_code: str = "") -> dt.date:
    """The n-th working day after day (before it if n < 0); n == 0 gives day or the next working day."""
    return WorkingCalendar(district_code=district_code).add_working_days(day, n)


def monthly_deadline(year: int, month: int, day: int = 10, *, district_code: str = "") -> dt.date:
    """The day-th of the month (clamped to its length), moved forward to the next working day."""
    return WorkingCalendar(district_code=district_code).monthly_deadline(year, month, day)


def working_days_between(start: dt.date, end: dt.date, *, district_code: str = "") -> int:
    """The number of working days in (start, end]; negative when end is before start."""
    return WorkingCalendar(district_code=district_code).working_days_between(start, end)
