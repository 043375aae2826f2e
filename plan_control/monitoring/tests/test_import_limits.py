"""Spreadsheet bombs: a small file that expands to millions of cells is refused early with the import's 400 shape."""

import io
import time
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.roles import Role
from plan_control.models import ControlledPlan
from plan_control.monitoring.imports import MAX_COLUMNS, MAX_ROWS
from plan_control.tests.factories import YEAR, agency_people, csv_upload, plan_dict, sheet_rows, sheet_upload

pytestmark = pytest.mark.django_db

PLANS = "/api/v1/plans/"
HEADER = sheet_rows([])[0]
ODS_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
)


@pytest.fixture
def officer_client(api_client, make_user):
    agency_people("PWB")
    api_client.force_authenticate(make_user(Role.RDEC_OFFICER, agency=None))
    return api_client


def post(client, data: bytes, name: str):
    upload = SimpleUploadedFile(name, data)
    return client.post(f"{PLANS}import/", {"file": upload, "year": YEAR}, format="multipart")


def refused(response, *words: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert list(body) == ["file"], body
    assert all(word in body["file"][0] for word in words), body
    assert not ControlledPlan.objects.filter(year=YEAR).exists()


def xlsx(sheet_chunks, *, dimension: str | None = None) -> bytes:
    """A minimal workbook whose one sheet's XML is written chunk by chunk (never held whole)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        )
        archive.writestr(
            "_rels/.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Target="xl/workbook.xml" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
            "</Relationships>",
        )
        archive.writestr(
            "xl/workbook.xml",
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="plans" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
            "</Relationships>",
        )
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            if dimension:
                sheet.write(f'<dimension ref="{dimension}"/>'.encode())
            sheet.write(b"<sheetData>")
            for chunk in sheet_chunks:
                sheet.write(chunk)
            sheet.write(b"</sheetData></worksheet>")
    return buffer.getvalue()


def xlsx_rows(rows: int, columns: int = 16, start: int = 1):
    """`rows` rows of `columns` numeric cells, 1,000 rows a chunk."""
    cells = b"<c><v>1</v></c>" * columns
    for first in range(start, start + rows, 1000):
        yield b"".join(b'<row r="%d">%s</row>' % (r, cells) for r in range(first, min(first + 1000, start + rows)))


def ods(table_xml: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        archive.writestr(
            "content.xml",
            f"<office:document-content {ODS_NS}><office:body><office:spreadsheet>"
            f'<table:table table:name="plans">{table_xml}</table:table>'
            "</office:spreadsheet></office:body></office:document-content>",
        )
    return buffer.getvalue()


def ods_row(*values, repeat: int = 1) -> str:
    cells = "".join(f"<table:table-cell><text:p>{v}</text:p></table:table-cell>" for v in values)
    return f'<table:table-row table:number-rows-repeated="{repeat}">{cells}</table:table-row>'


def inline_row(values) -> bytes:
    return b"<row>%s</row>" % b"".join(b'<c t="inlineStr"><is><t>%s</t></is></c>' % str(v).encode() for v in values)


def test_a_small_xlsx_of_100000_by_16_cells_is_refused_in_well_under_a_second(officer_client):
    data = xlsx(iter([inline_row(HEADER), *xlsx_rows(100_000, start=2)]))
    assert len(data) < 400 * 1024  # the size of the reported file: 1.6 million cells in a few hundred KB
    started = time.process_time()  # CPU seconds: the other processes sharing the machine do not count
    response = post(officer_client, data, "bomb.xlsx")
    assert time.process_time() - started < 0.5
    refused(response, f"{MAX_ROWS:,}")


def test_a_repetitive_ods_inflating_more_than_100_times_still_imports(officer_client):
    # Plans sharing one curve: ODF's wordy XML of near-identical rows compresses past any zip-bomb ratio.
    curve = [10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100, 100]
    data = ods(ods_row(*HEADER) + "".join(ods_row(f"R{i:04d}", "PWB", "道路工程", 1000, *curve) for i in range(3000)))
    content = zipfile.ZipFile(io.BytesIO(data)).getinfo("content.xml")
    assert content.file_size > 100 * content.compress_size
    response = post(officer_client, data, "plans.ods")
    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 3000}


def test_a_zip_expanding_to_200_mb_is_refused_by_its_declared_size_without_inflating_it(officer_client, monkeypatch):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("xl/sheet.xml", "w") as member:
        block = b"<row/>" * (1024 * 1024 // 6)
        while member._file_size < 200 * 1024 * 1024:
            member.write(block)
    read = []
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, *a, **k: read.append(a) or pytest.fail("inflated"))
    response = post(officer_client, buffer.getvalue(), "bomb.xlsx")
    refused(response, "64 MB")
    assert read == []


def test_an_xlsx_cell_past_the_column_limit_is_refused_and_a_blank_one_ignored(officer_client):
    header = inline_row(HEADER)
    row = inline_row(["W1", "PWB", "計畫", 1000, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100, 100])
    far_blank = b'<row><c r="XFD3" s="1"/></row>'
    refused(post(officer_client, xlsx(iter([header, row, b'<row><c r="XFD3"><v>1</v></c></row>'])), "w.xlsx"), "50")
    response = post(officer_client, xlsx(iter([header, row, far_blank])), "w.xlsx")
    assert response.status_code == 201, response.json()
    assert ControlledPlan.objects.get(code="W1").title == "計畫"


def test_rows_past_the_limit_are_refused_while_streaming_xlsx(officer_client):
    # No dimension and a modest ratio: only counting rows while reading them catches this one.
    header = inline_row(HEADER)
    rows = (b"<row>%s</row>" % b"".join(b"<c><v>%d</v></c>" % (r * 16 + c) for c in range(16)) for r in range(10**6))
    chunks = (b"".join(next(rows) for _ in range(1000)) for _ in range(MAX_ROWS // 1000 + 2))
    data = xlsx(iter([header, *chunks]))
    refused(post(officer_client, data, "tall.xlsx"), f"{MAX_ROWS:,}")


def test_ods_rows_repeated_a_million_times_are_refused_without_expanding_them(officer_client):
    data = ods(ods_row(*HEADER) + ods_row("X1", "PWB", "計畫", 1, *range(12), repeat=1_000_000))
    started = time.process_time()
    refused(post(officer_client, data, "bomb.ods"), f"{MAX_ROWS:,}")
    assert time.process_time() - started < 1


def test_ods_columns_repeated_past_the_limit_are_refused(officer_client):
    cell = '<table:table-cell table:number-columns-repeated="1000000"><text:p>1</text:p></table:table-cell>'
    data = ods(ods_row(*HEADER) + f"<table:table-row>{cell}</table:table-row>")
    refused(post(officer_client, data, "wide.ods"), str(MAX_COLUMNS))


def test_ods_blank_padding_rows_and_columns_are_ignored(officer_client):
    # What LibreOffice writes after the data: blank cells and rows repeated to the sheet's edge.
    padding = '<table:table-cell table:number-columns-repeated="16368"/>'
    row = ods_row("P1", "PWB", "鳳山溪整治", 1000, *[10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100, 100])
    blank = f'<table:table-row table:number-rows-repeated="1048574">{padding}</table:table-row>'
    data = ods(ods_row(*HEADER).replace("</table:table-row>", padding + "</table:table-row>") + row + blank)
    response = post(officer_client, data, "plans.ods")
    assert response.status_code == 201, response.json()
    assert ControlledPlan.objects.get(code="P1").planned_progress[-1] == 100


def test_csv_rows_and_columns_past_the_limits_are_refused(officer_client):
    row = ["X", "PWB", "計畫", "1", *["1"] * 12]
    tall = csv_upload([HEADER, *[row] * (MAX_ROWS + 1)])
    response = officer_client.post(f"{PLANS}import/", {"file": tall, "year": YEAR}, format="multipart")
    refused(response, f"{MAX_ROWS:,}")
    wide = csv_upload([HEADER + ["extra"] * (MAX_COLUMNS - len(HEADER) + 1), row])
    response = officer_client.post(f"{PLANS}import/", {"file": wide, "year": YEAR}, format="multipart")
    refused(response, str(MAX_COLUMNS))


def test_a_sheet_at_the_limits_still_imports(officer_client):
    rows = sheet_rows([plan_dict(f"L{i}", "PWB") for i in range(3)])
    extra = MAX_COLUMNS - len(HEADER)
    rows = [[*rows[0], *[f"note{i}" for i in range(extra)]], *[[*r, *["備註"] * extra] for r in rows[1:]]]
    response = officer_client.post(
        f"{PLANS}import/", {"file": sheet_upload(rows, "xlsx"), "year": YEAR}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 3}
