"""The deadline registry: each domain app tells notifications which deadlines exist and who owns them.

notifications imports no domain app; a domain app registers a `DeadlineSource` in its AppConfig.ready().
Sources are set-based: one call returns every open item due in a date range, in a constant number of
queries, so the scan's cost does not grow with the number of items.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

from django.db import models


@dataclass(frozen=True)
class DueItem:
    """An open item with a deadline, as a source reports it."""

    object_id: int
    title: str
    due_date: datetime.date
    recipient_ids: tuple[int, ...]
    agency_id: int | None
    url: str
    # RDEC's own work escalates to an rdec_supervisor instead of the agency's head.
    rdec_work: bool = False


@dataclass(frozen=True)
class DeadlineSource:
    kind: str
    label: str
    model: type[models.Model]
    # Open items whose due date lies in [start, end].
    due_between: Callable[[datetime.date, datetime.date], Iterable[DueItem]]
    # Of these object ids, the ones that still need action (checked again just before sending).
    still_open: Callable[[Collection[int]], Collection[int]]
    # Open items the user is responsible for (我的待辦); None when the source has no per-user view.
    for_user: Callable[[object], Iterable[DueItem]] | None = field(default=None)
    # The source's own reminder wording, for an item that is no deadline to meet (a lag alert): used instead of the
    # generic "due on ..." text while its rules keep the generic default (an admin's own text always wins).
    subject_template: str = ""
    body_template: str = ""


_sources: dict[str, DeadlineSource] = {}


def register(source: DeadlineSource) -> DeadlineSource:
    existing = _sources.get(source.kind)
    if existing is not None and existing != source:
        raise ValueError(f"deadline kind {source.kind!r} is registered twice")
    _sources[source.kind] = source
    return source


def unregister(kind: str) -> None:
    _sources.pop(kind, None)


def get(kind: str) -> DeadlineSource | None:
    return _sources.get(kind)


def all_sources() -> list[DeadlineSource]:
    return sorted(_sources.values(), key=lambda s: s.kind)
