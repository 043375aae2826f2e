"""What the scan, the send and the digests share: the states still to deliver, settings with defaults, and which
items still need action."""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings

from .. import registry
from ..models import NOTICE_KIND, Notification

OPEN_STATES = (Notification.State.PENDING, Notification.State.RETRYING)


def setting(name: str, default):
    return getattr(settings, name, default)


def still_open(rows) -> dict[str, set[int]]:
    """Per deadline kind, which of these items still need action: one query per kind. A notice reports something that
    happened, so it always goes."""
    ids_by_kind: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        ids_by_kind[row.kind].add(row.object_id)
    result = {}
    for kind, ids in ids_by_kind.items():
        if kind == NOTICE_KIND:
            result[kind] = ids
            continue
        source = registry.get(kind)
        result[kind] = set(source.still_open(ids)) if source else set()
    return result
