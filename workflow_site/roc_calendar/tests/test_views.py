"""行事曆調整 pages: RDEC staff keep the calendar without the admin; nobody else sees or changes it."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from workflow_site.roc_calendar.calendar import is_working_day
from workflow_site.roc_calendar.models import CalendarOverride
from workflow_site.roc_calendar.services import calendar_override_create

from .test_services import CHANGES, HEADER, official_rows

D = dt.date
LIST = "/calendar/"


@pytest.fixture
def officer(make_user):
    return make_user("rdec_officer", username="cal.officer")


@pytest.fixture
def typhoon():
    return calendar_override_create(date=D(2025, 7, 25), kind="closure", reason="颱風停班停課")


@pytest.mark.django_db
def test_officer_lists_a_years_overrides_in_roc_dates(client, officer, typhoon):
    calendar_override_create(date=D(2024, 10, 31), kind="closure", reason="康芮颱風")
    client.force_login(officer)
    page = client.get(LIST, {"year": 114}).content.decode()
    assert "民國114年行事曆調整" in page
    assert "民國114年7月25日（五）" in page
    assert "颱風停班停課" in page
    assert "康芮颱風" not in page
    assert "民國113年" in page  # the year selector offers the years that have rows
    assert reverse("roc_calendar:correct", args=[typhoon.pk]) in page


@pytest.mark.django_db
def test_bad_year_is_a_400(client, officer):
    client.force_login(officer)
    assert client.get(LIST, {"year": "²"}).status_code == 400


@pytest.mark.django_db
def test_officer_adds_a_district_closure_typed_in_roc_years(client, officer):
    client.force_login(officer)
    response = client.post(
        reverse("roc_calendar:create"),
        {"date": "114/08/13", "kind": "closure", "district_code": "397000000A", "reason": "豪雨停班"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == f"{LIST}?year=114"
    assert "已新增 民國114年8月13日 的行事曆調整。" in response.content.decode()
    override = CalendarOverride.objects.get()
    assert (override.date, override.kind, override.district_code) == (D(2025, 8, 13), "closure", "397000000A")
    assert not is_working_day(D(2025, 8, 13), district_code="397000000A")
    assert is_working_day(D(2025, 8, 13))


@pytest.mark.django_db
def test_adding_the_same_day_twice_is_refused_on_the_form(client, officer, typhoon):
    client.force_login(officer)
    response = client.post(reverse("roc_calendar:create"), {"date": "114/07/25", "kind": "holiday", "reason": "重複"})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert CalendarOverride.objects.count() == 1


@pytest.mark.django_db
def test_bad_roc_date_is_shown_on_the_form(client, officer):
    client.force_login(officer)
    response = client.post(reverse("roc_calendar:create"), {"date": "114/02/30", "kind": "closure", "reason": "x"})
    assert response.status_code == 200
    assert "民國114年2月沒有30日" in response.content.decode()
    assert not CalendarOverride.objects.exists()


@pytest.mark.django_db
def test_correcting_an_official_row_makes_it_a_hand_correction(client, officer):
    official = CalendarOverride.objects.create(
        date=D(2025, 5, 1), kind="holiday", reason="勞動節", source=CalendarOverride.Source.OFFICIAL_CSV
    )
    client.force_login(officer)
    url = reverse("roc_calendar:correct", args=[official.pk])
    assert "勞動節" in client.get(url).content.decode()
    response = client.post(url, {"kind": "working_day", "reason": "本市照常上班"})
    assert response.status_code == 302
    official.refresh_from_db()
    assert (official.kind, official.reason, official.source) == ("working_day", "本市照常上班", "manual")


@pytest.mark.django_db
def test_removing_asks_first_then_the_day_follows_the_national_calendar(client, officer, typhoon):
    client.force_login(officer)
    url = reverse("roc_calendar:delete", args=[typhoon.pk])
    page = client.get(url).content.decode()
    assert "確定要刪除這筆行事曆調整嗎？" in page
    assert CalendarOverride.objects.exists()
    response = client.post(url, follow=True)
    assert "已刪除 民國114年7月25日 的行事曆調整" in response.content.decode()
    assert not CalendarOverride.objects.exists()
    assert is_working_day(D(2025, 7, 25))
    assert client.post(url).status_code == 404


@pytest.mark.django_db
def test_officer_uploads_the_official_calendar(client, officer):
    client.force_login(officer)
    text = HEADER + official_rows(D(2025, 5, 1), D(2025, 5, 31), changes=CHANGES)
    upload = SimpleUploadedFile("calendar.csv", text.encode("cp950"), content_type="text/csv")
    response = client.post(reverse("roc_calendar:upload"), {"file": upload}, follow=True)
    assert "已匯入辦公日曆表共 31 天：新增 2 筆" in response.content.decode()
    assert set(CalendarOverride.objects.values_list("date", "source")) == {
        (D(2025, 5, 1), "official_csv"),
        (D(2025, 5, 10), "official_csv"),
    }


@pytest.mark.django_db
def test_upload_shows_each_bad_row_and_loads_nothing(client, officer):
    client.force_login(officer)
    text = HEADER + "20250501,四,2,勞動節\n2025050,五,0,\n20250503,六,9,\n"
    upload = SimpleUploadedFile("calendar.csv", text.encode(), content_type="text/csv")
    response = client.post(reverse("roc_calendar:upload"), {"file": upload})
    page = response.content.decode()
    assert response.status_code == 200
    assert "檔案未匯入" in page
    assert "第 3 列：日期「2025050」不正確" in page
    assert "第 4 列：「是否放假」欄的值「9」不正確" in page
    assert not CalendarOverride.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["agency_clerk", "agency_head", "reviewer"])
def test_others_are_refused_every_page(client, make_user, typhoon, role):
    client.force_login(make_user(role))
    for url in (
        LIST,
        reverse("roc_calendar:create"),
        reverse("roc_calendar:upload"),
        reverse("roc_calendar:correct", args=[typhoon.pk]),
        reverse("roc_calendar:delete", args=[typhoon.pk]),
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("roc_calendar:delete", args=[typhoon.pk])).status_code == 403
    post = {"date": "114/09/01", "kind": "closure", "reason": "x"}
    assert client.post(reverse("roc_calendar:create"), post).status_code == 403
    assert CalendarOverride.objects.count() == 1
    home = client.get("/").content.decode()
    assert "行事曆調整" not in home


@pytest.mark.django_db
def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(LIST)
    assert response.status_code == 302
    assert "login" in response["Location"]


@pytest.mark.django_db
def test_the_menu_shows_the_calendar_to_rdec_staff(client, officer):
    client.force_login(officer)
    assert "行事曆調整" in client.get("/").content.decode()


@pytest.mark.django_db
def test_services_refuse_a_user_without_the_permission(make_user, typhoon):
    from workflow_site.errors import PermissionDenied
    from workflow_site.roc_calendar.services import calendar_override_delete, calendar_override_update

    clerk = make_user("agency_clerk")
    with pytest.raises(PermissionDenied):
        calendar_override_create(date=D(2025, 9, 1), kind="closure", reason="x", actor=clerk)
    with pytest.raises(PermissionDenied):
        calendar_override_update(override_id=typhoon.pk, kind="holiday", reason="x", actor=clerk)
    with pytest.raises(PermissionDenied):
        calendar_override_delete(override_id=typhoon.pk, actor=clerk)
    assert CalendarOverride.objects.get().kind == "closure"
