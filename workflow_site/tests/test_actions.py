"""Transition buttons that ask first: the confirmation page says what will happen and keeps the reason typed."""

import pytest
from django.http import Http404
from django.urls import include, path

from accounts.tests.factories import UserFactory
from workflow_site.actions import Action, ActionTable, TransitionPostView

calls: list[tuple[int, str]] = []


class Thing:
    def __init__(self, pk: int, drafts: int, offered: bool = True):
        self.pk, self.drafts, self.offered = pk, drafts, offered

    def __str__(self) -> str:
        return f"事項 {self.pk}"


THINGS = {1: Thing(1, drafts=2), 2: Thing(2, drafts=0), 3: Thing(3, drafts=2, offered=False)}


def _close_question(thing: Thing) -> str:
    return f"尚有 {thing.drafts} 件草稿將不能再送出。" if thing.drafts else ""


class ThingActions(ActionTable):
    def for_object(self, obj, user):
        """Stands in for the FSM: thing 3's buttons are not offered to anyone (a stale page, someone else's button)."""
        return list(self.actions) if obj.offered else []


ACTIONS = ThingActions(
    Action(
        "close",
        "截止收件",
        "已截止收件。",
        run=lambda pk, actor, data: calls.append((pk, "close")),
        confirm=_close_question,
    ),
    Action(
        "cancel",
        "取消",
        "已取消。",
        reason="required",
        confirm="取消後不能恢復。",
        run=lambda pk, actor, data: calls.append((pk, data["reason"])),
    ),
    Action("note", "註記", "已註記。", run=lambda pk, actor, data: calls.append((pk, "note"))),
)


class ThingTransitionView(TransitionPostView):
    actions = ACTIONS
    redirect_url_name = "thing"

    def get_object(self, request, pk):
        if pk not in THINGS:
            raise Http404
        return THINGS[pk]


urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),  # the page's language switch
    path("things/<int:pk>/", lambda request, pk: None, name="thing"),
    path("things/<int:pk>/actions/<slug:name>/", ThingTransitionView.as_view()),
]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


@pytest.fixture
def signed_in(client):
    calls.clear()
    client.force_login(UserFactory())
    return client


def test_an_irreversible_action_asks_first_and_runs_nothing(signed_in):
    response = signed_in.post("/things/1/actions/close/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "確定要截止收件嗎？" in page
    assert "尚有 2 件草稿將不能再送出。" in page
    assert "確定截止收件" in page and 'href="/things/1/"' in page  # 確定 and 取消
    assert calls == []


def test_confirmed_it_runs_once_with_one_success_message(signed_in):
    response = signed_in.post("/things/1/actions/close/", {"confirmed": "1"})
    assert response.status_code == 302 and response.url == "/things/1/"
    assert calls == [(1, "close")]
    assert [str(m) for m in response.wsgi_request._messages] == ["已截止收件。"]


def test_nothing_to_ask_runs_at_once(signed_in):
    """The question is computed from the data: with no drafts left, closing asks nothing."""
    signed_in.post("/things/2/actions/close/")
    signed_in.post("/things/2/actions/note/")
    assert calls == [(2, "close"), (2, "note")]


def test_the_reason_typed_is_carried_to_the_confirmation(signed_in):
    page = signed_in.post("/things/1/actions/cancel/", {"reason": "預算刪減<b>"}).content.decode()
    assert "取消後不能恢復。" in page
    assert ">預算刪減&lt;b&gt;</textarea>" in page
    assert calls == []
    signed_in.post("/things/1/actions/cancel/", {"reason": "預算刪減", "confirmed": "1"})
    assert calls == [(1, "預算刪減")]


def test_unknown_actions_and_objects_are_404_before_asking(signed_in):
    assert signed_in.post("/things/9/actions/close/").status_code == 404
    assert signed_in.post("/things/1/actions/nope/").status_code == 404
    assert calls == []


def test_someone_not_offered_the_button_is_not_asked_but_refused_by_the_service(signed_in):
    """No question describing data they cannot act on: the service runs and gives its own refusal."""
    response = signed_in.post("/things/3/actions/close/")
    assert response.status_code == 302
    assert calls == [(3, "close")]  # here the stand-in service accepts; a real one refuses with 403 / 409
