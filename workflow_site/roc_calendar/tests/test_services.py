import datetime as dt
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from workflow_site.roc_calendar.calendar import is_national_working_day, is_working_day
from workflow_site.roc_calendar.models import CalendarOverride
from workflow_site.roc_calendar.services import calendar_load_csv, calendar_override_create

D = dt.date
HEADER = "西元日期,星期,是否放假,備註\n"
WEEKDAYS = "一二三四五六日"
HEADER_ERROR = "CSV 檔第 1 列必須是標題列，並包含「西元日期」與「是否放假」欄位。"


def official_rows(start, end, *, changes=None):
    """CSV rows as the government publishes them, from the package's own view plus changes."""
    changes = changes or {}
    lines = []
    day = start
    while day <= end:
        off, note = changes.get(day, (None, ""))
        if off is None:
            off = "0" if is_national_working_day(day) else "2"
        lines.append(f"{day:%Y%m%d},{WEEKDAYS[day.weekday()]},{off},{note}\n")
        day += dt.timedelta(days=1)
    return "".join(lines)


# Two disagreements with the package: Labour Day 2025 given to civil servants, and an extra working Saturday.
CHANGES = {
    D(2025, 5, 1): ("2", "勞動節"),
    D(2025, 5, 10): ("0", "補行上班"),
}


@pytest.fixture
def may_2025_text():
    return HEADER + official_rows(D(2025, 4, 25), D(2025, 5, 31), changes=CHANGES)


@pytest.mark.django_db
def test_override_create_validates():
    override = calendar_override_create(
        date=D(2025, 10, 7), kind=CalendarOverride.Kind.CLOSURE, district_code=" 397010000A ", reason="颱風"
    )
    assert override.district_code == "397010000A"
    assert override.source == CalendarOverride.Source.MANUAL
    with pytest.raises(ValidationError) as error:
        calendar_override_create(
            date=D(2025, 10, 7), kind=CalendarOverride.Kind.HOLIDAY, district_code="397010000A", reason="x"
        )
    assert "__all__" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        calendar_override_create(date=D(2025, 10, 8), kind="strike", reason="x")
    assert "kind" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        calendar_override_create(date=D(2025, 10, 8), kind=CalendarOverride.Kind.CLOSURE, reason="  ")
    assert "reason" in error.value.message_dict


@pytest.mark.django_db
def test_load_big5_csv_stores_only_the_disagreements(may_2025_text):
    result = calendar_load_csv(file=io.BytesIO(may_2025_text.encode("cp950")))
    assert result["rows"] == 37
    assert result["created"] == 2
    stored = {o.date: (o.kind, o.reason, o.source) for o in CalendarOverride.objects.all()}
    assert stored == {
        D(2025, 5, 1): ("holiday", "勞動節", "official_csv"),
        D(2025, 5, 10): ("working_day", "補行上班", "official_csv"),
    }
    assert not is_working_day(D(2025, 5, 1))
    assert is_working_day(D(2025, 5, 10))


@pytest.mark.django_db
def test_load_utf8_bom_upload_twice_is_idempotent(may_2025_text):
    data = may_2025_text.encode("utf-8-sig")
    first = calendar_load_csv(file=SimpleUploadedFile("calendar.csv", data, content_type="text/csv"))
    second = calendar_load_csv(file=SimpleUploadedFile("calendar.csv", data, content_type="text/csv"))
    assert first["created"] == 2
    assert second["created"] == 0
    assert second["updated"] == 0
    assert second["unchanged"] == 2
    assert CalendarOverride.objects.count() == 2


@pytest.mark.django_db
def test_load_plain_utf8_and_crlf(tmp_path, may_2025_text):
    path = tmp_path / "calendar.csv"
    path.write_bytes(may_2025_text.replace("\n", "\r\n").encode("utf-8"))
    assert calendar_load_csv(file=path)["created"] == 2


@pytest.mark.django_db
def test_reload_after_revision_updates_and_deletes_its_own_rows_only(may_2025_text):
    calendar_load_csv(file=io.BytesIO(may_2025_text.encode("utf-8")))
    typhoon = calendar_override_create(date=D(2025, 5, 20), kind=CalendarOverride.Kind.CLOSURE, reason="颱風")
    revised = HEADER + official_rows(D(2025, 4, 25), D(2025, 5, 31), changes={D(2025, 5, 1): ("2", "勞動節放假")})
    result = calendar_load_csv(file=io.BytesIO(revised.encode("utf-8")))
    assert result["updated"] == 1
    assert result["deleted"] == 1
    assert result["kept_manual"] == 1
    assert set(CalendarOverride.objects.values_list("date", "reason")) == {
        (D(2025, 5, 1), "勞動節放假"),
        (D(2025, 5, 20), "颱風"),
    }
    typhoon.refresh_from_db()


@pytest.mark.django_db
def test_bad_rows_are_reported_with_row_numbers_and_nothing_is_saved():
    text = (
        HEADER
        + "20250501,四,2,勞動節\n"
        + "2025050,五,0,\n"
        + "20250230,日,2,\n"
        + "20250504,日,1,\n"
        + "20250501,四,2,\n"
    )
    with pytest.raises(ValidationError) as error:
        calendar_load_csv(file=io.BytesIO(text.encode("cp950")))
    assert error.value.messages == [
        "第 3 列：日期「2025050」不正確，應為 8 位數字的西元日期，例如 20250208。",
        "第 4 列：日期「20250230」不正確，應為 8 位數字的西元日期，例如 20250208。",
        "第 5 列：「是否放假」欄的值「1」不正確，應為 0（上班）或 2（放假）。",
        "第 6 列：日期 20250501 重複出現。",
    ]
    assert not CalendarOverride.objects.exists()


@pytest.mark.django_db
def test_a_failure_while_saving_rolls_back_everything(monkeypatch, may_2025_text):
    original = CalendarOverride.full_clean

    def fail_on_second(self, *args, **kwargs):
        if self.date == D(2025, 5, 10):
            raise ValidationError("boom")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CalendarOverride, "full_clean", fail_on_second)
    with pytest.raises(ValidationError):
        calendar_load_csv(file=io.BytesIO(may_2025_text.encode("utf-8")))
    assert not CalendarOverride.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            "日期,放假\n20250501,2\n".encode(),
            "CSV 檔第 1 列必須是標題列，並包含「西元日期」與「是否放假」欄位。",
        ),
        (b"", "CSV 檔第 1 列必須是標題列，並包含「西元日期」與「是否放假」欄位。"),
        (HEADER.encode(), "CSV 檔沒有任何日期資料。"),
        (b"\xff\xfe\x00\x81\xff", "無法辨識檔案編碼，請使用 UTF-8 或 Big5 編碼的 CSV 檔。"),
    ],
)
def test_unusable_files_are_refused_in_chinese(data, message):
    with pytest.raises(ValidationError) as error:
        calendar_load_csv(file=io.BytesIO(data))
    assert error.value.messages == [message]
