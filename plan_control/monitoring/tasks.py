"""Thin Celery tasks of the monthly monitoring."""

from celery import shared_task
from django.utils import timezone

from . import services


# The name it had before plan_control became packages: the beat schedule row (migration 0002) names it.
@shared_task(name="plan_control.tasks.open_monthly_report_slots")
def open_monthly_report_slots(year: int | None = None, month: int | None = None) -> int:
    """Beat, on the 1st: open the previous month's report slot for every plan in execution (idempotent).

    Reports are cumulative to the end of a month and due on the following month's deadline day, so the slot
    opened on 1 March is February's.
    """
    if year is None or month is None:
        today = timezone.localdate()
        ad_year, month = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
        year = ad_year - 1911
    return services.reports_open_for_month(year=year, month=month)
