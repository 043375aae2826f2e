"""Every write of notifications, one module per concern: the deadline scan (`scan`), sending (`delivery`), the
daily digest (`digests`) and the in-app inbox (`inbox`). Callers use this package: `services.deadline_scan()`."""

from .delivery import SendResult, notifications_send
from .digests import notifications_send_digests
from .inbox import notification_mark_read, notification_preference_set, notifications_mark_all_read
from .scan import ScanResult, deadline_scan, reminder_rule_create

__all__ = [
    "ScanResult",
    "SendResult",
    "deadline_scan",
    "notification_mark_read",
    "notification_preference_set",
    "notifications_mark_all_read",
    "notifications_send",
    "notifications_send_digests",
    "reminder_rule_create",
]
