import datetime as dt
import io

import pytest
from django import forms
from django.contrib.auth import get_user_model
from django.template import Context, Template
from django.urls import reverse
from rest_framework import serializers

from workflow_site.roc_calendar.forms import ROCDateField
from workflow_site.roc_calendar.models import CalendarOverride
from workflow_site.roc_calendar.serializers import ROCDateField as ROCDateSerializerField

FORMAT_ERROR = "日期格式不正確，請以民國年輸入，例如 107/12/31"


class DeadlineForm(forms.Form):
    due = ROCDateField(label="期限")


class DeadlineSerializer(serializers.Serializer):
    due = ROCDateSerializerField()


@pytest.mark.parametrize(
    "text", ["民國107年12月31日", "107/12/31", "107.12.31", "1071231", "2018-12-31", "１０７/１２/３１"]
)
def test_form_field_accepts_roc_and_iso(text):
    form = DeadlineForm(data={"due": text})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["due"] == dt.date(2018, 12, 31)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("民國107年2月30日", "民國107年2月沒有30日"),
        ("107/13/01", "民國107年沒有13月"),
        ("明天", FORMAT_ERROR),
    ],
)
def test_form_field_errors_in_chinese(text, message):
    form = DeadlineForm(data={"due": text})
    assert not form.is_valid()
    assert form.errors["due"] == [message]


def test_form_field_required_and_initial_shown_in_roc():
    form = DeadlineForm(data={"due": ""})
    assert not form.is_valid()
    assert form.errors["due"] == ["此欄位為必填。"]
    unbound = DeadlineForm(initial={"due": dt.date(2018, 12, 31)})
    assert 'value="107/12/31"' in str(unbound["due"])


@pytest.mark.parametrize("text", ["107/12/31", "民國107年12月31日", "1071231", "2018-12-31"])
def test_drf_field_accepts_roc_and_iso_and_answers_iso(text):
    serializer = DeadlineSerializer(data={"due": text})
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["due"] == dt.date(2018, 12, 31)
    assert serializer.data["due"] == "2018-12-31"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("民國108年2月29日", "民國108年2月沒有29日"),
        ("107/13/01", "民國107年沒有13月"),
        ("soon", FORMAT_ERROR),
        (20181231, FORMAT_ERROR),
    ],
)
def test_drf_field_errors_in_chinese(value, message):
    serializer = DeadlineSerializer(data={"due": value})
    assert not serializer.is_valid()
    assert [str(m) for m in serializer.errors["due"]] == [message]


def test_drf_field_refuses_datetimes():
    serializer = DeadlineSerializer(data={"due": dt.datetime(2018, 12, 31, 9, 0, tzinfo=dt.UTC)})
    assert not serializer.is_valid()
    assert [str(m) for m in serializer.errors["due"]] == ["請輸入日期，而不是日期時間。"]


def test_template_filters_are_builtins():
    template = Template(
        "{{ d|roc_date }}|{{ d|roc_date_short }}|{{ t|roc_datetime }}|{{ t|roc_date }}|{{ n|roc_date }}"
    )
    moment = dt.datetime(2018, 12, 31, 16, 30, tzinfo=dt.UTC)  # 2019-01-01 00:30 in Taipei
    rendered = template.render(Context({"d": dt.date(2018, 12, 31), "t": moment, "n": None}))
    assert rendered == "民國107年12月31日|107/12/31|民國108年1月1日 00:30|民國108年1月1日|"


def test_template_filters_leave_other_values_alone():
    rendered = Template("{{ s|roc_date }}|{{ s|roc_datetime }}").render(Context({"s": "未定"}))
    assert rendered == "未定|未定"


@pytest.fixture
def admin_client_zh(client, db):
    user = get_user_model().objects.create_superuser(username="admin", email="a@example.com", password="x")
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_admin_list_shows_roc_dates(admin_client_zh):
    CalendarOverride.objects.create(date=dt.date(2025, 10, 7), kind="closure", reason="颱風停班停課")
    response = admin_client_zh.get(reverse("admin:roc_calendar_calendaroverride_changelist"))
    content = response.content.decode()
    assert response.status_code == 200
    assert "民國114年10月7日" in content
    assert "全市" in content
    assert reverse("admin:roc_calendar_calendaroverride_upload_csv") in content


@pytest.mark.django_db
def test_admin_upload_official_csv(admin_client_zh):
    url = reverse("admin:roc_calendar_calendaroverride_upload_csv")
    assert admin_client_zh.get(url).status_code == 200
    data = "西元日期,星期,是否放假,備註\n20250501,四,2,勞動節\n20250502,五,0,\n".encode("cp950")
    upload = io.BytesIO(data)
    upload.name = "calendar.csv"
    response = admin_client_zh.post(url, {"file": upload}, follow=True)
    assert "已匯入辦公日曆表共 2 天" in response.content.decode()
    assert CalendarOverride.objects.get().date == dt.date(2025, 5, 1)


@pytest.mark.django_db
def test_admin_upload_reports_bad_rows(admin_client_zh):
    url = reverse("admin:roc_calendar_calendaroverride_upload_csv")
    upload = io.BytesIO("西元日期,星期,是否放假,備註\n2025-05-01,四,2,\n".encode())
    upload.name = "calendar.csv"
    response = admin_client_zh.post(url, {"file": upload})
    assert response.status_code == 200
    assert "第 2 列" in response.content.decode()
    assert not CalendarOverride.objects.exists()
