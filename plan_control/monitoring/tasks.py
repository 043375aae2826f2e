"""Thin Celery tasks of the monthly monitoring."""

from celery import shared_task

from . import selectors, services


# The name it had before plan_control became packages: the beat schedule row (migration 0002) names it.
@shared_task(name="plan_control.tasks.open_monthly_report_slots")
def open_monthly_report_slots(year: int | None = None, month: int | None = None) -> int:
    """Beat, on the 1st: open the previous month's report slot for every plan in execution (idempotent).

    Reports are cumulative to the end of a month and due on the following month's deadline day, so the slot
    opened on 1 March is February's.
    """
    if year is None or month is None:
        year, month = selectors.default_month()
    return services.reports_open_for_month(year=year, month=month)
