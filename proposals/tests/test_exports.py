"""A round's results as ODS / XLSX: columns, rank order, anonymised reviewers, and no formula from user text."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal
from urllib.parse import quote
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook

from accounts.roles import Role
from proposals import services
from proposals.exports import export_round, round_results_dataset
from proposals.tests.test_public import ENTRIES_107, REVIEWER_NAMES, build_round, cast, round_open  # noqa: F401
from workflow_site.spreadsheets import FORMATS, looks_like_formula

pytestmark = pytest.mark.django_db

ODS_TYPE = "application/vnd.oasis.opendocument.spreadsheet"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NS = {
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
}
INJECTIONS = ['=HYPERLINK("http://evil","x")', "+1+1", "-2", "@SUM(A1)"]
HEADERS = ["名次", "機關", "提案名稱", "委員A", "委員B", "委員C", "總分", "等第"]


@pytest.fixture
def finalised_round(cast):  # noqa: F811
    """107, finalised (not yet published: RDEC exports before the results go public)."""
    return build_round(cast, year=107, entries=ENTRIES_107, publish=False)


def ods_rows(content: bytes) -> list[list[ElementTree.Element]]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.read("mimetype") == ODS_TYPE.encode()
        root = ElementTree.fromstring(archive.read("content.xml"))
    return [
        row.findall("table:table-cell", NS)
        for row in root.iter(f"{{{NS['table']}}}table-row")
        if row.findall("table:table-cell", NS)
    ]


def ods_text(cell: ElementTree.Element) -> str:
    return "".join("".join(p.itertext()) for p in cell.findall("text:p", NS))


def all_text(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return "".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())


def test_columns_rank_order_and_anonymised_totals(finalised_round):
    dataset = round_results_dataset(finalised_round)
    assert dataset.headers == HEADERS
    rows = [list(row) for row in dataset]
    assert [row[0] for row in rows] == [1, 2, 3, 4, 5, 6]
    assert [row[2] for row in rows] == [e["title"] for e in ENTRIES_107]
    assert [row[1] for row in rows] == [
        "高雄市政府經濟發展局",
        "高雄市政府海洋局",
        "高雄市政府社會局",
        "高雄市政府交通局",
        "高雄市政府經濟發展局",
        "高雄市政府海洋局",
    ]
    assert [row[7] for row in rows] == ["優等", "甲等", "乙等", "佳作", "", ""]
    # Sheet total = 90 - 2 x place - 0.5 x member; 委員C (from 經濟發展局) was recused from that agency's two.
    assert rows[0][3:7] == [Decimal("90.00"), Decimal("89.50"), None, Decimal("89.75")]
    assert rows[1][3:7] == [Decimal("88.00"), Decimal("87.50"), Decimal("87.00"), Decimal("87.50")]
    assert rows[4][5] is None


def test_xlsx_cells_keep_types_and_user_text_is_never_a_formula(finalised_round):
    content = export_round(finalised_round, "xlsx")
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet.title == "107年度評審結果"
    assert [c.value for c in sheet[1]] == HEADERS
    by_title = {row[2].value: row for row in sheet.iter_rows(min_row=2)}
    for text in INJECTIONS:
        title_cell = by_title[text][2]
        assert title_cell.data_type == "s"
        assert title_cell.value == text
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    # Numbers stay numbers.
    first = next(sheet.iter_rows(min_row=2, max_row=2))
    assert first[0].data_type == "n" and first[0].value == 1
    assert first[3].data_type == "n" and first[3].value == pytest.approx(90.0)
    assert first[5].value is None  # recused
    assert first[6].data_type == "n" and first[6].value == pytest.approx(89.75)
    # And in the file itself: no <f> element, the text written as an inline string.
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml
    assert "=HYPERLINK(&quot;http://evil&quot;,&quot;x&quot;)" in xml or '=HYPERLINK("http://evil","x")' in xml


def test_ods_cells_keep_types_and_user_text_is_never_a_formula(finalised_round):
    content = export_round(finalised_round)  # ODS is the default
    rows = ods_rows(content)
    assert [ods_text(c) for c in rows[0]] == HEADERS
    formula = f"{{{NS['table']}}}formula"
    value_type = f"{{{NS['office']}}}value-type"
    value = f"{{{NS['office']}}}value"
    assert all(formula not in cell.attrib for row in rows for cell in row)
    titles = {ods_text(row[2]): row for row in rows[1:]}
    for text in INJECTIONS:
        title_cell = titles[text][2]
        assert title_cell.attrib[value_type] == "string"
        assert ods_text(title_cell) == text
    first = rows[1]
    assert first[0].attrib[value_type] == "float" and first[0].attrib[value] == "1"
    assert first[3].attrib[value_type] == "float" and Decimal(first[3].attrib[value]) == Decimal("90.00")
    assert first[5].attrib.get(value_type) in (None, "void")  # recused: blank
    assert first[7].attrib[value_type] == "string" and ods_text(first[7]) == "優等"


@pytest.mark.parametrize("fmt", ["ods", "xlsx"])
def test_no_reviewer_names_anywhere_in_the_file(finalised_round, cast, fmt):  # noqa: F811
    text = all_text(export_round(finalised_round, fmt))
    for reviewer in cast.reviewers:
        for identity in (reviewer.username, reviewer.display_name, reviewer.email):
            assert identity not in text
    for name in REVIEWER_NAMES:
        assert name not in text
    assert "委員A" in text and "委員C" in text


def test_what_counts_as_formula_like():
    for text in [*INJECTIONS, "\tcmd", "\rcmd"]:
        assert looks_like_formula(text)
    for text in ["智慧路燈", "1+1", "a=b", ""]:
        assert not looks_like_formula(text)


def test_api_download_for_rdec_staff(api_client, cast, make_user, finalised_round):  # noqa: F811
    url = f"/api/v1/proposal-rounds/{finalised_round.pk}/export/"
    api_client.force_authenticate(cast.officer)
    for query, fmt in (("", "ods"), ("?format=ods", "ods"), ("?format=xlsx", "xlsx"), ("?format=XLSX", "xlsx")):
        response = api_client.get(url + query)
        assert response.status_code == 200, response.content[:300]
        assert response["Content-Type"] == FORMATS[fmt]
        filename = f"107年度市政創新提案評審結果.{fmt}"
        assert response["Content-Disposition"] == (
            f"attachment; filename=\"proposal-results-107.{fmt}\"; filename*=UTF-8''{quote(filename)}"
        )
        assert response["X-Content-Type-Options"] == "nosniff"
    xlsx = api_client.get(url + "?format=xlsx").content
    assert load_workbook(io.BytesIO(xlsx)).active["C3"].value == '=HYPERLINK("http://evil","x")'
    assert ods_text(ods_rows(api_client.get(url).content)[2][2]) == '=HYPERLINK("http://evil","x")'

    api_client.force_authenticate(make_user(Role.RDEC_SUPERVISOR))
    assert api_client.get(url + "?format=xlsx").status_code == 200

    response = api_client.get(url + "?format=csv")
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_format"


def test_api_download_refused_to_others(api_client, cast, make_user, finalised_round):  # noqa: F811
    url = f"/api/v1/proposal-rounds/{finalised_round.pk}/export/"
    for user in (cast.clerks[0], cast.heads[0], cast.reviewers[0], make_user(Role.AGENCY_CLERK)):
        api_client.force_authenticate(user)
        response = api_client.get(url)
        assert response.status_code == 403
        assert response["Content-Type"] == "application/json"
        assert response.json()["code"] == "permission_denied"
    api_client.force_authenticate(None)
    assert api_client.get(url).status_code in (401, 403)


def test_api_409_before_finalising(api_client, cast):  # noqa: F811
    scoring = build_round(cast, year=106, entries=ENTRIES_107[:2], finalise=False, publish=False)
    opened = round_open(cast, year=105)
    api_client.force_authenticate(cast.officer)
    for round_ in (scoring, opened):
        response = api_client.get(f"/api/v1/proposal-rounds/{round_.pk}/export/?format=xlsx")
        assert response.status_code == 409
        assert response.json()["code"] == "results_not_available"
    services.round_finalise(round_id=scoring.pk, actor=cast.officer)
    assert api_client.get(f"/api/v1/proposal-rounds/{scoring.pk}/export/").status_code == 200


def test_format_still_selects_json_elsewhere(api_client, cast, finalised_round):  # noqa: F811
    # The export's negotiation is its own: other endpoints keep DRF's ?format= renderer override.
    api_client.force_authenticate(cast.officer)
    response = api_client.get(f"/api/v1/proposal-rounds/{finalised_round.pk}/results/?format=json")
    assert response.status_code == 200
    assert response.json()[0]["rank"] == 1
    assert api_client.get(f"/api/v1/proposal-rounds/{finalised_round.pk}/results/?format=ods").status_code == 404
