"""The in-app inbox: marking notifications read, and the choice between single e-mails and a daily digest."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from workflow_site.errors import NotFound

from ..models import Channel, Notification, NotificationPreference


@transaction.atomic
def notification_mark_read(*, notification_id: int, user) -> Notification:
    """Mark one of the user's own in-app notifications as read (not a state change: delivery is done)."""
    try:
        notification = Notification.objects.select_for_update().get(
            pk=notification_id, recipient=user, channel=Channel.IN_APP
        )
    except Notification.DoesNotExist as exc:
        raise NotFound() from exc
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@transaction.atomic
def notifications_mark_all_read(*, user) -> int:
    """Mark all of the user's unread in-app notifications as read."""
    return Notification.objects.filter(recipient=user, channel=Channel.IN_APP, read_at__isnull=True).update(
        read_at=timezone.now()
    )


@transaction.atomic
def notification_preference_set(*, user, daily_digest: bool) -> NotificationPreference:
    """Choose between one e-mail per reminder and one daily digest."""
    preference, _created = NotificationPreference.objects.select_for_update().get_or_create(user=user)
    preference.daily_digest = daily_digest
    preference.full_clean()
    preference.save(update_fields=["daily_digest"])
    return preference
