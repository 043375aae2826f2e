"""Thin Celery tasks of the year-end appraisal."""

from celery import shared_task

from . import services


# The name it had before plan_control became packages: a rollup group sent by the previous release and still
# queued (or redelivered) must find its task, and the worker's log keeps naming it the same way.
@shared_task(name="plan_control.tasks.rollup_agency")
def rollup_agency(round_id: int, agency_id: int) -> int:
    """One agency's share of the year-end rollup (acks_late: a killed worker's share is redelivered; the
    upsert makes running it twice harmless)."""
    return services.appraisal_rollup_agency(round_id=round_id, agency_id=agency_id)
