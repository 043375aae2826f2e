"""The pages Django and viewflow would otherwise show as they ship: the agency directory, the error pages, the
password reset, the icon, the admin's names, and what a refused request prints in the console."""

from __future__ import annotations

import importlib
import logging
import re

import pytest
from django.contrib import admin
from django.contrib.admin.utils import label_for_field
from django.contrib.staticfiles import finders
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import include, path
from django.utils import translation

from accounts.models import Agency
from accounts.tests.factories import PASSWORD, AgencyFactory


def _denied(request):
    raise PermissionDenied("這筆資料只有承辦人可以修改。")


def _denied_without_reason(request):
    raise PermissionDenied


def _boom(request):
    raise RuntimeError("測試用的錯誤")


# The site's URLs plus three views that fail on purpose (tests marked urls(__name__) use this URLconf).
urlpatterns = [
    path("stock-pages/denied/", _denied),
    path("stock-pages/denied-plain/", _denied_without_reason),
    path("stock-pages/boom/", _boom),
    path("", include("workflow_site.urls")),
]
handler404 = "workflow_site.api.not_found"

pytestmark = pytest.mark.django_db

HAN = re.compile(r"[\u4e00-\u9fff]")
PROJECT_APPS = {"accounts", "reviews", "proposals", "theses", "plan_control", "notifications", "workflow_site"}
PROJECT_APPS |= {"roc_calendar"}
PROJECT_APPS = {
    "accounts",
    "reviews",
    "proposals",
    "theses",
    "plan_control",
    "notifications",
    "workflow_site",
    "roc_calendar",
}


def _text(response) -> str:
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", response.content.decode(), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _looks_like_the_site(html: str) -> None:
    assert "vf-page-lockscreen" in html  # the sign-in page's layout
    assert "研考會工作流程系統" in html
    assert '<link rel="icon" href="/static/favicon.svg"' in html
    assert "--mdc-theme-primary: #1b4f72" in html  # the site's colours outside the site too
    assert "Django" not in html


# ---------------------------------------------------------------------------------------------- agency directory


@pytest.fixture
def agencies():
    city = AgencyFactory(code="KH", name="高雄市政府", kind=Agency.Kind.BUREAU)
    AgencyFactory(code="KH-EDU", name="高雄市政府教育局", kind=Agency.Kind.BUREAU, parent=city)
    AgencyFactory(code="KH-SCH", name="高雄市立前鎮高級中學", kind=Agency.Kind.SCHOOL, parent=city, active=False)
    return city


def test_directory_names_each_parent_and_says_yes_or_no(client, make_user, agencies):
    client.force_login(make_user())

    response = client.get("/directory/")

    assert response.status_code == 200
    text = _text(response)
    assert "機關名錄" in text
    for header in ("機關代碼", "機關名稱", "機關類型", "上級機關", "使用中"):
        assert f"{header}" in text
    row = re.search(r"KH-SCH (.*?) (?=KH|$)", text).group(1)
    assert "高雄市立前鎮高級中學 學校 高雄市政府 否" in row
    assert "高雄市政府教育局 局處 高雄市政府 是" in text
    html = response.content.decode()
    assert f'href="/directory/{agencies.pk}/"' in html  # the parent's name links to it
    for english in ("object at 0x", "Parent", "True", "False", " of "):
        assert english not in text


def test_directory_search_and_filters(client, make_user, agencies):
    client.force_login(make_user(agency=agencies))

    def codes(query: str) -> set[str]:
        return set(re.findall(r"<tr>\s*<td>([^<]+)</td>", client.get(f"/directory/?{query}").content.decode()))

    assert codes("q=教育") == {"KH-EDU"}
    assert codes("q=kh-sch") == {"KH-SCH"}
    assert codes("kind=school") == {"KH-SCH"}
    assert codes("active=no") == {"KH-SCH"}
    assert codes("active=yes&kind=bureau") == {"KH", "KH-EDU"}
    assert "沒有符合條件的機關。" in _text(client.get("/directory/?q=不存在的機關"))


def test_directory_pages_in_zh_hant(client, make_user):
    for n in range(30):
        AgencyFactory(code=f"P{n:02d}", name=f"第{n}區公所", kind=Agency.Kind.DISTRICT_OFFICE)
    client.force_login(make_user())

    first = _text(client.get("/directory/?kind=district_office"))
    second = client.get("/directory/?kind=district_office&page=2")

    assert "共 30 個機關，本頁為第 1 至 25 個" in first
    assert "第 1 頁，共 2 頁" in first and "下一頁" in first
    assert "第 2 頁，共 2 頁" in _text(second) and "上一頁" in _text(second)
    assert 'href="?kind=district_office&amp;page=1"' in second.content.decode()  # the filter stays on


def test_directory_queries_do_not_grow_with_the_page(client, make_user):
    client.force_login(make_user())
    parent = AgencyFactory(code="ROOT", name="高雄市政府")
    AgencyFactory(code="C00", parent=parent)
    with CaptureQueriesContext(connection) as few:
        client.get("/directory/")
    for n in range(1, 21):
        AgencyFactory(code=f"C{n:02d}", parent=parent)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/directory/")

    assert response.content.decode().count(">高雄市政府</a>") == 22  # 21 children's parent + the parent's own row
    assert len(many) == len(few)


def test_agency_detail_shows_parent_and_children(client, make_user, agencies):
    client.force_login(make_user())
    school = Agency.objects.get(code="KH-SCH")

    child_page = _text(client.get(f"/directory/{school.pk}/"))
    parent_page = _text(client.get(f"/directory/{agencies.pk}/"))

    assert "上級機關 高雄市政府" in child_page
    assert "使用中 否" in child_page
    assert "所屬機關" in parent_page and "高雄市政府教育局" in parent_page and "高雄市立前鎮高級中學" in parent_page
    assert "上級機關 無" in parent_page
    assert client.get("/directory/999999/").status_code == 404


def test_directory_needs_sign_in_and_keeps_its_menu_entry_and_old_address(client, make_user, agencies):
    assert client.get("/directory/")["Location"].startswith("/accounts/login/")

    client.force_login(make_user())
    assert 'href="/directory/"' in client.get("/").content.decode()
    old = client.get("/directory/agency/?kind=school")
    assert (old.status_code, old["Location"]) == (302, "/directory/?kind=school")


# ------------------------------------------------------------------------------------------------- error pages


def test_404_page(client, make_user):
    client.force_login(make_user())

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    html = response.content.decode()
    _looks_like_the_site(html)
    assert "找不到頁面" in html and "回首頁" in html
    assert "Page not found" not in html
    # The API keeps its JSON answer.
    api = client.get("/api/v1/no-such-thing/")
    assert (api.status_code, api["Content-Type"]) == (404, "application/json")


@pytest.mark.urls(__name__)
def test_403_page_gives_the_reason(client, make_user):
    client.force_login(make_user())

    with_reason = client.get("/stock-pages/denied/")
    without = client.get("/stock-pages/denied-plain/")

    assert with_reason.status_code == 403
    _looks_like_the_site(with_reason.content.decode())
    assert "沒有權限" in _text(with_reason) and "這筆資料只有承辦人可以修改。" in _text(with_reason)
    assert "您的帳號沒有使用這個頁面的權限" in _text(without)
    assert "Access Forbidden" not in without.content.decode()


@pytest.mark.urls(__name__)
def test_500_page(make_user):
    client = Client(raise_request_exception=False)

    response = client.get("/stock-pages/boom/")

    assert response.status_code == 500
    _looks_like_the_site(response.content.decode())
    assert "系統發生錯誤" in _text(response)
    assert "測試用的錯誤" not in _text(response)


def test_400_and_csrf_pages(make_user):
    client = Client(enforce_csrf_checks=True)

    refused = client.post("/accounts/login/", {"username": "x", "password": "y"})

    assert refused.status_code == 403
    _looks_like_the_site(refused.content.decode())
    assert "表單已失效" in _text(refused)
    # A host name the site does not serve: Django's SuspiciousOperation, a 400.
    malformed = Client(HTTP_HOST="elsewhere.example").get("/")
    assert malformed.status_code == 400
    _looks_like_the_site(malformed.content.decode())
    assert "無法處理的請求" in _text(malformed)


# ---------------------------------------------------------------------------------------------- password reset


def test_password_reset_by_e_mail(client, make_user):
    user = make_user(email="clerk@example.gov.tw", display_name="王小明")

    form = client.get("/accounts/password_reset/")
    assert form.status_code == 200
    _looks_like_the_site(form.content.decode())
    assert "忘記密碼" in _text(form)
    assert 'href="/accounts/password_reset/"' in client.get("/accounts/login/").content.decode()

    sent = client.post("/accounts/password_reset/", {"email": "clerk@example.gov.tw"}, follow=True)
    assert "重設連結已寄出" in _text(sent)
    [message] = mail.outbox
    assert message.to == ["clerk@example.gov.tw"]
    assert message.subject == "研考會工作流程系統：重設密碼"
    assert "王小明 您好" in message.body and f"您的帳號：{user.username}" in message.body
    assert "Django" not in message.body
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body).group(1)

    confirm = client.get(link, follow=True)
    assert "設定新密碼" in _text(confirm)
    _looks_like_the_site(confirm.content.decode())
    assert "&lt;ul&gt;" not in confirm.content.decode() and "<ul><li>" not in confirm.content.decode()
    done = client.post(
        confirm.redirect_chain[-1][0],
        {"new_password1": "Brand-new-2027", "new_password2": "Brand-new-2027"},
        follow=True,
    )
    assert "密碼已重設" in _text(done)
    user.refresh_from_db()
    assert user.check_password("Brand-new-2027")

    used_again = client.get(link)
    assert "連結已失效" in _text(used_again)


def test_password_reset_for_an_unknown_address_sends_nothing(client, make_user):
    make_user(email="clerk@example.gov.tw")

    response = client.post("/accounts/password_reset/", {"email": "nobody@example.gov.tw"}, follow=True)

    assert "重設連結已寄出" in _text(response)  # the same page: it does not tell who has an account
    assert mail.outbox == []


def test_password_change_from_the_user_menu(client, make_user):
    user = make_user()
    client.force_login(user)
    assert 'href="/accounts/password_change/"' in client.get("/").content.decode()

    page = client.get("/accounts/password_change/")
    _looks_like_the_site(page.content.decode())
    # The password rules as text: viewflow's fields would show Django's HTML list as "<ul><li>…".
    assert "你的密碼必須包含至少 10 個字元。" in page.content.decode()
    assert "&lt;ul&gt;" not in page.content.decode() and "<ul><li>" not in page.content.decode()
    done = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": "Brand-new-2027", "new_password2": "Brand-new-2027"},
        follow=True,
    )

    assert "密碼已變更" in _text(done)
    user.refresh_from_db()
    assert user.check_password("Brand-new-2027")


# ------------------------------------------------------------------------------------------------ icon and admin


def test_favicon(client, make_user):
    response = client.get("/favicon.ico")
    assert (response.status_code, response["Location"]) == (302, "/static/favicon.ico")
    with open(finders.find("favicon.ico"), "rb") as icon:
        assert icon.read(4) == b"\x00\x00\x01\x00"  # an ICO file
    assert finders.find("favicon.svg")

    client.force_login(make_user("admin", is_staff=True, is_superuser=True))
    for page in ("/", "/directory/", "/admin/"):
        assert '<link rel="icon" href="/static/favicon.svg"' in client.get(page).content.decode(), page


def test_admin_names_the_product(client, make_user):
    client.force_login(make_user("admin", is_staff=True, is_superuser=True))

    html = client.get("/admin/").content.decode()

    assert "研考會工作流程系統 管理" in re.search(r"<title>(.*?)</title>", html).group(1)
    assert re.search(r'id="site-name">\s*<a [^>]*>研考會工作流程系統 管理</a>', html)
    assert "Django" not in _text(client.get("/admin/"))


def test_admin_speaks_zh_hant():
    """Every project model in the admin: its list's column headers and filters, the labels of its fields (a read-only
    model's page shows them all) and its choice values are Chinese."""
    english = []
    with translation.override("zh-hant"):
        for model, model_admin in admin.site._registry.items():
            opts = model._meta
            if opts.app_label not in PROJECT_APPS:
                continue
            filters = [f if isinstance(f, str) else f[0] for f in model_admin.list_filter]
            for name in [*model_admin.list_display, *filters]:
                if name != "__str__" and "__" not in name:
                    english.append(f"{opts.label} {name}: {label_for_field(name, model, model_admin)}")
            for field in opts.get_fields():
                if (field.concrete or field.many_to_many) and not field.auto_created:
                    english.append(f"{opts.label}.{field.name}: {field.verbose_name}")
                english += [f"{opts.label}.{field.name} = {label}" for _v, label in getattr(field, "flatchoices", ())]
    assert [entry for entry in english if not HAN.search(entry.split(":")[-1].split("=")[-1])] == []


# ------------------------------------------------------------------------------------------------ quiet console


@pytest.mark.urls(__name__)
def test_a_refusal_logs_one_line_without_traceback(client, make_user, caplog):
    client.force_login(make_user())
    caplog.set_level(logging.INFO)

    client.get("/stock-pages/denied/")

    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage() == "Forbidden (Permission denied): /stock-pages/denied/"
    assert record.exc_info is None and record.exc_text is None
    # Django's own console handler is gone: the record reaches the console once, through root's.
    assert logging.getLogger("django").handlers == []


@pytest.mark.urls(__name__)
def test_a_server_error_keeps_its_traceback(caplog):
    caplog.set_level(logging.INFO)

    Client(raise_request_exception=False).get("/stock-pages/boom/")

    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.levelno == logging.ERROR and record.exc_info[0] is RuntimeError


def test_make_run_settings(monkeypatch):
    """`make run` (local settings) shows the site's error pages and prints the worker's console e-mails as they are."""
    monkeypatch.delenv("DJANGO_DEBUG", raising=False)
    monkeypatch.delenv("DJANGO_EMAIL_BACKEND", raising=False)
    local = importlib.reload(importlib.import_module("workflow_site.settings.local"))

    assert local.DEBUG is False
    assert local.WHITENOISE_USE_FINDERS is True  # static files served without collectstatic
    assert local.EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend"
    assert local.CELERY_WORKER_REDIRECT_STDOUTS is False
