import datetime as dt
import zoneinfo

import pytest
from django.core.exceptions import ValidationError

from workflow_site.roc_calendar.roc import (
    ad_year,
    format_roc_date,
    format_roc_date_short,
    format_roc_datetime,
    parse_roc_date,
    roc_year,
)

FORMAT_ERROR = "日期格式不正確，請以民國年輸入，例如 107/12/31"
TAIPEI = zoneinfo.ZoneInfo("Asia/Taipei")


def test_roc_year_and_ad_year_are_inverse():
    assert roc_year(2018) == 107
    assert ad_year(107) == 2018
    assert ad_year(roc_year(2025)) == 2025


@pytest.mark.parametrize(
    "text",
    [
        "民國107年12月31日",
        "107年12月31日",
        "民國 107 年 12 月 31 日",
        "107/12/31",
        "107.12.31",
        "107-12-31",
        "1071231",
        "  107/12/31  ",
        "１０７/１２/３１",
        "１０７／１２／３１",
        "民國１０７年１２月３１日",
        "\u3000１０７１２３１\u3000",
    ],
)
def test_parse_every_format(text):
    assert parse_roc_date(text) == dt.date(2018, 12, 31)


def test_parse_unpadded_month_and_day():
    assert parse_roc_date("107/1/5") == dt.date(2018, 1, 5)
    assert parse_roc_date("民國107年1月5日") == dt.date(2018, 1, 5)


def test_six_digits_are_two_digit_roc_years_and_seven_digits_three():
    assert parse_roc_date("990101") == dt.date(2010, 1, 1)
    assert parse_roc_date("0990101") == dt.date(2010, 1, 1)
    assert parse_roc_date("1000101") == dt.date(2011, 1, 1)


def test_ad_dates_only_when_allowed():
    assert parse_roc_date("2018-12-31", allow_ad=True) == dt.date(2018, 12, 31)
    assert parse_roc_date("2018/12/31", allow_ad=True) == dt.date(2018, 12, 31)
    with pytest.raises(ValidationError) as error:
        parse_roc_date("2018-12-31")
    assert error.value.messages == [FORMAT_ERROR]


def test_leap_days():
    assert parse_roc_date("民國109年2月29日") == dt.date(2020, 2, 29)
    with pytest.raises(ValidationError) as error:
        parse_roc_date("民國108年2月29日")
    assert error.value.messages == ["民國108年2月沒有29日"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("民國107年2月30日", "民國107年2月沒有30日"),
        ("107/02/30", "民國107年2月沒有30日"),
        ("1070230", "民國107年2月沒有30日"),
        ("107/13/01", "民國107年沒有13月"),
        ("107/00/10", "民國107年沒有0月"),
        ("107/04/31", "民國107年4月沒有31日"),
        ("0/01/01", "民國年必須是 1 以上的整數"),
        ("2018-02-30", FORMAT_ERROR),
        ("下週一", FORMAT_ERROR),
        ("", FORMAT_ERROR),
        ("   ", FORMAT_ERROR),
        ("107/12.31", FORMAT_ERROR),
        ("10712311", FORMAT_ERROR),
        ("12345", FORMAT_ERROR),
        ("民國107年12月", FORMAT_ERROR),
    ],
)
def test_bad_input_raises_validation_error_in_chinese(text, message):
    with pytest.raises(ValidationError) as error:
        parse_roc_date(text)
    assert error.value.messages == [message]


@pytest.mark.parametrize("value", [None, 1071231, 107.5, ["107/12/31"]])
def test_non_text_raises_validation_error(value):
    with pytest.raises(ValidationError) as error:
        parse_roc_date(value)
    assert error.value.messages == [FORMAT_ERROR]


def test_ad_invalid_date_is_validation_error():
    with pytest.raises(ValidationError) as error:
        parse_roc_date("2018-02-30", allow_ad=True)
    assert error.value.messages == ["2018年2月30日不是有效的日期"]


def test_dates_pass_through_and_aware_datetimes_read_in_taipei():
    assert parse_roc_date(dt.date(2018, 12, 31)) == dt.date(2018, 12, 31)
    late_utc = dt.datetime(2018, 12, 31, 17, 0, tzinfo=dt.UTC)
    assert parse_roc_date(late_utc) == dt.date(2019, 1, 1)


def test_format_long_and_short():
    assert format_roc_date(dt.date(2018, 12, 31)) == "民國107年12月31日"
    assert format_roc_date(dt.date(2018, 1, 5)) == "民國107年1月5日"
    assert format_roc_date_short(dt.date(2018, 12, 31)) == "107/12/31"
    assert format_roc_date_short(dt.date(2018, 1, 5)) == "107/01/05"
    assert format_roc_date(dt.date(1911, 10, 10)) == "民國前1年10月10日"


def test_format_round_trips():
    day = dt.date(2020, 2, 29)
    assert parse_roc_date(format_roc_date(day)) == day
    assert parse_roc_date(format_roc_date_short(day)) == day


def test_format_datetime_in_taipei():
    moment = dt.datetime(2018, 12, 31, 6, 5, tzinfo=dt.UTC)
    assert format_roc_datetime(moment) == "民國107年12月31日 14:05"
    assert format_roc_date(dt.datetime(2018, 12, 31, 16, 30, tzinfo=dt.UTC)) == "民國108年1月1日"
    assert format_roc_datetime(dt.datetime(2018, 12, 31, 14, 5, tzinfo=TAIPEI)) == "民國107年12月31日 14:05"
    assert format_roc_datetime(dt.date(2018, 12, 31)) == "民國107年12月31日"
