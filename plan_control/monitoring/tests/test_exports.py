"""The monthly analysis report as ODS / XLSX: sheets, columns, numbers, no formula from user text, who may
download it and under which name."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal
from urllib.parse import quote
from xml.etree import ElementTree

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from plan_control.monitoring import services
from plan_control.monitoring.exports import analysis_export
from plan_control.monitoring.tests.test_views import MONTH, YEAR, build_world, file_report, import_plans

pytestmark = pytest.mark.django_db

ODS_TYPE = "application/vnd.oasis.opendocument.spreadsheet"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NS = {
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
}
SHEETS = ["摘要", "各機關", "落後計畫"]
LAGGING_HEADERS = ["編號", "計畫名稱", "機關", "預定%", "實際%", "落後百分點", "落後原因", "因應對策", "連續落後月數"]
EVIL_TITLE = '=HYPERLINK("x")'
EVIL_REASONS = ["+1", "-2", "@A1"]


@pytest.fixture
def world(make_user):
    return build_world(make_user)


@pytest.fixture
def evil_world(world):
    """Three more lagging plans: one titled as a formula, their reasons and remedies starting with + - @."""
    plans = import_plans(
        world.officer, [("E01", "PWB", EVIL_TITLE), ("E02", "PWB", "一般計畫二"), ("E03", "PWB", "一般計畫三")]
    )
    services.reports_open_for_month(year=YEAR, month=MONTH)
    for plan, reason in zip(plans.values(), EVIL_REASONS, strict=True):
        report = plan.reports.get(month=MONTH)
        file_report(world.clerk, report, 50, reason=reason, remedy=reason)
    return world


def ods_sheets(content: bytes) -> dict[str, list[list[ElementTree.Element]]]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.read("mimetype") == ODS_TYPE.encode()
        root = ElementTree.fromstring(archive.read("content.xml"))
    sheets = {}
    for sheet in root.iter(f"{{{NS['table']}}}table"):
        sheets[sheet.get(f"{{{NS['table']}}}name")] = [
            row.findall("table:table-cell", NS)
            for row in sheet.iter(f"{{{NS['table']}}}table-row")
            if row.findall("table:table-cell", NS)
        ]
    return sheets


def ods_text(cell: ElementTree.Element) -> str:
    return "".join("".join(p.itertext()) for p in cell.findall("text:p", NS))


def ods_value(cell: ElementTree.Element):
    kind = cell.get(f"{{{NS['office']}}}value-type")
    if kind == "float":
        return Decimal(cell.get(f"{{{NS['office']}}}value"))
    if kind == "string":
        return ods_text(cell)
    return None


def test_ods_sheets_columns_and_numbers(world):
    sheets = ods_sheets(analysis_export(YEAR, MONTH))
    assert list(sheets) == SHEETS
    summary = [[ods_value(c) for c in row] for row in sheets["摘要"]]
    assert summary[0] == ["項目", "計畫數", "百分比（%）"]
    assert summary[1:5] == [
        ["總計", 5, 100],
        ["進度正常（含已完成）", 2, 40],
        ["落後", 1, 20],
        ["未填報", 2, 40],
    ]
    agencies = [[ods_value(c) for c in row] for row in sheets["各機關"]]
    assert agencies[0][:6] == ["機關代碼", "機關", "計畫數", "進度正常（含已完成）", "落後", "未填報"]
    assert [row[:6] for row in agencies[1:]] == [["PWB", "工務局", 3, 1, 1, 1], ["WRB", "水利局", 2, 1, 0, 1]]
    lagging = [[ods_value(c) for c in row] for row in sheets["落後計畫"]]
    assert lagging[0] == LAGGING_HEADERS
    assert lagging[1] == ["A02", "捷運延伸線土建工程", "工務局", 90, 70, 20, "用地徵收延宕", "協調地主加速取得用地", 1]


def test_xlsx_sheets_columns_and_numbers(world):
    workbook = load_workbook(io.BytesIO(analysis_export(YEAR, MONTH, "xlsx")))
    assert workbook.sheetnames == SHEETS
    summary = [list(r) for r in workbook["摘要"].iter_rows(values_only=True)]
    assert summary[1] == ["總計", 5, 100]
    assert summary[3] == ["落後", 1, 20]
    lagging = [list(r) for r in workbook["落後計畫"].iter_rows(values_only=True)]
    assert lagging[0] == LAGGING_HEADERS
    assert lagging[1][:3] == ["A02", "捷運延伸線土建工程", "工務局"]
    assert lagging[1][3:6] == [90, 70, 20] and lagging[1][8] == 1


def test_xlsx_user_text_is_never_a_formula(evil_world):
    workbook = load_workbook(io.BytesIO(analysis_export(YEAR, MONTH, "xlsx")))
    sheet = workbook["落後計畫"]
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    title = rows["E01"][1]
    assert (title.value, title.data_type) == (EVIL_TITLE, "s")
    for code, reason in zip(["E01", "E02", "E03"], EVIL_REASONS, strict=True):
        for cell in (rows[code][6], rows[code][7]):  # 落後原因, 因應對策
            assert (cell.value, cell.data_type) == (reason, "s")
    for ws in workbook.worksheets:
        for row in ws.iter_rows():
            assert all(cell.data_type != "f" for cell in row)
    with zipfile.ZipFile(io.BytesIO(analysis_export(YEAR, MONTH, "xlsx"))) as archive:
        xml = "".join(archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets/"))
    assert "<f>" not in xml and "<f " not in xml


def test_ods_user_text_is_a_string_cell_without_formula(evil_world):
    content = analysis_export(YEAR, MONTH, "ods")
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert "table:formula" not in archive.read("content.xml").decode()
    rows = {ods_text(row[0]): row for row in ods_sheets(content)["落後計畫"][1:]}
    title = rows["E01"][1]
    assert title.get(f"{{{NS['office']}}}value-type") == "string" and ods_text(title) == EVIL_TITLE
    for code, reason in zip(["E01", "E02", "E03"], EVIL_REASONS, strict=True):
        for cell in (rows[code][6], rows[code][7]):
            assert cell.get(f"{{{NS['office']}}}value-type") == "string"
            assert ods_text(cell) == reason


def test_unknown_format_is_refused(world):
    with pytest.raises(ValueError):
        analysis_export(YEAR, MONTH, "csv")


def export(client, user, fmt=None):
    client.force_login(user)
    params = {"year": YEAR, "month": MONTH}
    if fmt:
        params["format"] = fmt
    return client.get(reverse("plan_control:board-export"), params)


def test_download_defaults_to_ods_with_a_chinese_filename(client, world):
    response = export(client, world.officer)
    assert response.status_code == 200
    assert response["Content-Type"] == ODS_TYPE
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote('115年10月列管計畫分析.ods', safe='')}" in disposition
    assert 'filename="plan-analysis-115-10.ods"' in disposition
    assert list(ods_sheets(response.content)) == SHEETS


def test_download_xlsx_for_the_supervisor(client, world):
    response = export(client, world.supervisor, "xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_TYPE
    assert quote("115年10月列管計畫分析.xlsx", safe="") in response["Content-Disposition"]
    assert load_workbook(io.BytesIO(response.content)).sheetnames == SHEETS


def test_agencies_may_not_download(client, world):
    assert export(client, world.clerk).status_code == 403
    assert export(client, world.clerk, "xlsx").status_code == 403


def test_bad_format_is_a_400(client, world):
    assert export(client, world.officer, "pdf").status_code == 400


def test_anonymous_is_sent_to_sign_in(client, world):
    response = client.get(reverse("plan_control:board-export"), {"year": YEAR, "month": MONTH})
    assert response.status_code == 302
