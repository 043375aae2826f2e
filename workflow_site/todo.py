"""我的待辦: what waits for a user, computed from the state of the workflow objects.

Each domain app registers a provider `provider(user) -> Iterable[TodoItem]` in its AppConfig.ready();
the home page lists them soonest deadline first. workflow_site imports no domain app.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass

_providers: list[Callable[..., Iterable[TodoItem]]] = []


@dataclass(frozen=True)
class TodoItem:
    title: str
    url: str
    kind: str
    due_date: datetime.date | None = None
    acting_for: str = ""  # the principal's name when the item is theirs and the user stands in


def register(provider: Callable[..., Iterable[TodoItem]]) -> Callable[..., Iterable[TodoItem]]:
    if provider not in _providers:
        _providers.append(provider)
    return provider


def items_for(user) -> list[TodoItem]:
    items = [item for provider in _providers for item in provider(user)]
    return sorted(items, key=lambda i: (i.due_date is None, i.due_date or datetime.date.max, i.title))
