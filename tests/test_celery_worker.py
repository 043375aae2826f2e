"""Background work really runs: tasks travel through Redis to a separate prefork worker and write to the
database the web process reads."""

import socket
import time
from datetime import timedelta

from django.utils import timezone

from workflow_site.models import WorkerHeartbeat
from workflow_site.tasks import record_worker_heartbeat

WAIT_SECONDS = 20


def wait_for(predicate, *, seconds: float = WAIT_SECONDS):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.1)
    return None


def test_heartbeat_task_runs_in_the_worker(celery_worker):
    sent_at = timezone.now()

    record_worker_heartbeat.delay()

    heartbeat = wait_for(lambda: WorkerHeartbeat.objects.first())
    assert heartbeat is not None, f"the worker recorded no heartbeat; its log:\n{celery_worker.log[-3000:]}"
    # The worker's node name ("name@host"), or the bare host name if the task reports that.
    assert heartbeat.hostname in {celery_worker.hostname, socket.gethostname()}
    assert sent_at - timedelta(seconds=1) <= heartbeat.last_seen <= timezone.now()
    assert "record_worker_heartbeat" in celery_worker.log


def test_heartbeat_task_updates_the_row_of_its_worker(celery_worker):
    record_worker_heartbeat.delay()
    first = wait_for(lambda: WorkerHeartbeat.objects.first())
    assert first is not None, celery_worker.log[-3000:]

    record_worker_heartbeat.delay()

    updated = wait_for(lambda: WorkerHeartbeat.objects.filter(last_seen__gt=first.last_seen).exists())
    assert updated, celery_worker.log[-3000:]
    assert list(WorkerHeartbeat.objects.values_list("hostname", flat=True)) == [first.hostname]
