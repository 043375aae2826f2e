"""Thin Celery tasks of the thesis process: beat runs both daily (schedules in migration 0002)."""

from celery import shared_task

from . import services


@shared_task
def mark_overdue() -> int:
    """Beat, just after midnight: approved subsidies past their call's final due date -> overdue (safe twice: the
    second run finds none left approved)."""
    return services.applications_mark_overdue()


@shared_task
def purge_expired() -> int:
    """Beat, at night: the data and files of applications not granted, once their retention has passed, and the
    registrations never verified, once their link has expired (safe twice: purged rows are skipped). Returns how
    many applications and accounts it purged."""
    return services.applications_purge_expired() + services.applicants_purge_unverified()
