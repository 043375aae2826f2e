"""Reading the plans spreadsheet: ODS, XLSX or CSV (UTF-8 with or without BOM, or Big5), by content."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass

import tablib
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

COLUMNS = ["code", "agency_code", "title", "budget", *[f"m{m}" for m in range(1, 13)]]
MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class ImportRow:
    number: int  # as the spreadsheet shows it: the header is row 1
    code: str
    agency_code: str
    title: str
    budget: str
    planned: list[str]


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _decode_csv(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp950"):  # cp950: the Big5 that Taiwanese Excel writes
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError({"file": [_("無法辨識 CSV 的文字編碼，請以 UTF-8 或 Big5 存檔。")]})


def _table(data: bytes) -> list[list]:
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
                is_ods = "mimetype" in names and archive.read("mimetype").startswith(
                    b"application/vnd.oasis.opendocument.spreadsheet"
                )
        except zipfile.BadZipFile as exc:
            raise ValidationError({"file": [_("檔案已損毀，無法讀取。")]}) from exc
        fmt = "ods" if is_ods else "xlsx"
        try:
            dataset = tablib.Dataset().load(data, format=fmt, headers=False)
        except Exception as exc:
            raise ValidationError({"file": [_("無法讀取試算表：%(e)s") % {"e": exc}]}) from exc
        return [list(row) for row in dataset]
    return list(csv.reader(io.StringIO(_decode_csv(data))))


def read_plan_rows(upload) -> list[ImportRow]:
    """The data rows of the uploaded sheet; ValidationError for a file that is not a plans sheet."""
    if upload.size > MAX_BYTES:
        raise ValidationError({"file": [_("檔案超過 20 MB。")]})
    upload.seek(0)
    table = [row for row in _table(upload.read()) if any(_text(cell) for cell in row)]
    if not table:
        raise ValidationError({"file": [_("檔案沒有資料。")]})
    header = [_text(cell).lower() for cell in table[0]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ValidationError(
            {
                "file": [
                    _("缺少欄位：%(cols)s（需要 %(all)s）") % {"cols": ", ".join(missing), "all": ", ".join(COLUMNS)}
                ]
            }
        )
    index = {name: header.index(name) for name in COLUMNS}
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        cells = list(cells) + [None] * (len(header) - len(cells))
        rows.append(
            ImportRow(
                number=number,
                code=_text(cells[index["code"]]),
                agency_code=_text(cells[index["agency_code"]]),
                title=_text(cells[index["title"]]),
                budget=_text(cells[index["budget"]]),
                planned=[_text(cells[index[f"m{m}"]]) for m in range(1, 13)],
            )
        )
    return rows
