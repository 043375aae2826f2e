"""Thin Celery tasks for plan control."""

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task
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


@shared_task
def rollup_agency(round_id: int, agency_id: int) -> int:
    """One agency's share of the year-end rollup (acks_late: a killed worker's share is redelivered; the
    upsert makes running it twice harmless)."""
    from .appraisal_services import appraisal_rollup_agency

    return appraisal_rollup_agency(round_id=round_id, agency_id=agency_id)
