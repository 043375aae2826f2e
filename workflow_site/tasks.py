import socket

from celery import shared_task
from django.utils import timezone

from .models import WorkerHeartbeat


@shared_task(bind=True)
def record_worker_heartbeat(self) -> str:
    """Upsert this worker's heartbeat row; beat runs it every minute so the admin shows live workers."""
    name = self.request.hostname or socket.gethostname()
    WorkerHeartbeat.objects.update_or_create(hostname=name, defaults={"last_seen": timezone.now()})
    return name
