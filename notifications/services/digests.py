"""The daily digest: one e-mail per user who chose it, listing their waiting reminders."""

from __future__ import annotations

import datetime

from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow_site.roc_calendar.roc import format_roc_date
from workflow_site.site_url import site_url
from workflow_site.transitions import apply_transition

from ..models import Channel, Notification
from .common import OPEN_STATES, still_open


def notifications_send_digests(*, now: datetime.datetime | None = None) -> int:
    """One e-mail per user who chose the daily digest, listing their waiting reminders; each row -> sent."""
    now = now or timezone.now()
    recipients = (
        Notification.objects.filter(channel=Channel.EMAIL, digest=True, state__in=OPEN_STATES)
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    sent = 0
    for recipient_id in list(recipients):
        # Durable: each digest's rows are committed as sent right after its e-mail; inside a caller's transaction
        # they would stay locked and unsent until its end, and a rollback would mail the digests again.
        with transaction.atomic(durable=True):
            rows = list(
                Notification.objects.select_for_update(skip_locked=True)
                .filter(recipient_id=recipient_id, channel=Channel.EMAIL, digest=True, state__in=OPEN_STATES)
                .order_by("due_date", "pk")
            )
            if not rows:
                continue
            open_items = still_open(rows)
            live = []
            for row in rows:
                if row.object_id in open_items.get(row.kind, ()):
                    live.append(row)
                else:
                    apply_transition(row, "cancel", actor=None, reason=_("事項已辦理完成，不再提醒。"))
            if not live:
                continue
            base_url = site_url()
            lines = [f"・{row.item_title}（期限：{format_roc_date(row.due_date)}）{base_url}{row.url}" for row in live]
            body = "\n".join(
                [
                    _("您好：以下是您今日的待辦提醒（共 %(n)d 項）：") % {"n": len(live)},
                    "",
                    *lines,
                    "",
                    _("研考會工作流程系統（本信由系統自動寄發，請勿直接回覆）"),
                ]
            )
            EmailMessage(
                subject=_("【每日摘要】您有 %(n)d 項待辦提醒") % {"n": len(live)},
                body=body,
                to=[live[0].to_address],
                headers={"X-RDEC-Digest": str(recipient_id)},
            ).send()
            for row in live:
                apply_transition(
                    row,
                    "mark_sent",
                    actor=None,
                    reason=_("每日摘要"),
                    kwargs={"at": now},
                    update_fields=["attempts", "sent_at", "last_error", "next_attempt_at"],
                )
            sent += 1
    return sent
