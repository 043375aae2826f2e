"""Every write of notifications, one module per concern: the deadline scan (`scan`), sending (`delivery`), the
daily digest (`digests`), the in-app inbox (`inbox`) and notices of what just happened (`notices`). Callers use
this package: `services.deadline_scan()`."""

from .delivery import SendResult, notifications_send
from .digests import notifications_send_digests
from .inbox import notification_mark_read, notification_preference_set, notifications_mark_all_read
from .notices import notice_deliver, outbox_enqueue
from .scan import ScanResult, deadline_scan, outbox_sweep, reminder_rule_create

__all__ = [
    "ScanResult",
    "SendResult",
    "deadline_scan",
    "notice_deliver",
    "notification_mark_read",
    "notification_preference_set",
    "notifications_mark_all_read",
    "notifications_send",
    "notifications_send_digests",
    "outbox_enqueue",
    "outbox_sweep",
    "reminder_rule_create",
]
