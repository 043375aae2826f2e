"""Thin Celery tasks: take ids, call a service, enqueue what it names once it has committed."""

from celery import shared_task

from . import services


@shared_task
def scan_deadlines() -> dict:
    """Beat, every 15 minutes: create the due reminders and enqueue their e-mails."""
    result = services.deadline_scan()  # durable: committed when it returns
    for batch in result.enqueued:
        services.outbox_enqueue(batch)  # a broker gone in between leaves the batch to the sweep
    return {"created": result.created, "enqueued": result.enqueued_count}


@shared_task
def sweep_outbox() -> int:
    """Beat, every minute: enqueue the e-mails whose enqueue failed (broker down at the time) or was lost."""
    batches = services.outbox_sweep()
    return sum(len(batch) for batch in batches if services.outbox_enqueue(batch))


@shared_task(bind=True)
def send_notifications(self, notification_ids: list[int]) -> dict:
    """Send a batch over one SMTP connection; failed rows come back after their backoff.

    The task id claims the rows: redelivered after a lost worker, the same id takes them back at once.
    """
    result = services.notifications_send(notification_ids=notification_ids, claim=self.request.id)
    if result.retry:
        send_notifications.apply_async(args=[result.retry], eta=result.retry_at)
    return {"sent": len(result.sent), "retry": len(result.retry), "dead": len(result.dead)}


@shared_task
def send_daily_digests() -> int:
    """Beat, every morning: one digest e-mail per user who chose it."""
    return services.notifications_send_digests()
