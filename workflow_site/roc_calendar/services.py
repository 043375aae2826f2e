import csv
import datetime as dt
import io
import logging
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from workflow_site.errors import NotFound
from workflow_site.permissions import require

from .calendar import is_national_working_day
from .models import CalendarOverride

logger = logging.getLogger(__name__)

DATE_COLUMN = "西元日期"
DAY_OFF_COLUMN = "是否放假"
NOTE_COLUMN = "備註"
# 行政院人事行政總處 codes: 0 = a working day, 2 = a day off (weekend, holiday or bridge day).
DAY_OFF_CODES = {"0": False, "2": True}
MAX_REPORTED_ERRORS = 20


def calendar_override_create(
    *,
    date: dt.date,
    kind: str,
    district_code: str = "",
    reason: str,
    actor=None,
) -> CalendarOverride:
    """Record a day that departs from the national calendar (e.g. a typhoon closure); `actor` None is the system."""
    require(actor, "roc_calendar.add_calendaroverride")
    override = CalendarOverride(
        date=date,
        kind=kind,
        district_code=district_code.strip(),
        reason=reason.strip(),
        source=CalendarOverride.Source.MANUAL,
    )
    override.full_clean()
    override.save()
    logger.info("Calendar override %s created by %s", override, getattr(actor, "pk", None))
    return override


def _locked_override(override_id: int) -> CalendarOverride:
    try:
        return CalendarOverride.objects.select_for_update().get(pk=override_id)
    except CalendarOverride.DoesNotExist:
        raise NotFound(_("找不到這筆行事曆調整。")) from None


@transaction.atomic
def calendar_override_update(*, override_id: int, kind: str, reason: str, actor) -> CalendarOverride:
    """Correct an override's kind or reason; the correction is a hand edit from then on, so a reload of the
    official calendar keeps it."""
    require(actor, "roc_calendar.change_calendaroverride")
    # Locked so a concurrent official-calendar load cannot overwrite the correction it is about to keep.
    override = _locked_override(override_id)
    override.kind = kind
    override.reason = reason.strip()
    override.source = CalendarOverride.Source.MANUAL
    override.full_clean()
    override.save(update_fields=["kind", "reason", "source"])
    logger.info("Calendar override %s corrected by %s", override, getattr(actor, "pk", None))
    return override


@transaction.atomic
def calendar_override_delete(*, override_id: int, actor) -> CalendarOverride:
    """Remove an override: the day follows the national calendar again. Returns the deleted row (unsaved)."""
    require(actor, "roc_calendar.delete_calendaroverride")
    override = _locked_override(override_id)
    override.delete()
    logger.info("Calendar override %s removed by %s", override, getattr(actor, "pk", None))
    return override


def _read_text(file) -> str:
    if isinstance(file, str | Path):
        data = Path(file).read_bytes()
    else:
        if hasattr(file, "seek"):
            file.seek(0)
        data = file.read()
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    # data.gov.tw has published this file both as Big5 and as UTF-8 (with and without a BOM).
    for encoding in ("utf-8-sig", "cp950"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError(_("無法辨識檔案編碼，請使用 UTF-8 或 Big5 編碼的 CSV 檔。"), code="encoding")


def _parse_official_rows(text: str) -> dict[dt.date, tuple[bool, str]]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    columns = [name.strip() for name in header] if header else []
    if DATE_COLUMN not in columns or DAY_OFF_COLUMN not in columns:
        raise ValidationError(
            _("CSV 檔第 1 列必須是標題列，並包含「%(date)s」與「%(off)s」欄位。")
            % {"date": DATE_COLUMN, "off": DAY_OFF_COLUMN},
            code="header",
        )
    date_index = columns.index(DATE_COLUMN)
    off_index = columns.index(DAY_OFF_COLUMN)
    note_index = columns.index(NOTE_COLUMN) if NOTE_COLUMN in columns else None

    days: dict[dt.date, tuple[bool, str]] = {}
    errors: list[str] = []
    for row in reader:
        row_number = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        cells = [cell.strip() for cell in row]
        raw_date = cells[date_index] if date_index < len(cells) else ""
        raw_off = cells[off_index] if off_index < len(cells) else ""
        note = cells[note_index] if note_index is not None and note_index < len(cells) else ""
        try:
            if len(raw_date) != 8 or not raw_date.isdigit():
                raise ValueError
            day = dt.date(int(raw_date[:4]), int(raw_date[4:6]), int(raw_date[6:]))
        except ValueError:
            errors.append(
                _("第 %(row)s 列：日期「%(value)s」不正確，應為 8 位數字的西元日期，例如 20250208。")
                % {"row": row_number, "value": raw_date}
            )
            continue
        if raw_off not in DAY_OFF_CODES:
            errors.append(
                _("第 %(row)s 列：「是否放假」欄的值「%(value)s」不正確，應為 0（上班）或 2（放假）。")
                % {"row": row_number, "value": raw_off}
            )
            continue
        if day in days:
            errors.append(_("第 %(row)s 列：日期 %(value)s 重複出現。") % {"row": row_number, "value": raw_date})
            continue
        days[day] = (DAY_OFF_CODES[raw_off], note)

    if errors:
        if len(errors) > MAX_REPORTED_ERRORS:
            hidden = len(errors) - MAX_REPORTED_ERRORS
            errors = [*errors[:MAX_REPORTED_ERRORS], _("另有 %(count)s 列錯誤未列出。") % {"count": hidden}]
        raise ValidationError(errors, code="rows")
    if not days:
        raise ValidationError(_("CSV 檔沒有任何日期資料。"), code="empty")
    return days


@transaction.atomic
def calendar_load_csv(*, file, actor=None) -> dict:
    """Load the official office calendar CSV, storing only the days where it departs from the package."""
    require(actor, "roc_calendar.add_calendaroverride")
    days = _parse_official_rows(_read_text(file))
    existing = {
        override.date: override
        for override in CalendarOverride.objects.select_for_update().filter(
            date__range=(min(days), max(days)), district_code=""
        )
    }
    counts = {"rows": len(days), "created": 0, "updated": 0, "deleted": 0, "unchanged": 0, "kept_manual": 0}
    for day, (is_day_off, note) in sorted(days.items()):
        current = existing.get(day)
        if current is not None and current.source == CalendarOverride.Source.MANUAL:
            # A typhoon closure or a hand correction is newer knowledge than the yearly calendar.
            counts["kept_manual"] += 1
            continue
        if is_day_off == (not is_national_working_day(day)):
            if current is not None:
                # The package has caught up with the official calendar: the correction is no longer needed.
                current.delete()
                counts["deleted"] += 1
            continue
        kind = CalendarOverride.Kind.HOLIDAY if is_day_off else CalendarOverride.Kind.WORKING_DAY
        reason = (note or _("行政院人事行政總處辦公日曆表"))[:200]
        if current is None:
            override = CalendarOverride(date=day, kind=kind, reason=reason, source=CalendarOverride.Source.OFFICIAL_CSV)
            override.full_clean()
            override.save()
            counts["created"] += 1
        elif current.kind != kind or current.reason != reason:
            current.kind = kind
            current.reason = reason
            current.full_clean()
            current.save(update_fields=["kind", "reason"])
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    counts["overrides"] = counts["created"] + counts["updated"] + counts["unchanged"]
    logger.info("Official calendar loaded by %s: %s", getattr(actor, "pk", None), counts)
    return counts
