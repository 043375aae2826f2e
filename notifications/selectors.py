"""Reads of notifications for views, the API and the home page."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.selectors import acting_principals
from workflow_site.todo import TodoItem

from . import registry
from .models import Channel, Notification


def inbox(*, user) -> QuerySet[Notification]:
    """The user's own in-app notifications, newest first."""
    return (
        Notification.objects.filter(recipient=user, channel=Channel.IN_APP)
        .select_related("on_behalf_of")
        .order_by("-created_at", "-pk")
    )


def unread_count(*, user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(recipient=user, channel=Channel.IN_APP, read_at__isnull=True).count()


def todo_items(user) -> list[TodoItem]:
    """我的待辦 from the deadline registry: the user's own open items and those of whom they stand in for."""
    if not getattr(user, "is_authenticated", False):
        return []
    items = []
    people = [(user, "")] + [(p, str(p)) for p in acting_principals(user)]
    for source in registry.all_sources():
        if source.for_user is None:
            continue
        for person, acting_for in people:
            for due in source.for_user(person):
                items.append(
                    TodoItem(
                        title=due.title, url=due.url, kind=source.label, due_date=due.due_date, acting_for=acting_for
                    )
                )
    return items


def daily_digest(*, user) -> bool:
    """Whether the user chose one daily digest e-mail instead of one e-mail per reminder."""
    from .models import NotificationPreference

    return NotificationPreference.objects.filter(user=user, daily_digest=True).exists()
