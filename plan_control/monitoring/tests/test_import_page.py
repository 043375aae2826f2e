"""Importing a year's plans in the back office: a good file is imported, a bad one lists every problem by row and
column (nothing saved, the year kept), the template downloads as ODS and XLSX with the headers the import reads
and an example row that imports as it is, and agencies are refused."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from accounts.roles import Role
from plan_control.models import ControlledPlan
from plan_control.monitoring import imports
from plan_control.monitoring.exports import EXAMPLE_CURVE
from plan_control.monitoring.imports import COLUMNS
from plan_control.tests.factories import LINEAR, agency_people, csv_upload, plan_dict, sheet_rows, sheet_upload

pytestmark = pytest.mark.django_db

PAGE = "/plan-control/plans/import/"
TEMPLATE = "/plan-control/plans/import/template/"


@pytest.fixture
def officer(make_user):
    agency_people("PWB")
    return make_user(Role.RDEC_OFFICER, username="officer")


def html_of(response) -> str:
    return response.content.decode()


def test_the_urls():
    assert reverse("plan_control:plans-import") == PAGE
    assert reverse("plan_control:plans-import-template") == TEMPLATE


@pytest.mark.parametrize("fmt", ["csv", "ods", "xlsx"])
def test_an_officer_imports_a_good_file(client, officer, fmt):
    rows = sheet_rows([plan_dict("115-A", "PWB", title="鳳山溪整治"), plan_dict("115-B", "PWB")])
    upload = csv_upload(rows) if fmt == "csv" else sheet_upload(rows, fmt)
    client.force_login(officer)
    assert "上傳並匯入" in html_of(client.get(PAGE))
    response = client.post(PAGE, {"year": "115", "file": upload})
    assert response.status_code == 302 and response["Location"] == "/plan-control/plans/?year=115"
    assert sorted(ControlledPlan.objects.filter(year=115).values_list("code", flat=True)) == ["115-A", "115-B"]
    html = html_of(client.get(response["Location"]))
    assert "已匯入 2 項115年度列管計畫" in html


def test_a_bad_file_lists_every_problem_by_row_and_column_and_saves_nothing(client, officer):
    decreasing = [10, 20, 15, *LINEAR[3:]]
    rows = sheet_rows(
        [
            plan_dict("115-A", "PWB"),
            plan_dict("115-B", "NOPE", budget="一百萬"),
            plan_dict("115-C", "PWB", decreasing),
            plan_dict("115-A", "PWB"),
        ]
    )
    client.force_login(officer)
    response = client.post(PAGE, {"year": "115", "file": csv_upload(rows)})
    assert response.status_code == 400
    html = html_of(response)
    assert "檔案未匯入：共 4 個問題" in html
    assert 'data-row="3" data-column="agency_code"' in html and "未知的機關代碼 NOPE" in html
    assert 'data-row="3" data-column="budget"' in html and "預算須為非負整數" in html
    assert 'data-row="4" data-column="m3"' in html and "m3（3月底預定累計進度（%））" in html
    assert 'data-row="5" data-column="code"' in html and "與第 2 列重複" in html
    assert 'value="115"' in html  # the year typed is kept
    assert not ControlledPlan.objects.exists()


def test_a_file_that_is_no_plans_sheet_is_refused_on_the_file_box(client, officer):
    client.force_login(officer)
    upload = SimpleUploadedFile("plans.csv", b"name,amount\nx,1\n", content_type="text/csv")
    response = client.post(PAGE, {"year": "115", "file": upload})
    html = html_of(response)
    assert response.status_code == 400 and 'data-error="file"' in html and "缺少欄位" in html
    response = client.post(PAGE, {"year": "115"})
    assert response.status_code == 400 and 'data-error="file"' in html_of(response)


@pytest.mark.parametrize("fmt", ["ods", "xlsx"])
def test_the_template_has_the_headers_and_an_example_row_that_imports(client, officer, fmt):
    client.force_login(officer)
    response = client.get(TEMPLATE, {"year": "116", "format": fmt})
    assert response.status_code == 200
    assert "controlled-plans-template" in response["Content-Disposition"]
    content = b"".join(response.streaming_content) if response.streaming else response.content
    rows = list(imports._sheet(content))  # the first sheet, as the import reads it
    assert rows[0] == list(COLUMNS)
    assert len(rows) == 2 and rows[1][0].startswith("116-") and rows[1][4:] == [str(v) for v in EXAMPLE_CURVE]
    if fmt == "xlsx":
        assert load_workbook(io.BytesIO(content)).sheetnames == ["列管計畫", "填寫說明"]
    # Uploaded unchanged, the template's example row imports.
    upload = SimpleUploadedFile(f"template.{fmt}", content)
    assert client.post(PAGE, {"year": "116", "file": upload}).status_code == 302
    plan = ControlledPlan.objects.get(year=116)
    assert (plan.code, plan.budget) == (f"116-{plan.agency.code}-01", 120_000_000)


def test_an_unknown_template_format_is_a_400(client, officer):
    client.force_login(officer)
    assert client.get(TEMPLATE, {"format": "pdf"}).status_code == 400


def test_agencies_and_supervisors_may_not_import(client, make_user):
    _pwb, clerk, head = agency_people("PWB")
    supervisor = make_user(Role.RDEC_SUPERVISOR, username="chief")
    rows = sheet_rows([plan_dict("115-A", "PWB")])
    for user in (clerk, head, supervisor):
        client.force_login(user)
        assert client.get(PAGE).status_code == 403
        assert client.get(TEMPLATE).status_code == 403
        assert client.post(PAGE, {"year": "115", "file": csv_upload(rows)}).status_code == 403
    assert not ControlledPlan.objects.exists()
    client.logout()
    assert client.get(PAGE).status_code == 302  # to the sign-in page
