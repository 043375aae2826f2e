"""Notices: a one-off message to people about something that has just happened (a delegation names you, a
proposal waits for your sign-off), as opposed to the reminders the deadline scan sends.

Any floor may send one; `notifications` delivers them (it registers its deliverer in AppConfig.ready()), so
`accounts` and `workflow_site` send notices without importing it. A notice is written in the caller's transaction,
so it exists if and only if the change it reports committed, and goes out after the commit; if the broker is down
at that moment, the notifications outbox sweep sends it once the broker is back (nothing is lost, the request that
caused it still succeeds).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db import models


@dataclass(frozen=True)
class Notice:
    """One message to each of `recipient_ids` (users; inactive ones are skipped) about `item`.

    `body` is the news in a sentence or two: the deliverer adds the greeting, the link (`url`) and the footer.
    """

    recipient_ids: tuple[int, ...]
    subject: str
    body: str
    item: models.Model
    url: str


Deliverer = Callable[[list[Notice]], object]

_deliverer: Deliverer | None = None


def register(deliverer: Deliverer) -> None:
    global _deliverer
    _deliverer = deliverer


def send(*, recipient_ids: Iterable[int], subject: str, body: str, item: models.Model, url: str) -> None:
    """Write the notice for delivery after the current transaction commits (inside an atomic block: call it there)."""
    send_each([Notice(tuple(recipient_ids), subject, body, item, url)])


def send_each(notices: Iterable[Notice]) -> None:
    """Several notices, each with its own words, written together (one read of the recipients, one write) for
    delivery after the current transaction commits, like `send`."""
    if _deliverer is None:  # refusing beats silently telling nobody
        raise ImproperlyConfigured("No notice deliverer is registered: is the notifications app installed?")
    cleaned = []
    for notice in notices:
        recipients = tuple(dict.fromkeys(pk for pk in notice.recipient_ids if pk is not None))
        if recipients:
            cleaned.append(Notice(recipients, str(notice.subject), str(notice.body), notice.item, notice.url))
    if cleaned:
        _deliverer(cleaned)
