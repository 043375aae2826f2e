"""Reading the plans spreadsheet: ODS, XLSX or CSV (UTF-8 with or without BOM, or Big5), by content.

Rows are streamed and counted as they are read, and a zip's declared sizes are checked before any member is
inflated: a small file that expands to millions of cells is refused in milliseconds, not parsed for minutes.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from xml.etree.ElementTree import iterparse

from defusedxml.ElementTree import fromstring
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from workflow_site.archives import ArchiveRefused, check_zip

COLUMNS = ["code", "agency_code", "title", "budget", *[f"m{m}" for m in range(1, 13)]]
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 20_000  # data rows, the header not counted: twice the city's largest year
MAX_COLUMNS = 50
# A sheet of MAX_ROWS x MAX_COLUMNS in ODF's wordy XML stays well under this.
MAX_UNCOMPRESSED = 64 * 1024 * 1024

# Rows are streamed with the C parser: expat >= 2.4 (Python 3.11 ships 2.5) caps entity amplification (billion laughs),
# and ElementTree never fetches external entities. defusedxml's pure-Python handlers would make a sheet 3x slower.
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_XLSX = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_XLSX_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_ODS_VALUE = {"float": "value", "percentage": "value", "currency": "value", "date": "date-value",
              "time": "time-value", "boolean": "boolean-value"}  # fmt: skip


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


def _refused(message) -> ValidationError:
    return ValidationError({"file": [message]})


def _too_many_columns() -> ValidationError:
    return _refused(_("資料超過 %(n)d 欄的上限。") % {"n": MAX_COLUMNS})


def _decode_csv(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp950"):  # cp950: the Big5 that Taiwanese Excel writes
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _refused(_("無法辨識 CSV 的文字編碼，請以 UTF-8 或 Big5 存檔。"))


def _csv_rows(data: bytes) -> Iterator[list]:
    try:
        yield from csv.reader(io.StringIO(_decode_csv(data)))
    except csv.Error as exc:
        raise _refused(_("無法讀取 CSV：%(e)s") % {"e": exc}) from exc


def _refuse_more_cells_than_a_sheet_may_hold(archive: zipfile.ZipFile, name: str, marks: tuple[bytes, ...]) -> None:
    """Count the cell marks in a member, inflating it chunk by chunk (fast: no XML parsing), and refuse it once they
    pass what MAX_ROWS x MAX_COLUMNS could hold: 100,000 rows are refused in a tenth of the time it takes to parse
    20,000. Parsing still counts rows and columns; this only makes the common bomb cheap."""
    limit, count = (MAX_ROWS + 1) * MAX_COLUMNS, 0
    tails = dict.fromkeys(marks, b"")
    with archive.open(name) as source:
        while chunk := source.read(1024 * 1024):
            for mark in marks:  # a mark split across chunks is found in the previous chunk's tail + this one
                joined = tails[mark] + chunk
                count += joined.count(mark)
                tails[mark] = joined[-(len(mark) - 1) :]
            if count > limit:
                raise _refused(_("資料超過 %(n)s 列的上限，請分批匯入。") % {"n": f"{MAX_ROWS:,}"})


def _xlsx_column(reference: str | None) -> int | None:
    """0-based column of a cell reference ("C7" -> 2); None when absent."""
    if not reference:
        return None
    number = 0
    for char in reference:
        if not char.isalpha():
            break
        number = number * 26 + ord(char.upper()) - 64
    return number - 1 if number else None


def _xlsx_sheet_path(archive: zipfile.ZipFile) -> str:
    """The workbook's active sheet (the one Excel opens on), from workbook.xml and its relationships."""
    root = fromstring(archive.read("xl/workbook.xml"))
    view = root.find(f"{_XLSX}bookViews/{_XLSX}workbookView")
    sheets = root.findall(f"{_XLSX}sheets/{_XLSX}sheet")
    active = int(view.get("activeTab", "0")) if view is not None else 0
    sheet_id = sheets[min(active, len(sheets) - 1)].get(f"{_XLSX_R}id")
    for relation in fromstring(archive.read("xl/_rels/workbook.xml.rels")):
        if relation.get("Id") == sheet_id:
            target = relation.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    raise KeyError(sheet_id)


def _xlsx_shared_strings(archive: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in archive.namelist():
        return []
    strings = []
    with archive.open("xl/sharedStrings.xml") as source:
        for _event, element in iterparse(source):
            if element.tag == f"{_XLSX}si":  # plain <t>, or rich-text runs <r><t>; not the phonetic <rPh>
                strings.append(
                    "".join(t.text or "" for t in element.iterfind(f"./{_XLSX}t"))
                    + "".join(t.text or "" for t in element.iterfind(f"./{_XLSX}r/{_XLSX}t"))
                )
                element.clear()
    return strings


def _xlsx_value(cell, strings: list[str]) -> str:
    kind = cell.get("t", "n")
    if kind == "inlineStr":
        return "".join(t.text or "" for t in cell.iter(f"{_XLSX}t"))
    value = cell.findtext(f"{_XLSX}v") or ""
    if kind == "s":
        try:
            return strings[int(value)]
        except (ValueError, IndexError):
            return ""
    return value


def _xlsx_rows(archive: zipfile.ZipFile) -> Iterator[list[str]]:
    """The active sheet's rows, streamed from its XML (openpyxl, even read-only, scans a whole sheet that declares
    no size before giving its first row). Cells beyond the column limit are refused if they hold anything."""
    try:
        path = _xlsx_sheet_path(archive)
        _refuse_more_cells_than_a_sheet_may_hold(archive, path, (b"<v>", b"<is>"))  # cells holding a value
        strings = _xlsx_shared_strings(archive)
        with archive.open(path) as source:
            for _event, element in iterparse(source):
                if element.tag != f"{_XLSX}row":
                    continue
                row: list[str] = []
                for cell in element.iterfind(f"{_XLSX}c"):
                    column = _xlsx_column(cell.get("r"))
                    column = len(row) if column is None else column
                    value = _xlsx_value(cell, strings).strip()
                    if column >= MAX_COLUMNS:
                        if value:
                            raise _too_many_columns()
                        continue
                    row += [""] * (column - len(row))
                    if column < len(row):
                        row[column] = value
                    else:
                        row.append(value)
                element.clear()
                yield row
    except ValidationError:
        raise
    except Exception as exc:
        raise _refused(_("無法讀取試算表：%(e)s") % {"e": exc}) from exc


def _repeat(element, name: str) -> int:
    try:
        return max(1, int(element.get(name, "1")))
    except ValueError:
        return 1


def _ods_cell(cell) -> str:
    kind = cell.get(f"{_OFFICE}value-type")
    if kind in _ODS_VALUE and (value := cell.get(f"{_OFFICE}{_ODS_VALUE[kind]}")) is not None:
        return value  # the value, not the text shown: "1,000,000" shows a budget of 1000000
    return "\n".join("".join(p.itertext()) for p in cell.iter(f"{_TEXT}p"))


def _ods_row(element) -> list[str]:
    """The row's cells, repeats expanded; blank cells only as far as the column limit (ODF pads rows with
    `number-columns-repeated="1000"` blanks)."""
    row: list[str] = []
    for cell in element:
        if cell.tag not in (f"{_TABLE}table-cell", f"{_TABLE}covered-table-cell"):
            continue
        value, repeat = _ods_cell(cell).strip(), _repeat(cell, f"{_TABLE}number-columns-repeated")
        if value:
            if len(row) + repeat > MAX_COLUMNS:
                raise _too_many_columns()
            row += [value] * repeat
        else:
            row += [""] * max(0, min(repeat, MAX_COLUMNS - len(row)))
    return row


def _ods_rows(archive: zipfile.ZipFile) -> Iterator[list[str]]:
    """The first sheet's rows, streamed from content.xml: never a whole document tree in memory."""
    try:
        _refuse_more_cells_than_a_sheet_may_hold(archive, "content.xml", (b"<table:table-cell",))
        with archive.open("content.xml") as content:
            for _event, element in iterparse(content, events=("end",)):
                if element.tag == f"{_TABLE}table-row":
                    row = _ods_row(element)
                    if any(row):  # blank rows (ODF repeats them by the million at a sheet's end) are skipped anyway
                        for _number in range(_repeat(element, f"{_TABLE}number-rows-repeated")):
                            yield row
                    element.clear()
                elif element.tag == f"{_TABLE}table":
                    return
    except ValidationError:
        raise
    except Exception as exc:
        raise _refused(_("無法讀取試算表：%(e)s") % {"e": exc}) from exc


def _table(data: bytes) -> Iterator[Iterable]:
    if not data.startswith(b"PK\x03\x04"):
        yield from _csv_rows(data)
        return
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            # No ratio check: an ODS of plans sharing one curve inflates 130 times, and the cell count below refuses a
            # bomb as fast without refusing that.
            check_zip(archive, max_total=MAX_UNCOMPRESSED, max_ratio=None)
            names = set(archive.namelist())
            is_ods = "mimetype" in names and archive.read("mimetype").startswith(
                b"application/vnd.oasis.opendocument.spreadsheet"
            )
            yield from _ods_rows(archive) if is_ods else _xlsx_rows(archive)
    except zipfile.BadZipFile as exc:
        raise _refused(_("檔案已損毀，無法讀取。")) from exc
    except ArchiveRefused as exc:
        raise _refused(str(exc)) from exc


def _sheet(data: bytes) -> Iterator[list[str]]:
    """The non-blank rows as text, trailing blank cells dropped; refused as soon as a limit is passed."""
    rows = 0
    for cells in _table(data):
        texts = [_text(cell) for cell in cells]
        while texts and not texts[-1]:
            texts.pop()
        if not texts:
            continue
        if len(texts) > MAX_COLUMNS:
            raise _too_many_columns()
        rows += 1
        if rows > 1 + MAX_ROWS:
            raise _refused(_("資料超過 %(n)s 列的上限，請分批匯入。") % {"n": f"{MAX_ROWS:,}"})
        yield texts


def read_plan_rows(upload) -> list[ImportRow]:
    """The data rows of the uploaded sheet; ValidationError for a file that is not a plans sheet or is too large."""
    if upload.size > MAX_BYTES:
        raise _refused(_("檔案超過 20 MB。"))
    upload.seek(0)
    table = _sheet(upload.read())
    header = [cell.lower() for cell in next(table, [])]
    if not header:
        raise _refused(_("檔案沒有資料。"))
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise _refused(
            _("缺少欄位：%(cols)s（需要 %(all)s）") % {"cols": ", ".join(missing), "all": ", ".join(COLUMNS)}
        )
    index = {name: header.index(name) for name in COLUMNS}
    rows = []
    for number, cells in enumerate(table, start=2):
        cells += [""] * (len(header) - len(cells))
        rows.append(
            ImportRow(
                number=number,
                code=cells[index["code"]],
                agency_code=cells[index["agency_code"]],
                title=cells[index["title"]],
                budget=cells[index["budget"]],
                planned=[cells[index[f"m{m}"]] for m in range(1, 13)],
            )
        )
    return rows
