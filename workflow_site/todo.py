"""我的待辦: what waits for a user, computed from the state of the workflow objects.

Each domain app registers a provider `provider(user) -> Iterable[TodoItem]` in its AppConfig.ready();
the home page lists them. workflow_site imports no domain app.

Order: this year's work first. An item is "this year's" when its due date falls in the current calendar year
(Asia/Taipei) or later, or when it has no due date; those come first, soonest deadline first (so what is overdue
this year leads), the undated after them. Items due before 1 January of this year belong to a finished year (an
adoption answer a 107 round still owes, say): they follow, marked `past_year`, the most recent first.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.utils import timezone

_providers: list[Callable[..., Iterable[TodoItem]]] = []


@dataclass(frozen=True)
class TodoItem:
    title: str
    url: str
    kind: str
    due_date: datetime.date | None = None
    acting_for: str = ""  # the principal's name when the item is theirs and the user stands in
    past_year: bool = False  # due before this year began: set by items_for


def register(provider: Callable[..., Iterable[TodoItem]]) -> Callable[..., Iterable[TodoItem]]:
    if provider not in _providers:
        _providers.append(provider)
    return provider


def _order(item: TodoItem) -> tuple:
    if item.past_year:
        return (2, -item.due_date.toordinal(), item.title)
    if item.due_date is None:
        return (1, 0, item.title)
    return (0, item.due_date.toordinal(), item.title)


def items_for(user, *, today: datetime.date | None = None) -> list[TodoItem]:
    """The user's items, this year's first (soonest first, then undated), then those of finished years."""
    year_start = datetime.date((today or timezone.localdate()).year, 1, 1)
    items = [
        dataclasses.replace(item, past_year=item.due_date is not None and item.due_date < year_start)
        for provider in _providers
        for item in provider(user)
    ]
    return sorted(items, key=_order)
