"""ROC (民國) dates: parse what people type, format what people read."""

import datetime as dt
import re
import unicodedata
from calendar import monthrange

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

ROC_EPOCH_OFFSET = 1911

_LONG_RE = re.compile(r"^(?:民國)?\s*(\d{1,3})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日$")
# One separator used throughout, so "107/12.31" is a typo rather than a date.
_SHORT_RE = re.compile(r"^(\d{1,3})([/.\-])(\d{1,2})\2(\d{1,2})$")
_COMPACT_RE = re.compile(r"^\d{6,7}$")
_AD_RE = re.compile(r"^(\d{4})([/.\-])(\d{1,2})\2(\d{1,2})$")


def roc_year(ad_year: int) -> int:
    """The ROC year of an AD year (2018 -> 107)."""
    return ad_year - ROC_EPOCH_OFFSET


def ad_year(roc_year_: int) -> int:
    """The AD year of an ROC year (107 -> 2018)."""
    return roc_year_ + ROC_EPOCH_OFFSET


def _format_error() -> ValidationError:
    return ValidationError(_("日期格式不正確，請以民國年輸入，例如 107/12/31"), code="invalid")


def _normalise(value: str) -> str:
    # NFKC turns full-width digits, slashes, dots and spaces (０-９, ／, ．, U+3000) into ASCII.
    return unicodedata.normalize("NFKC", value).strip()


def _build_date(year_roc: int, month: int, day: int) -> dt.date:
    if year_roc < 1:
        raise ValidationError(_("民國年必須是 1 以上的整數"), code="invalid_year")
    if not 1 <= month <= 12:
        raise ValidationError(
            _("民國%(year)s年沒有%(month)s月") % {"year": year_roc, "month": month}, code="invalid_month"
        )
    year = ad_year(year_roc)
    if not 1 <= day <= monthrange(year, month)[1]:
        raise ValidationError(
            _("民國%(year)s年%(month)s月沒有%(day)s日") % {"year": year_roc, "month": month, "day": day},
            code="invalid_day",
        )
    return dt.date(year, month, day)


def _build_ad_date(year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValidationError(
            _("%(year)s年%(month)s月%(day)s日不是有效的日期") % {"year": year, "month": month, "day": day},
            code="invalid_day",
        ) from None


def parse_roc_date(value, *, allow_ad: bool = False) -> dt.date:
    """Parse 民國107年12月31日, 107/12/31, 107.12.31, 1071231 or 990101 (and AD dates if allow_ad)."""
    if isinstance(value, dt.date):
        return _as_local_date(value)
    if not isinstance(value, str):
        raise _format_error()
    text = _normalise(value)
    if match := _LONG_RE.match(text):
        return _build_date(*(int(part) for part in match.groups()))
    if match := _SHORT_RE.match(text):
        return _build_date(int(match[1]), int(match[3]), int(match[4]))
    if _COMPACT_RE.match(text):
        # Seven digits are yyyMMdd (ROC 100 and later, or zero-padded); six are yyMMdd (ROC 1-99).
        year_digits = len(text) - 4
        return _build_date(int(text[:year_digits]), int(text[-4:-2]), int(text[-2:]))
    if allow_ad and (match := _AD_RE.match(text)):
        return _build_ad_date(int(match[1]), int(match[3]), int(match[4]))
    raise _format_error()


def _as_local_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def _roc_year_label(year: int) -> str:
    roc = roc_year(year)
    # Years before 1912 are counted backwards, as on old documents: 民國前1年 is 1911.
    return f"民國{roc}年" if roc >= 1 else f"民國前{1 - roc}年"


def format_roc_date(value) -> str:
    """Long form: 民國107年12月31日 (an aware datetime is read in Asia/Taipei)."""
    day = _as_local_date(value)
    return f"{_roc_year_label(day.year)}{day.month}月{day.day}日"


def format_roc_date_short(value) -> str:
    """Short form: 107/12/31 (an aware datetime is read in Asia/Taipei)."""
    day = _as_local_date(value)
    return f"{roc_year(day.year)}/{day.month:02d}/{day.day:02d}"


def format_roc_datetime(value) -> str:
    """民國107年12月31日 14:05, in Asia/Taipei; a plain date gives the long date alone."""
    if not isinstance(value, dt.datetime):
        return format_roc_date(value)
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{format_roc_date(local.date())} {local:%H:%M}"
