import datetime as dt

import pytest
import time_machine

from workflow_site.roc_calendar import calendar
from workflow_site.roc_calendar.calendar import (
    WorkingCalendar,
    add_working_days,
    is_national_working_day,
    is_working_day,
    monthly_deadline,
    next_working_day,
    previous_working_day,
    working_day_on_or_after,
    working_days_between,
)
from workflow_site.roc_calendar.models import CalendarOverride
from workflow_site.roc_calendar.services import calendar_override_create

D = dt.date
KAOHSIUNG_CITY = ""
QIJIN = "397010000A"  # a district office's Agency code
LINGYA = "397020000A"


def test_national_calendar_from_the_package():
    assert not is_national_working_day(D(2025, 10, 10))  # 國慶日
    assert not is_national_working_day(D(2025, 1, 27))  # bridge day, worked off on 2025-02-08
    assert is_national_working_day(D(2025, 2, 8))  # 補班 Saturday
    assert not is_national_working_day(D(2025, 2, 15))  # an ordinary Saturday
    assert is_national_working_day(D(2025, 2, 10))  # an ordinary Monday


def test_make_up_day_in_the_previous_year_is_known():
    # The 2015 New Year bridge (2015-01-02) was worked off on Saturday 2014-12-27.
    assert is_national_working_day(D(2014, 12, 27))


@pytest.mark.django_db
def test_make_up_saturday_counts_as_a_working_day():
    assert is_working_day(D(2025, 2, 8))
    # Friday 2025-02-07 + 1 working day lands on the make-up Saturday, not Monday.
    assert next_working_day(D(2025, 2, 7)) == D(2025, 2, 8)
    assert add_working_days(D(2025, 2, 7), 2) == D(2025, 2, 10)


@pytest.mark.django_db
def test_deadline_across_national_day():
    # Thursday 2025-10-09 + 1 working day skips 國慶日 (Fri) and the weekend.
    assert next_working_day(D(2025, 10, 9)) == D(2025, 10, 13)
    assert add_working_days(D(2025, 10, 8), 3) == D(2025, 10, 14)
    assert working_day_on_or_after(D(2025, 10, 10)) == D(2025, 10, 13)


@pytest.mark.django_db
def test_lunar_new_year_2025():
    # 2025-01-25 .. 2025-02-02 off; Friday 2025-01-24 is the last working day before.
    assert next_working_day(D(2025, 1, 24)) == D(2025, 2, 3)
    assert previous_working_day(D(2025, 2, 3)) == D(2025, 1, 24)


@pytest.mark.django_db
def test_city_wide_typhoon_closure():
    calendar_override_create(date=D(2025, 10, 7), kind=CalendarOverride.Kind.CLOSURE, reason="颱風停班停課")
    assert not is_working_day(D(2025, 10, 7))
    assert not is_working_day(D(2025, 10, 7), district_code=QIJIN)
    assert next_working_day(D(2025, 10, 6)) == D(2025, 10, 8)
    assert next_working_day(D(2025, 10, 6), district_code=QIJIN) == D(2025, 10, 8)


@pytest.mark.django_db
def test_district_closure_affects_only_that_district():
    calendar_override_create(
        date=D(2025, 10, 7), kind=CalendarOverride.Kind.CLOSURE, district_code=QIJIN, reason="旗津區颱風停班"
    )
    assert not is_working_day(D(2025, 10, 7), district_code=QIJIN)
    assert is_working_day(D(2025, 10, 7), district_code=LINGYA)
    assert is_working_day(D(2025, 10, 7))
    assert add_working_days(D(2025, 10, 6), 1, district_code=QIJIN) == D(2025, 10, 8)
    assert add_working_days(D(2025, 10, 6), 1) == D(2025, 10, 7)


@pytest.mark.django_db
def test_district_row_beats_city_wide_row():
    calendar_override_create(date=D(2025, 10, 7), kind=CalendarOverride.Kind.CLOSURE, reason="颱風")
    calendar_override_create(
        date=D(2025, 10, 7),
        kind=CalendarOverride.Kind.WORKING_DAY,
        district_code=LINGYA,
        reason="苓雅區未達停班標準",
    )
    assert not is_working_day(D(2025, 10, 7))
    assert not is_working_day(D(2025, 10, 7), district_code=QIJIN)
    assert is_working_day(D(2025, 10, 7), district_code=LINGYA)


@pytest.mark.django_db
def test_extra_holiday_and_working_day_corrections():
    calendar_override_create(date=D(2025, 5, 2), kind=CalendarOverride.Kind.HOLIDAY, reason="市府放假")
    calendar_override_create(date=D(2025, 5, 10), kind=CalendarOverride.Kind.WORKING_DAY, reason="補班")
    assert not is_working_day(D(2025, 5, 2))
    assert is_working_day(D(2025, 5, 10))


@pytest.mark.django_db
def test_monthly_deadline_moves_off_weekend_and_holiday():
    # 2025-05-10 is a Saturday -> Monday 12th.
    assert monthly_deadline(2025, 5) == D(2025, 5, 12)
    # 2025-10-10 is 國慶日 (Friday) -> Monday 13th.
    assert monthly_deadline(2025, 10) == D(2025, 10, 13)
    # 2025-09-10 is a Wednesday: unchanged.
    assert monthly_deadline(2025, 9) == D(2025, 9, 10)


@pytest.mark.django_db
def test_monthly_deadline_clamps_to_month_length_and_honours_closures():
    # Feb 2025 has 28 days; the 28th is 和平紀念日 (Friday) -> Monday 3 March.
    assert monthly_deadline(2025, 2, day=31) == D(2025, 3, 3)
    calendar_override_create(
        date=D(2025, 9, 10), kind=CalendarOverride.Kind.CLOSURE, district_code=QIJIN, reason="颱風"
    )
    assert monthly_deadline(2025, 9, district_code=QIJIN) == D(2025, 9, 11)
    assert monthly_deadline(2025, 9) == D(2025, 9, 10)


@pytest.mark.django_db
def test_add_working_days_negative_and_zero():
    assert add_working_days(D(2025, 10, 13), -1) == D(2025, 10, 9)
    assert add_working_days(D(2025, 2, 10), -1) == D(2025, 2, 8)
    assert add_working_days(D(2025, 2, 3), -2) == D(2025, 1, 23)
    assert add_working_days(D(2025, 10, 8), 0) == D(2025, 10, 8)
    assert add_working_days(D(2025, 10, 10), 0) == D(2025, 10, 13)


@pytest.mark.django_db
def test_add_and_subtract_are_inverse_on_working_days():
    start = D(2025, 1, 20)
    for n in (1, 5, 20, 60):
        assert add_working_days(add_working_days(start, n), -n) == start


@pytest.mark.django_db
def test_working_days_between():
    # (Thu 10-09, Tue 10-14]: Mon 13 and Tue 14.
    assert working_days_between(D(2025, 10, 9), D(2025, 10, 14)) == 2
    assert working_days_between(D(2025, 10, 14), D(2025, 10, 9)) == -2
    assert working_days_between(D(2025, 10, 9), D(2025, 10, 9)) == 0
    # The make-up Saturday counts.
    assert working_days_between(D(2025, 2, 7), D(2025, 2, 10)) == 2


@pytest.mark.django_db
def test_add_working_days_over_sixty_days_costs_one_query(django_assert_max_num_queries):
    calendar_override_create(date=D(2025, 3, 5), kind=CalendarOverride.Kind.CLOSURE, reason="颱風")
    with django_assert_max_num_queries(1):
        result = add_working_days(D(2025, 1, 20), 60)
    with django_assert_max_num_queries(1):
        assert add_working_days(result, -60) == D(2025, 1, 20)
    with django_assert_max_num_queries(1):
        working_days_between(D(2025, 1, 1), D(2025, 12, 31))
    with django_assert_max_num_queries(1):
        monthly_deadline(2025, 10)


@pytest.mark.django_db
def test_one_calendar_serves_many_lookups_with_one_query(django_assert_num_queries):
    working = WorkingCalendar(district_code=QIJIN)
    with django_assert_num_queries(1):
        working.preload(D(2025, 1, 1), D(2025, 12, 31))
        deadlines = [working.monthly_deadline(2025, month) for month in range(1, 13)]
    assert deadlines[9] == D(2025, 10, 13)


def test_holidays_object_is_memoised_per_year():
    assert calendar.national_holidays(2025) is calendar.national_holidays(2025)


@pytest.mark.django_db
def test_runaway_override_data_is_reported():
    CalendarOverride.objects.bulk_create(
        CalendarOverride(date=D(2030, 1, 1) + dt.timedelta(days=i), kind="holiday", reason="x") for i in range(400)
    )
    with pytest.raises(ValueError):
        next_working_day(D(2029, 12, 31))


@time_machine.travel(dt.datetime(2025, 10, 9, 16, 30, tzinfo=dt.UTC))
def test_today_is_the_date_in_taipei():
    # 16:30 UTC is already 00:30 the next day in Taipei.
    assert calendar.today() == D(2025, 10, 10)
