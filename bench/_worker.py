"""A real Celery worker subprocess for the benchmarks, on a queue of its own (Redis db 14; pytest uses 15).

The bench process and the worker must agree on the broker, the queue and the database: `bench_environment()`
sets them in os.environ, before Django reads its settings. BENCH_DATABASE_URL and BENCH_BROKER_URL, when set,
replace the defaults (database `rdec`, Redis db 14), so several benches can run at once without colliding.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BROKER_URL = os.environ.get("BENCH_BROKER_URL") or "redis://127.0.0.1:6379/14"
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/rdec"


def bench_environment() -> str:
    """Point this process at the bench broker, database and a fresh queue; returns the queue's name."""
    queue = f"rdec-bench-{uuid.uuid4().hex[:10]}"
    os.environ.update(
        DJANGO_SETTINGS_MODULE="workflow_site.settings.test",
        DATABASE_URL=DATABASE_URL,
        CELERY_BROKER_URL=BROKER_URL,
        CELERY_TASK_DEFAULT_QUEUE=queue,
    )
    return queue


class Worker:
    """`start()` waits until it answers a ping; `stop()` shuts it down warm, then kills what is left."""

    def __init__(
        self,
        *,
        queue: str,
        log_path: Path,
        extra_env: dict | None = None,
        include: str = "",
        concurrency: int = 2,
        node: str = "",
    ) -> None:
        self.queue = queue
        self.concurrency = concurrency
        # Two workers on one queue need node names of their own, or each answers the other's readiness ping.
        self.node = node or queue
        self.hostname = f"{self.node}@{socket.gethostname()}"
        self.log_path = log_path
        self.include = include
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {})}
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        from workflow_site import celery_app

        argv = [
            sys.executable, "-m", "celery", "-A", "workflow_site", "worker",
            "--pool", "prefork", "--concurrency", str(self.concurrency), "-l", "warning",
            "-Q", self.queue, "-n", f"{self.node}@%h", "--without-mingle", "--without-gossip",
        ]  # fmt: skip
        if self.include:
            argv += ["--include", self.include]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                argv, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, process_group=0
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited during start-up; see {self.log_path}")
            if celery_app.control.ping(destination=[self.hostname], timeout=0.5):
                return
        raise RuntimeError(f"worker not ready after 60 s; see {self.log_path}")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # warm shutdown: the main process only
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # nothing of it (pool children) outlives the bench
        self.process.wait()


def in_flight(client, queue: str) -> int:
    """The queue's messages still waiting or delivered but not yet acknowledged (acks_late: still running)."""
    unacked = sum(1 for raw in client.hvals("unacked") if json.loads(raw)[2] == queue)
    return client.llen(queue) + unacked


def wait_drained(client, queue: str, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # Twice, a moment apart: a message popped from the list is in `unacked` a few microseconds later.
        if in_flight(client, queue) == 0:
            time.sleep(0.005)
            if in_flight(client, queue) == 0:
                return
        time.sleep(0.01)
    raise RuntimeError(f"queue {queue} not drained after {timeout} s")


def noop_rate(client, queue: str, n: int, *, timeout: float) -> float:
    """No-op Celery tasks per second through the workers on `queue`: the anchor every Celery bench compares with."""
    from workflow_site import celery_app

    start = time.perf_counter()
    with celery_app.producer_or_acquire() as producer:
        for _ in range(n):
            celery_app.send_task("celery.ping", queue=queue, producer=producer)
    wait_drained(client, queue, timeout=timeout)
    return n / (time.perf_counter() - start)


def drop_queue(queue: str) -> None:
    """The queue's lists and kombu's binding sets for it: every key naming it."""
    from workflow_site import celery_app

    with celery_app.connection_for_write() as connection:
        channel = connection.default_channel
        channel.queue_delete(queue)
        keys = list(channel.client.scan_iter(match=f"*{queue}*"))
        if keys:
            channel.client.delete(*keys)
