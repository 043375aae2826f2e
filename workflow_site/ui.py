"""The back office: one viewflow Site; each app adds its menu entry and its pages from its AppConfig.ready().

    ui.register(menu="proposals.urls.ProposalsApplication", prefix="proposals/", urls="proposals.urls")

Both are dotted paths, imported when the URLconf is first loaded (`build_site`), so registering imports nothing
at start-up and `workflow_site` never imports an app above it. Menu entries appear by `order` (the processes first,
then 評分, then the reference pages: the directory and the calendar), ties in registration order (INSTALLED_APPS).
"""

from __future__ import annotations

from django.urls import include, path
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _
from viewflow.urls import Site

from .views import HomeView

_menu: list[tuple[int, str]] = []
_pages: list[tuple[str, str]] = []
_public_pages: list[tuple[str, str]] = []
_public_sections: list[dict] = []


def register(*, menu: str | None = None, prefix: str | None = None, urls: str | None = None, order: int = 50) -> None:
    """`menu`: a viewflow `Application` class (the process's entry in the side menu, placed by `order`: processes
    10-50, 評分 60, reference pages 80-90); `prefix` and `urls`: the app's URLconf mounted inside the site at
    `prefix`, so its pages get the site's menu and colours."""
    if menu and menu not in (name for _, name in _menu):
        _menu.append((order, menu))
    if urls and (prefix, urls) not in _pages:
        _pages.append((prefix, urls))


def register_public(*, prefix: str, urls: str, title: str | None = None) -> None:
    """Pages for the public, outside the signed-in site (no menu, no sign-in): e.g. published results. With a
    `title`, the public pages' navigation links to `/<prefix>` under it."""
    if (prefix, urls) not in _public_pages:
        _public_pages.append((prefix, urls))
    if title and not any(s["url"] == f"/{prefix}" for s in _public_sections):
        _public_sections.append({"title": title, "url": f"/{prefix}"})


def public_sections() -> list[dict]:
    return list(_public_sections)


class RdecSite(Site):
    title = _("研考會工作流程系統")
    primary_color = "#1b4f72"
    secondary_color = "#117a65"
    index_path = path("", HomeView.as_view(), name="index")


def build_site() -> RdecSite:
    return RdecSite(
        viewsets=[import_string(menu)() for _, menu in sorted(_menu, key=lambda entry: entry[0])],
        urlpatterns=[path(prefix, include(urls)) for prefix, urls in _pages],
    )


def public_urlpatterns() -> list:
    return [path(prefix, include(urls)) for prefix, urls in _public_pages]
