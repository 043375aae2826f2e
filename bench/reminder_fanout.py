"""Fan-out of 10,000 due reminders through Celery to a local SMTP sink: e-mails per second, and the ratio
to a no-op Celery task rate measured in the same run.

One real worker (prefork, Redis db 14, a queue of its own) serves both measurements:
- no-op: N `celery.ping` tasks (celery.contrib.testing.tasks, loaded with `--include`), timed from the first
  publish until the queue is empty and Redis's `unacked` hash holds none of ours (acks_late: all finished);
  half before and half after the e-mails, so a change in the machine's load hits both sides alike;
- e-mail: 10,000 due items (accounts.Delegation through the test deadline source), one e-mail-only rule,
  `deadline_scan()` in the bench process, then `send_notifications.delay(batch)` for every batch, timed
  until all 10,000 rows are `sent` and the sink on loopback holds 10,000 messages.
The sink checks exactly-once: 10,000 messages, 10,000 distinct X-RDEC-Notification values, each one of ours.
Batches come from `deadline_scan()` (NOTIFICATION_SEND_BATCH of the bench process): 50 and 200 are tried.

Concurrency 4 on the 2 cores (BENCH_CONCURRENCY to change it): a send mostly waits, on the SMTP server's
replies and on PostgreSQL, so more processes than cores overlap the waits (Celery's advice for I/O-bound
tasks). The no-op side runs on the same worker, so the ratio compares like with like.
Two sinks, each with a worker of its own (`--sink lean|aiosmtpd|both`, default both):
- lean: bench/_smtp_sink.py, an asyncio SMTP sink that costs little CPU: the figure for the system itself;
- aiosmtpd: the tests' SMTP server; in the bench process it spends about 0.5 ms of CPU per message on the
  same two cores, and caps the rate at roughly 700 e-mails/s here whatever the worker does.
Run: `make bench` or `.venv/bin/python bench/reminder_fanout.py [N] [--sink ...]`
(BENCH_DATABASE_URL and BENCH_BROKER_URL choose the database and Redis, see _worker.py).
Target: e-mails/s / no-op tasks/s >= 2.0 at batch 200 with the lean sink (one SMTP connection per task serving a
batch of recipients, the batch marked sent in one transaction after its session; exactly-once as
docs/architecture.md '## notifications' states it: every row sent once in the database, a repeat only after a
worker dies inside a batch and then under the same Message-ID).
Measured (2 cores shared with other sessions, #16): before, each row committed on its own and each message
composed by Django's EmailMessage: 654 e-mails/s at batch 200 against 436 no-op tasks/s (ratio 1.50; the issue's
run: 0.99); per-row commits kept but the message composed directly: ratio 1.94; the batch marked at once
after its session (four runs, load average 1 to 8): lean sink, batch 200, 1,229-2,489 e-mails/s, ratio 2.3-5.6
(4.1 in the quietest run); batch 50, ratio 1.2-4.1; aiosmtpd sink, batch 200, 1,013-1,269 e-mails/s, ratio
2.4-3.4. The no-op side swings most with the other sessions' load (173-939 tasks/s within one run). On a quiet
machine (load under 1, 2026-12-05): lean sink, batch 200, 4,186 e-mails/s against 1,039 no-op tasks/s, ratio 4.03
(batch 50: 2.08); aiosmtpd, batch 200, 2,218 e-mails/s, ratio 2.05; exactly once in every run.
"""

import argparse
import contextlib
import logging
import os
import socket
import sys
import time
from collections import Counter

import _worker
from _smtp_sink import HEADER, LeanSink
from _worker import BROKER_URL, Worker, bench_environment, drop_queue

# Before Django reads its settings: the bench process publishes to the same broker and queue as the worker.
UNIQUE = bench_environment()

from _setup import ROOT, raw_delete, setup_django  # noqa: E402

setup_django()

from aiosmtpd.controller import Controller  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from accounts.models import Agency, Delegation, User  # noqa: E402
from notifications.models import Notification, ReminderRule  # noqa: E402
from notifications.services import deadline_scan  # noqa: E402
from notifications.tasks import send_notifications  # noqa: E402
from tests.deadline_fixture.source import KIND  # noqa: E402
from workflow_site import celery_app  # noqa: E402
from workflow_site.models import TransitionLog  # noqa: E402
from workflow_site.roc_calendar.calendar import add_working_days, today  # noqa: E402

ITEMS = 10_000
OWNERS = 1_000
BATCH_SIZES = (50, 200)
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "4"))
TIMEOUT = 150  # seconds for one measured phase
logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO


class CountingHandler:
    """The minimal sink: accept everything, keep each message's X-RDEC-Notification value."""

    def __init__(self) -> None:
        self.ids: list[str | None] = []

    async def handle_DATA(self, server, session, envelope):
        match = HEADER.search(envelope.content)
        self.ids.append(match.group(1).decode() if match else None)  # list.append is atomic under the GIL
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_drained(client, *, timeout: float = TIMEOUT) -> None:
    _worker.wait_drained(client, UNIQUE, timeout=timeout)


def noop_rate(client, n: int) -> float:
    return _worker.noop_rate(client, UNIQUE, n, timeout=TIMEOUT)


def make_data(prefix: str) -> tuple[Agency, ReminderRule]:
    agency = Agency.objects.create(code=prefix, name="效能測試機關（提醒）", kind=Agency.Kind.BUREAU)
    User.objects.bulk_create(
        [User(username=f"{prefix}.owner{i}", email=f"owner{i}@{prefix}.example", agency=agency) for i in range(OWNERS)]
        + [User(username=f"{prefix}.substitute", is_active=False, agency=agency)]
    )
    owners = list(User.objects.filter(username__startswith=f"{prefix}.owner").order_by("pk"))
    # The item's own substitute is inactive: on its due day the delegation is in force, and nobody gets a copy.
    substitute = User.objects.get(username=f"{prefix}.substitute")
    due = add_working_days(today(), 3)
    Delegation.objects.bulk_create(
        (
            Delegation(user=owners[i % OWNERS], substitute=substitute, starts=due, ends=due, reason=prefix)
            for i in range(ITEMS)
        ),
        batch_size=5000,
    )
    rule = ReminderRule.objects.create(kind=KIND, name=f"{prefix} 提醒", channels=["email"], escalate_after=None)
    return agency, rule


def drop_notifications(rule: ReminderRule) -> None:
    ids = list(Notification.objects.filter(rule=rule).values_list("pk", flat=True))
    notification_type = ContentType.objects.get_for_model(Notification)
    for i in range(0, len(ids), 5000):
        raw_delete(TransitionLog.objects.filter(content_type=notification_type, object_id__in=ids[i : i + 5000]))
    raw_delete(Notification.objects.filter(rule=rule))


def email_rate(client, sink, rule: ReminderRule, batch_size: int) -> float:
    drop_notifications(rule)
    sink.ids.clear()
    with override_settings(NOTIFICATION_SEND_BATCH=batch_size):
        result = deadline_scan()
    if result.created != ITEMS or result.enqueued_count != ITEMS:
        print(f"  warning: scan created {result.created}, enqueued {result.enqueued_count} (other data in `rdec`?)")
    mine = Notification.objects.filter(rule=rule, channel="email")
    start = time.perf_counter()
    with celery_app.producer_or_acquire() as producer:
        for batch in result.enqueued:
            send_notifications.apply_async(args=[batch], queue=UNIQUE, producer=producer)
    deadline = time.monotonic() + TIMEOUT
    while not (len(sink.ids) >= ITEMS and mine.filter(state=Notification.State.SENT).count() >= ITEMS):
        if time.monotonic() > deadline:
            states = dict(Counter(mine.values_list("state", flat=True)))
            errors = Counter(mine.exclude(last_error="").values_list("last_error", flat=True)).most_common(3)
            print(f"  not all sent after {TIMEOUT} s: sink {len(sink.ids)}, rows by state {states}, errors {errors}")
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    with contextlib.suppress(RuntimeError):
        wait_drained(client, timeout=10)
    time.sleep(0.5)  # room for a wrong second copy to arrive
    ids = sink.ids[:]
    expected = {str(pk) for pk in mine.values_list("pk", flat=True)}
    sent = mine.filter(state=Notification.State.SENT).count()
    once = len(ids) == ITEMS and len(set(ids)) == ITEMS and set(ids) == expected
    if not once:
        sent_ids = {str(pk) for pk in mine.filter(state=Notification.State.SENT).values_list("pk", flat=True)}
        missing, foreign = len(sent_ids - set(ids)), len(set(ids) - expected)
        print(f"  sent in the DB but never reached the sink: {missing}; sink ids not ours: {foreign}")
    print(
        f"batch {batch_size:>3}: {len(result.enqueued):>4} tasks, {ITEMS / elapsed:7.0f} e-mails/s ({elapsed:.1f} s); "
        f"sink {len(ids)} messages, {len(set(ids))} distinct ids, DB sent {sent}: "
        f"{'exactly once' if once and sent == ITEMS else 'MISMATCH'}"
    )
    return ITEMS / elapsed


class AiosmtpdSink:
    """The tests' SMTP server (aiosmtpd) as a sink, with the same `port`, `ids`, `start()`, `stop()` as LeanSink."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._handler = CountingHandler()
        self.ids = self._handler.ids
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


SINKS = {
    "lean": (LeanSink, "a lean asyncio SMTP sink (bench/_smtp_sink.py)"),
    "aiosmtpd": (AiosmtpdSink, "aiosmtpd, the tests' SMTP server (about 0.5 ms of CPU per message on these cores)"),
}


def run_with(sink_name: str, n: int, prefix: str) -> None:
    sink_class, description = SINKS[sink_name]
    sink = sink_class(free_port())
    sink.start()
    queue = UNIQUE
    worker = Worker(
        queue=queue,
        log_path=ROOT / "var" / "bench-logs" / f"{queue}-{sink_name}.log",
        extra_env={
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(sink.port),
            "EMAIL_TIMEOUT": "10",
        },
        # celery.ping is not a built-in of Celery 5: it lives in the testing helpers.
        include="celery.contrib.testing.tasks",
        concurrency=CONCURRENCY,
    )
    agency = rule = None
    try:
        worker.start()
        with celery_app.connection_for_write() as connection:
            client = connection.default_channel.client
            # Warm-up (pool children started, connections open) that also sizes N: 5,000 if 10,000 would take > 60 s.
            warm = noop_rate(client, 1000)
            if n > 5000 and n / warm > 60:
                print(f"warm-up ran {warm:.0f} tasks/s: 10,000 would take > 60 s, so N = 5000")
                n = 5000
            agency, rule = make_data(f"{prefix}{sink_name[0]}")
            print(f"\nsink: {description}, on 127.0.0.1:{sink.port}")
            print(f"worker: prefork, concurrency {CONCURRENCY}, Redis {BROKER_URL}")
            print(f"e-mail: {ITEMS} due reminders to {OWNERS} owners, one SMTP connection per task")
            # No-op rate before and after the e-mails, so drift in the machine's load hits both sides alike.
            noop_before = noop_rate(client, n // 2)
            rates = {size: email_rate(client, sink, rule, size) for size in BATCH_SIZES}
            noop_after = noop_rate(client, n - n // 2)
            noop = 2 / (1 / noop_before + 1 / noop_after)
            print(
                f"no-op:  N = {n} celery.ping tasks ({n // 2} before, {n - n // 2} after the e-mails): "
                f"{noop:.0f} tasks/s ({noop_before:.0f} before, {noop_after:.0f} after)"
            )
            for size, rate in rates.items():
                print(
                    f"ratio e-mails/s / no-op tasks/s, batch {size:>3}, {sink_name} sink: {rate / noop:.2f} "
                    "(target >= 2.0 at batch 200)"
                )
    finally:
        worker.stop()
        sink.stop()
        drop_queue(queue)
        if rule is not None:
            drop_notifications(rule)
            raw_delete(ReminderRule.objects.filter(pk=rule.pk))
        if agency is not None:
            users = list(User.objects.filter(agency=agency).values_list("pk", flat=True))
            raw_delete(Delegation.objects.filter(user_id__in=users))
            raw_delete(User.objects.filter(pk__in=users))
            raw_delete(Agency.objects.filter(pk=agency.pk))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=10_000, help="no-op tasks (default 10,000)")
    parser.add_argument("--sink", choices=[*SINKS, "both"], default="both")
    args = parser.parse_args(argv)
    (ROOT / "var" / "bench-logs").mkdir(parents=True, exist_ok=True)
    prefix = UNIQUE.replace("rdec-bench-", "bf")
    for name in SINKS if args.sink == "both" else [args.sink]:
        run_with(name, args.n, prefix)


if __name__ == "__main__":
    main(sys.argv[1:])
