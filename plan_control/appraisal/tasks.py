"""Thin Celery tasks of the year-end appraisal."""

from celery import shared_task

from . import services


# The task of the releases that sent one task per agency, under the name it had before plan_control became
# packages: a rollup group sent by such a release and still queued (or redelivered) must find its task.
@shared_task(name="plan_control.tasks.rollup_agency")
def rollup_agency(round_id: int, agency_id: int) -> int:
    """One agency's share of the year-end rollup (acks_late: a killed worker's share is redelivered; the
    upsert makes running it twice harmless)."""
    return services.appraisal_rollup_agencies(round_id=round_id, agency_ids=[agency_id])


@shared_task(name="plan_control.tasks.rollup_agencies")
def rollup_agencies(round_id: int, agency_ids: list[int]) -> int:
    """A batch of whole agencies' share of the year-end rollup, in one statement (acks_late: a killed worker's
    batch is redelivered; the upsert makes running it twice harmless)."""
    return services.appraisal_rollup_agencies(round_id=round_id, agency_ids=agency_ids)
