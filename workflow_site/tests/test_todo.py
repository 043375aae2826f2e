"""我的待辦's order: this year's work first (soonest first, then undated), then a finished year's, latest first."""

import datetime

import pytest

from workflow_site import todo

D = datetime.date


@pytest.fixture
def provider():
    items = [
        todo.TodoItem(title="107 adoption", url="/a/", kind="x", due_date=D(2018, 9, 28)),
        todo.TodoItem(title="undated", url="/b/", kind="x"),
        todo.TodoItem(title="next month", url="/c/", kind="x", due_date=D(2026, 1, 10)),
        todo.TodoItem(title="overdue this year", url="/d/", kind="x", due_date=D(2025, 1, 6)),
        todo.TodoItem(title="last December", url="/e/", kind="x", due_date=D(2024, 12, 31)),
        todo.TodoItem(title="soon", url="/f/", kind="x", due_date=D(2025, 12, 12)),
    ]

    def give(user):
        return items

    return give


def test_this_years_items_come_before_a_finished_years(provider, monkeypatch):
    monkeypatch.setattr(todo, "_providers", [provider])
    items = todo.items_for(None, today=D(2025, 12, 5))
    assert [i.title for i in items] == [
        "overdue this year",
        "soon",
        "next month",
        "undated",
        "last December",
        "107 adoption",
    ]
    assert [i.past_year for i in items] == [False, False, False, False, True, True]


@pytest.mark.django_db
def test_the_home_page_puts_old_items_under_their_own_heading(client, make_user, provider, monkeypatch):
    monkeypatch.setattr(todo, "_providers", [provider])
    client.force_login(make_user("agency_clerk"))
    page = client.get("/").content.decode()
    assert page.index("next month") < page.index('<tr class="rdec-todo-past">') < page.index("107 adoption")
