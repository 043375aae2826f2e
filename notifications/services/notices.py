"""Notices (`workflow_site.notices`): one message per recipient about something that happened, written in the
caller's transaction, e-mailed after it commits.

The notification rows are the outbox: a notice exists if and only if the change it reports committed. After the
commit one send task is enqueued for its e-mails; if the broker cannot be reached then (Redis down), the rows are
left unqueued and `outbox_sweep` (beat, every minute) enqueues them once the broker answers again. The request that
caused the notice succeeds either way.
"""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from workflow_site import celery_app
from workflow_site.notices import Notice
from workflow_site.site_url import site_url

from ..models import NOTICE_KIND, Channel, Notification
from .common import OPEN_STATES

logger = logging.getLogger(__name__)

SEND_TASK = "notifications.tasks.send_notifications"
FOOTER = "研考會工作流程系統（本信由系統自動寄發，請勿直接回覆）"


def notice_deliver(notices: list[Notice]) -> list[Notification]:
    """Write the notices' rows (an in-app row and, for users with an address, an e-mail row per recipient of each)
    in one INSERT, and send the e-mails after the commit in one task. Inactive users get nothing."""
    now = timezone.now()
    wanted = {pk for notice in notices for pk in notice.recipient_ids}
    users = {
        user.pk: user
        for user in get_user_model()
        .objects.filter(pk__in=wanted, is_active=True)
        .only("pk", "email", "display_name", "username")
    }
    base_url = site_url()
    today = timezone.localdate(now)
    rows = []
    for notice in notices:
        content_type = ContentType.objects.get_for_model(notice.item)  # cached by Django after the first
        subject = " ".join(notice.subject.split())[:300]
        for user in (users[pk] for pk in sorted(notice.recipient_ids) if pk in users):
            greeting = f"{user.display_name or user.username} 您好："
            body = f"{greeting}\n\n{notice.body}\n\n請至系統查看：{base_url}{notice.url}\n\n{FOOTER}\n"
            for channel in (Channel.IN_APP, Channel.EMAIL) if user.email else (Channel.IN_APP,):
                in_app = channel == Channel.IN_APP
                rows.append(
                    Notification(
                        recipient=user,
                        content_type=content_type,
                        object_id=notice.item.pk,
                        kind=NOTICE_KIND,
                        item_title=str(notice.item)[:300],
                        url=notice.url,
                        rule=None,
                        purpose=Notification.Purpose.NOTICE,
                        offset=0,
                        due_date=today,
                        channel=channel,
                        # In-app notices are delivered by being stored; e-mails are queued when the commit enqueues
                        # them.
                        state=Notification.State.SENT if in_app else Notification.State.PENDING,
                        sent_at=now if in_app else None,
                        queued_at=None if in_app else now,
                        to_address="" if in_app else user.email,
                        subject=subject,
                        body=body,
                    )
                )
    Notification.objects.bulk_create(rows)
    email_ids = [row.pk for row in rows if row.channel == Channel.EMAIL]
    if email_ids:
        transaction.on_commit(lambda: outbox_enqueue(email_ids))
    return rows


def outbox_enqueue(notification_ids: list[int]) -> bool:
    """Hand committed e-mail rows to the worker (one send task). A broker that does not answer leaves them unqueued
    for the next sweep instead of raising: False then."""
    try:
        celery_app.send_task(SEND_TASK, args=[notification_ids], retry_policy=_PUBLISH_RETRY)
    except Exception:  # kombu's OperationalError and whatever a broken connection raises: never the user's problem
        logger.warning("broker unavailable: e-mails %s wait for the outbox sweep", notification_ids, exc_info=True)
        # Unqueued: the next sweep takes them (a failure here too leaves them to the requeue after an hour).
        try:
            Notification.objects.filter(pk__in=notification_ids, state__in=OPEN_STATES).update(queued_at=None)
        except Exception:
            logger.exception("could not mark notices %s unqueued", notification_ids)
        return False
    return True


# A user waits for this after their change committed: a few quick tries, not Celery's default patience.
_PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
