"""National-scale run: 22 cities' worth of data in one database, and the four heavy jobs over it, each printed with
its ratio to the bare SQL (or no-op) anchor measured in the same run and its peak memory.

Data (scale 1.0; `--scale` multiplies every count): 22 cities x 40 agencies, 50,000 controlled plans (year 996,
no real year), 600,000 monthly reports (12 per plan: accepted / submitted / returned / pending, a third of the
plans lagging from some month on), 10,000 officials and 1,000,000 open reminder items (accounts.Delegation seen
through the test deadline source, tests/deadline_fixture), of which 100,000 are due in 3 working days; one
e-mail-only reminder rule. Everything is written set-based (INSERT ... SELECT over generate_series), after the
previous run's rows are deleted (raw deletes of this bench's own rows only); the rows are deleted again at the end.
Measured:
- monthly analysis: `selectors.monthly_analysis(year, 12)` vs a bare GROUP BY agency of the month's reports
  (as bench/monthly_analysis.py), best of 3, after `monthly_tally_rebuild` (timed);
- deadline scan: `deadline_scan()` once (it creates the 100,000 reminders sent below) vs a bare anti-join
  INSERT ... SELECT of the same rows (rolled back), then a second scan that must create nothing;
- rollup: `appraisal_rollup_start()` (tasks of whole agencies, >= APPRAISAL_ROLLUP_BATCH_PLANS plans each: 20
  tasks at the default 2,500) through two workers vs the set-based
  aggregate `formula.plan_figures()` over all plans in this process (as bench/appraisal_rollup.py);
- reminders: the 100,000 e-mails (batches of 200) through two workers (bench/_worker.py, prefork, concurrency 2
  each, one queue) to the lean SMTP sink (bench/_smtp_sink.py) vs the rate of no-op `celery.ping` tasks (a fifth
  as many as e-mails, half before, half after) on the same workers; exactly-once checked at the sink (100,000
  distinct notification ids).
Peak memory: this process's VmHWM per phase (reset through /proc/self/clear_refs) and ru_maxrss; each worker's
main process and pool children (VmHWM from /proc, read before they stop).
Run: `BENCH_DATABASE_URL=... BENCH_BROKER_URL=... .venv/bin/python bench/national.py [--scale 0.02]`.

Measured at scale 1.0 on 2 cores, load under 1, 2026-12-05, three runs (range):
- loading: 600,000 reports 5.8-6.3 s, 1,000,000 items 4.0-4.5 s, the commit's deferred foreign-key checks 10-11 s:
  21-24 s in all; the year's tally rebuilt in 0.5-0.6 s.
- monthly analysis: 64-80 ms, 3 queries, vs the bare GROUP BY 13 ms: ratio 4.9-6.2 (its 14,000-plan lagging list
  is most of it); bench process 138 MB.
- deadline scan: 9.3-10.0 s, 64 queries, 105,000 rows (100,000 ours, 5,000 from the site's own acceptance rule
  over the year's reports) vs the bare anti-join + INSERT 1.0-1.2 s: ratio 8.3-10.0; the second scan 3.1-3.3 s,
  60 queries, 0 rows; bench process 270 MB.
- rollup (the two runs after its last change, and two more of the same phase alone): 1.6 s for 50,000 plans in
  20 tasks vs the set-based aggregate 0.55-0.86 s: ratio 1.9-2.8 (2.2-2.6 s,
  ratio 3.7-4.2, while each batch still scanned all the reports; 17-40 s, ratio 19.5-21.8, with 880 tasks of one
  agency each, at load 2.5-8); bench 164-166 MB, each worker's main process 116 MB, each pool child 105 MB.
- reminders: 2,579-2,668 e-mails/s (100,000 in 38-39 s), exactly once at the sink (100,000 distinct ids) every
  run; no-op 1,165-1,239 tasks/s: ratio 2.1-2.2; workers 117 MB main, 107 MB per pool child; bench 168-171 MB.
A whole run: 108-115 s.
"""

import argparse
import contextlib
import datetime
import json
import os
import resource
import signal
import socket
import sys
import time
from pathlib import Path

import _worker
from _smtp_sink import LeanSink
from _worker import BROKER_URL, DATABASE_URL, Worker, bench_environment, drop_queue

# Before Django reads its settings: the bench process publishes to the same broker and queue as the workers.
UNIQUE = bench_environment()

from _setup import ROOT, raw_delete, setup_django  # noqa: E402

setup_django()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count, Q  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Agency, Delegation, User  # noqa: E402
from accounts.roles import Role  # noqa: E402
from notifications.models import Notification, ReminderRule  # noqa: E402
from notifications.services import deadline_scan  # noqa: E402
from notifications.tasks import send_notifications  # noqa: E402
from plan_control.appraisal import formula  # noqa: E402
from plan_control.appraisal.services import appraisal_rollup_start, appraisal_round_create  # noqa: E402
from plan_control.models import (  # noqa: E402
    Appraisal,
    AppraisalRound,
    ControlledPlan,
    ControlYear,
    MonthlyTally,
    ProgressReport,
)
from plan_control.monitoring import selectors  # noqa: E402
from plan_control.monitoring.selectors import ACTIVE_PLAN_STATES  # noqa: E402
from plan_control.monitoring.tally import monthly_tally_rebuild  # noqa: E402
from tests.deadline_fixture.source import KIND  # noqa: E402
from workflow_site import celery_app  # noqa: E402
from workflow_site.models import TransitionLog  # noqa: E402
from workflow_site.roc_calendar.calendar import add_working_days, today, working_day_on_or_after  # noqa: E402

CITIES = [
    "臺北市", "新北市", "桃園市", "臺中市", "臺南市", "高雄市", "基隆市", "新竹市", "嘉義市", "新竹縣", "苗栗縣",
    "彰化縣", "南投縣", "雲林縣", "嘉義縣", "屏東縣", "宜蘭縣", "花蓮縣", "臺東縣", "澎湖縣", "金門縣", "連江縣",
]  # fmt: skip
AGENCIES_PER_CITY = 40
PLANS = 50_000
ITEMS = 1_000_000
OWNERS = 10_000
YEAR = 996  # a year nothing else uses
MONTH = 12
PREFIX = "NAT"  # agency codes, user names, the delegations' reason
OFFICER = "nat.officer"
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "2"))
TIMEOUT = 900
# The scan runs as of 09:00 on a working day, as in bench/deadline_scan.py.
DAY = working_day_on_or_after(today())
NOW = timezone.make_aware(datetime.datetime.combine(DAY, datetime.time(9)))
DUE = add_working_days(DAY, 3)  # offset -3 of the rule fires on DAY
COUNTED = (ProgressReport.Status.SUBMITTED, ProgressReport.Status.ACCEPTED)


def table(model) -> str:
    return model._meta.db_table


def sql(statement: str, params=None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


# -- memory ---------------------------------------------------------------------------------------------------


def reset_peak(pid: int | str = "self") -> None:
    """Linux: '5' resets the process's peak resident set (VmHWM) to its current size."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def peak_mb(pid: int | str = "self") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


class NodeWorker(Worker):
    """A bench worker with a node name of its own (two share the queue) whose peak memory the phases read."""

    def pids(self) -> list[int]:
        return [self.process.pid, *children(self.process.pid)] if self.process else []

    def reset_peak(self) -> None:
        for pid in self.pids():
            reset_peak(pid)

    def memory(self) -> str:
        main, *pool = self.pids()
        peaks = [peak_mb(pid) for pid in pool]
        return f"{self.node}: main {peak_mb(main):.0f} MB, {len(pool)} pool children max {max(peaks, default=0):.0f} MB"


class Phase:
    """Resets this process's (and the workers') peak memory on entry; `memory()` reports it."""

    def __init__(self, workers=()) -> None:
        self.workers = workers

    def __enter__(self):
        reset_peak()
        for worker in self.workers:
            worker.reset_peak()
        return self

    def __exit__(self, *exc) -> None:
        pass

    def memory(self) -> str:
        parts = [f"bench process {peak_mb():.0f} MB"] + [w.memory() for w in self.workers]
        return "peak memory: " + "; ".join(parts)


# -- data -----------------------------------------------------------------------------------------------------


def cleanup() -> None:
    start = time.perf_counter()
    rules = ReminderRule.objects.filter(name__startswith=PREFIX)
    users = User.objects.filter(username__startswith=f"{PREFIX.lower()}.")
    # Ours, and what the real rules (e.g. plan_control.acceptance over the year's reports) sent our officials.
    notifications = Notification.objects.filter(Q(rule__in=rules) | Q(recipient__in=users))
    raw_delete(
        TransitionLog.objects.filter(
            content_type=ContentType.objects.get_for_model(Notification),
            object_id__in=notifications.values("pk"),
        )
    )
    raw_delete(notifications)
    raw_delete(rules)
    for round_ in AppraisalRound.objects.filter(year=YEAR):
        raw_delete(Appraisal.objects.filter(round=round_))
        raw_delete(
            TransitionLog.objects.filter(
                content_type=ContentType.objects.get_for_model(AppraisalRound), object_id=round_.pk
            )
        )
        raw_delete(AppraisalRound.objects.filter(pk=round_.pk))
    raw_delete(MonthlyTally.objects.filter(year=YEAR))
    raw_delete(ProgressReport.objects.filter(year=YEAR))
    raw_delete(ControlledPlan.objects.filter(year=YEAR))
    raw_delete(ControlYear.objects.filter(year=YEAR))
    raw_delete(Delegation.objects.filter(reason=PREFIX))
    raw_delete(User.groups.through.objects.filter(user__in=users))
    raw_delete(users)
    raw_delete(Agency.objects.filter(code__startswith=f"{PREFIX}-"))
    elapsed = time.perf_counter() - start
    if elapsed > 1:
        print(f"  (earlier rows deleted in {elapsed:.1f} s)")


class Sizes:
    def __init__(self, scale: float) -> None:
        self.per_city = max(1, round(AGENCIES_PER_CITY * scale))
        self.agencies = self.per_city * len(CITIES)
        self.plans = max(self.agencies, round(PLANS * scale))
        self.items = max(100, round(ITEMS * scale) // 10 * 10)
        self.due = self.items // 10
        self.owners = max(self.agencies, round(OWNERS * scale))


def build(sizes: Sizes) -> None:
    """Set-based: every table filled by one INSERT ... SELECT; the year's tally rebuilt afterwards."""
    timings = []

    def step(name: str, statement: str, params=None) -> None:
        start = time.perf_counter()
        rows = sql(statement, params)
        timings.append(f"{name} {rows:,} in {time.perf_counter() - start:.1f} s")

    now = timezone.now()
    ControlYear.objects.create(year=YEAR)
    cities = [(c, name) for c, name in enumerate(CITIES, 1)]
    step(
        "agencies",
        f"""INSERT INTO {table(Agency)} (code, name, name_en, kind, active)
            SELECT format('{PREFIX}-%%s-%%s', lpad(c::text, 2, '0'), lpad(a::text, 3, '0')),
                   (%s::text[])[c] || format('效能測試機關 %%s', a), '', %s, true
            FROM generate_series(1, %s) c, generate_series(1, %s) a""",
        [[name for _, name in cities], Agency.Kind.BUREAU, len(CITIES), sizes.per_city],
    )
    sql("CREATE TEMP TABLE nat_agency ON COMMIT DROP AS SELECT row_number() OVER (ORDER BY id) - 1 AS k, id "
        f"FROM {table(Agency)} WHERE code LIKE '{PREFIX}-%%'")  # fmt: skip
    step(
        "plans",
        f"""INSERT INTO {table(ControlledPlan)} (year, code, title, budget, planned_progress, status, created_at,
                                                agency_id)
            SELECT %s, format('N%%s', lpad(i::text, 6, '0')), format('效能測試計畫 %%s', i),
                   3000000 + (i * 7919) %% 5000000000, %s::jsonb,
                   CASE WHEN i %% 20 = 0 THEN 'completed' ELSE 'in_execution' END, %s, a.id
            FROM generate_series(0, %s - 1) i JOIN nat_agency a ON a.k = i %% %s""",
        [YEAR, json.dumps([round(m * 100 / 12, 2) for m in range(1, 13)]), now, sizes.plans, sizes.agencies],
    )
    # Months 1-11 mostly accepted; month 12 a realistic mix. A third of the plans lag from some month on.
    step(
        "reports",
        f"""INSERT INTO {table(ProgressReport)} (plan_id, year, month, agency_id, due_date, planned_percent,
                actual_percent, budget_executed, narrative, lag_reason, remedy, lag_points, lagging,
                consecutive_lagging, return_reason, status, submitted_at, opened_at)
            SELECT plan_id, %(year)s, m, agency_id, due, planned,
                   CASE WHEN reported THEN actual END,
                   CASE WHEN reported THEN (budget * actual / 100)::bigint END,
                   CASE WHEN reported THEN '依進度執行' ELSE '' END,
                   CASE WHEN lagging THEN '用地取得延宕' ELSE '' END,
                   CASE WHEN lagging THEN '加速協調' ELSE '' END,
                   CASE WHEN reported THEN planned - actual END,
                   lagging, CASE WHEN lagging THEN m - lag_from + 1 ELSE 0 END,
                   CASE WHEN status = 'returned' THEN '數字不符' ELSE '' END, status,
                   CASE WHEN reported THEN due - CASE WHEN roll %% 7 = 0 THEN -3 ELSE 1 END * interval '1 day' END,
                   %(now)s
            FROM (
                SELECT s.*, s.status <> 'pending' AS reported,
                       s.status <> 'pending' AND s.m >= s.lag_from AS lagging,
                       greatest(0, s.planned - CASE WHEN s.m >= s.lag_from THEN 5 + s.roll %% 25 ELSE s.roll %% 4 END)
                           AS actual
                FROM (
                    SELECT p.id AS plan_id, p.agency_id, p.budget, m,
                           make_date(2026 + (m / 12), m %% 12 + 1, 10) AS due,
                           round(m * 100.0 / 12, 2) AS planned,
                           CASE WHEN p.id %% 3 = 0 THEN 1 + p.id %% 12 ELSE 13 END AS lag_from,
                           (p.id * 31 + m * 17) %% 100 AS roll,
                           CASE WHEN m < 12 THEN
                               CASE WHEN (p.id * 31 + m * 17) %% 100 < 90 THEN 'accepted'
                                    WHEN (p.id * 31 + m * 17) %% 100 < 95 THEN 'submitted'
                                    WHEN (p.id * 31 + m * 17) %% 100 < 97 THEN 'returned' ELSE 'pending' END
                           ELSE
                               CASE WHEN (p.id * 31 + m * 17) %% 100 < 60 THEN 'accepted'
                                    WHEN (p.id * 31 + m * 17) %% 100 < 85 THEN 'submitted'
                                    WHEN (p.id * 31 + m * 17) %% 100 < 90 THEN 'returned' ELSE 'pending' END
                           END AS status
                    FROM {table(ControlledPlan)} p, generate_series(1, 12) m
                    WHERE p.year = %(year)s
                ) s
            ) r""",
        {"year": YEAR, "now": now},
    )
    step(
        "officials",
        f"""INSERT INTO {table(User)} (password, is_superuser, username, first_name, last_name, email, is_staff,
                                      is_active, date_joined, display_name, agency_id)
            SELECT '!', false, format('{PREFIX.lower()}.u%%s', i), '', '', format('u%%s@nat.example', i), false,
                   true, %s, format('承辦人 %%s', i), a.id
            FROM generate_series(0, %s - 1) i JOIN nat_agency a ON a.k = i %% %s""",
        [now, sizes.owners, sizes.agencies],
    )
    substitute = User.objects.create(username=f"{PREFIX.lower()}.substitute", is_active=False)
    officer = User.objects.create(username=OFFICER)
    officer.groups.set([Group.objects.get_or_create(name=Role.RDEC_OFFICER)[0]])
    sql(
        "CREATE TEMP TABLE nat_owner ON COMMIT DROP AS SELECT row_number() OVER (ORDER BY id) - 1 AS k, id "
        f"FROM {table(User)} WHERE username LIKE '{PREFIX.lower()}.u%%'"
    )
    # One item in ten is due in 3 working days (the reminders to send); the others 4 to 16 months ahead.
    # The item's own substitute is inactive: nobody gets a copy.
    step(
        "open items",
        f"""INSERT INTO {table(Delegation)} (user_id, substitute_id, starts, ends, reason, status, created_at)
            SELECT o.id, %s, d, d, %s, 'in_force', %s
            FROM (
                SELECT i, CASE WHEN i %% 10 = 0 THEN %s::date ELSE %s::date + 120 + i %% 360 END AS d
                FROM generate_series(0, %s - 1) i
            ) g JOIN nat_owner o ON o.k = g.i %% %s""",
        [substitute.pk, PREFIX, now, DUE, DAY, sizes.items, sizes.owners],
    )
    print("  " + "; ".join(timings))


def vacuum() -> None:
    for model in (Agency, User, Delegation, ControlledPlan, ProgressReport, MonthlyTally, Notification):
        sql(f"VACUUM ANALYZE {table(model)}")


def best_of(fn, times: int = 3):
    best, queries, result = float("inf"), 0, None
    for _ in range(times):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            result = fn()
            elapsed = time.perf_counter() - start
        best, queries = min(best, elapsed), len(ctx.captured_queries)
    return best, queries, result


# -- the four jobs --------------------------------------------------------------------------------------------


def monthly(sizes: Sizes) -> None:
    print(f"\nmonthly analysis ({sizes.plans:,} plans, month {MONTH})")
    with Phase() as phase:
        start = time.perf_counter()
        rows = monthly_tally_rebuild(year=YEAR)
        print(f"  tally rebuild for the year (after COPY-style loading): {time.perf_counter() - start:.1f} s, {rows:,}")
        sql(f"VACUUM ANALYZE {table(MonthlyTally)}")

        def bare():
            return list(
                ProgressReport.objects.filter(year=YEAR, month=MONTH)
                .values("agency_id")
                .annotate(
                    n_total=Count("pk"),
                    n_lagging=Count("pk", filter=Q(status__in=COUNTED, lagging=True)),
                    n_on_track=Count("pk", filter=Q(status__in=COUNTED, lagging=False)),
                )
                .order_by("agency_id")
            )

        analysis_s, analysis_q, analysis = best_of(lambda: selectors.monthly_analysis(year=YEAR, month=MONTH))
        bare_s, _, grouped = best_of(bare)
        assert analysis["total"] == sum(r["n_total"] for r in grouped) == sizes.plans
        assert analysis["lagging"]["count"] == sum(r["n_lagging"] for r in grouped)
        print(
            f"  monthly_analysis {analysis_s * 1000:.0f} ms ({analysis_q} queries; {analysis['total']:,} plans, "
            f"{analysis['lagging']['count']:,} lagging listed, {len(analysis['by_agency'])} agencies); "
            f"bare GROUP BY {bare_s * 1000:.0f} ms; ratio {analysis_s / bare_s:.2f}"
        )
        print(f"  {phase.memory()}")


def bare_scan(rule: ReminderRule, oldest: datetime.date, newest: datetime.date) -> tuple[float, int]:
    """The floor of a scan: the due items anti-joined with the reminders that exist, then one INSERT ... SELECT of
    the same e-mail rows; rolled back (its rows would make the real scan create nothing). In two statements: an
    INSERT reading the table it writes may be planned as a nested loop over its own growing heap."""
    content_type = ContentType.objects.get_for_model(Delegation)
    params = {"ct": content_type.pk, "kind": KIND, "rule": rule.pk, "oldest": oldest, "newest": newest}
    start = time.perf_counter()
    try:
        with transaction.atomic():
            sql(
                f"""CREATE TEMP TABLE nat_due ON COMMIT DROP AS
                    SELECT d.id, d.user_id, d.ends, d.reason, u.email, u.display_name
                    FROM {table(Delegation)} d JOIN {table(User)} u ON u.id = d.user_id
                    WHERE d.status = 'in_force' AND d.ends BETWEEN %(oldest)s AND %(newest)s
                      AND u.is_active AND u.email <> ''
                      AND NOT EXISTS (
                          SELECT 1 FROM {table(Notification)} n
                          WHERE n.content_type_id = %(ct)s AND n.object_id = d.id AND n.rule_id = %(rule)s
                            AND n.recipient_id = d.user_id AND n.purpose = 'reminder' AND n."offset" = -3
                            AND n.due_date = d.ends AND n.channel = 'email')""",
                params,
            )
            rows = sql(
                f"""INSERT INTO {table(Notification)} (recipient_id, content_type_id, object_id, kind, item_title,
                        url, rule_id, purpose, "offset", due_date, channel, digest, state, to_address, subject, body,
                        attempts, last_error, claimed_by, created_at)
                    SELECT d.user_id, %(ct)s, d.id, %(kind)s, '職務代理結束（' || d.reason || '）',
                           '/admin/accounts/delegation/' || d.id || '/change/', %(rule)s, 'reminder', -3, d.ends,
                           'email', false, 'pending', d.email, '[研考會] 期限提醒：職務代理結束（' || d.reason || '）',
                           d.display_name || ' 您好：' || d.ends, 0, '', '', now()
                    FROM nat_due d""",
                params,
            )
            elapsed = time.perf_counter() - start
            raise _Rollback
    except _Rollback:
        pass
    return elapsed, rows


class _Rollback(Exception):
    pass


def scan(sizes: Sizes, rule: ReminderRule):
    print(
        f"\ndeadline scan ({sizes.items:,} open items, {sizes.due:,} due in 3 working days, as of {NOW:%Y-%m-%d %H:%M})"
    )
    with Phase() as phase:
        bare_s, bare_rows = bare_scan(rule, DAY - datetime.timedelta(days=60), DUE)
        sql(f"VACUUM ANALYZE {table(Notification)}")
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            result = deadline_scan(now=NOW)
            scan_s = time.perf_counter() - start
        with CaptureQueriesContext(connection) as ctx2:
            start = time.perf_counter()
            again = deadline_scan(now=NOW)
            rescan_s = time.perf_counter() - start
        print(
            f"  deadline_scan {scan_s:.2f} s ({len(ctx.captured_queries)} queries, {result.created:,} rows, "
            f"{Notification.objects.filter(rule=rule).count():,} of them our rule's, the rest the site's own rules; "
            f"{len(result.enqueued)} batches); bare anti-join INSERT ... SELECT {bare_s:.2f} s ({bare_rows:,} rows); "
            f"ratio {scan_s / bare_s:.2f}"
        )
        print(
            f"  second scan {rescan_s:.2f} s ({len(ctx2.captured_queries)} queries), creates {again.created} rows "
            f"(target 0)"
        )
        print(f"  {phase.memory()}")
    return result


def wait_drained(client) -> None:
    _worker.wait_drained(client, UNIQUE, timeout=TIMEOUT)


def noop_rate(client, n: int) -> float:
    return _worker.noop_rate(client, UNIQUE, n, timeout=TIMEOUT)


def rollup(sizes: Sizes, workers) -> None:
    batch = settings.APPRAISAL_ROLLUP_BATCH_PLANS
    print(f"\nrollup ({sizes.plans:,} plans, {sizes.agencies} agencies in tasks of >= {batch:,} plans, two workers)")
    officer = User.objects.get(username=OFFICER)
    round_ = appraisal_round_create(actor=officer, year=YEAR)
    status = AppraisalRound.objects.filter(pk=round_.pk).values_list("status", flat=True)
    with Phase(workers) as phase:
        start = time.perf_counter()
        with transaction.atomic():
            appraisal_rollup_start(round_id=round_.pk, actor=officer)
        while status.get() != AppraisalRound.Status.SELF_ASSESSMENT:
            if time.perf_counter() - start > TIMEOUT:
                raise RuntimeError("round not in self_assessment")
            time.sleep(0.05)
        rollup_s = time.perf_counter() - start
        start = time.perf_counter()
        figures = formula.plan_figures(ControlledPlan.objects.filter(year=YEAR, status__in=ACTIVE_PLAN_STATES))
        aggregate_s = time.perf_counter() - start
        rows = Appraisal.objects.filter(round=round_).count()
        verdict = "one per plan" if rows == len(figures) else "MISMATCH"
        print(
            f"  rollup {rollup_s:.1f} s ({rows:,} appraisals, {verdict});"
            f" set-based aggregate over all plans {aggregate_s:.2f} s; ratio {rollup_s / aggregate_s:.1f}"
        )
        print(f"  {phase.memory()}")


def send(sizes: Sizes, result, rule: ReminderRule, sink: LeanSink, workers, client) -> None:
    emails = result.enqueued_count
    print(
        f"\nreminders ({emails:,} e-mails in {len(result.enqueued)} batches, two workers x concurrency {CONCURRENCY})"
    )
    with Phase(workers) as phase:
        # The anchor is a rate: a fifth as many no-op tasks as e-mails measures it well and saves minutes.
        noops = max(1000, emails // 5)
        half = noops // 2
        noop_before = noop_rate(client, half)
        mine = Notification.objects.filter(rule=rule, channel="email")
        start = time.perf_counter()
        with celery_app.producer_or_acquire() as producer:
            for batch in result.enqueued:
                send_notifications.apply_async(args=[batch], queue=UNIQUE, producer=producer)
        deadline = time.monotonic() + TIMEOUT
        while not (len(sink.ids) >= emails and mine.filter(state=Notification.State.SENT).count() >= emails):
            if time.monotonic() > deadline:
                print(f"  not all sent after {TIMEOUT} s: sink {len(sink.ids):,}")
                break
            time.sleep(0.1)
        send_s = time.perf_counter() - start
        wait_drained(client)
        noop_after = noop_rate(client, noops - half)
        time.sleep(0.5)  # room for a wrong second copy to arrive
        ids = sink.ids[:]
        expected = {str(pk) for pk in mine.values_list("pk", flat=True)}
        once = len(ids) == emails == len(set(ids)) and set(ids) == expected
        noop = 2 / (1 / noop_before + 1 / noop_after)
        rate = emails / send_s
        print(
            f"  sent {rate:,.0f} e-mails/s ({send_s:.1f} s); sink {len(ids):,} messages, {len(set(ids)):,} distinct "
            f"ids: {'exactly once' if once else 'MISMATCH'}"
        )
        print(
            f"  no-op {noop:,.0f} tasks/s ({noops:,} tasks: {noop_before:,.0f}/s before, {noop_after:,.0f}/s after); "
            f"ratio e-mails/s / no-op tasks/s {rate / noop:.2f}"
        )
        print(f"  {phase.memory()}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every count (default 1.0)")
    args = parser.parse_args(argv)
    sizes = Sizes(args.scale)
    started = time.perf_counter()
    print(
        f"national run, scale {args.scale}: {len(CITIES)} cities x {sizes.per_city} agencies, {sizes.plans:,} plans, "
        f"{sizes.plans * 12:,} reports, {sizes.owners:,} officials, {sizes.items:,} open items; "
        f"database {DATABASE_URL.rsplit('/', 1)[-1]}, broker {BROKER_URL}"
    )
    cleanup()
    sink = LeanSink(free_port())
    workers = [
        NodeWorker(
            node=f"{UNIQUE}-{n}",
            queue=UNIQUE,
            log_path=ROOT / "var" / "bench-logs" / f"{UNIQUE}-{n}.log",
            extra_env={
                "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": "127.0.0.1",
                "EMAIL_PORT": str(sink.port),
                "EMAIL_TIMEOUT": "10",
            },
            include="celery.contrib.testing.tasks",
            concurrency=CONCURRENCY,
        )
        for n in (1, 2)
    ]
    sink.start()
    try:
        with Phase() as phase:
            start = time.perf_counter()
            with transaction.atomic():
                build(sizes)
                commit = time.perf_counter()
            print(f"  commit (the deferred foreign-key checks): {time.perf_counter() - commit:.1f} s")
            rule = ReminderRule.objects.create(
                kind=KIND, name=f"{PREFIX} 提醒", channels=["email"], escalate_after=None
            )
            load_s = time.perf_counter() - start
            start = time.perf_counter()
            vacuum()
            print(
                f"  loaded in {load_s:.1f} s (+ VACUUM ANALYZE {time.perf_counter() - start:.1f} s); {phase.memory()}"
            )
        monthly(sizes)
        result = scan(sizes, rule)
        for worker in workers:
            worker.start()
        with celery_app.connection_for_write() as conn:
            client = conn.default_channel.client
            noop_rate(client, 200)  # warm-up: pool children started, connections open
            rollup(sizes, workers)
            send(sizes, result, rule, sink, workers, client)
    finally:
        for worker in workers:
            worker.stop()
        sink.stop()
        drop_queue(UNIQUE)
        cleanup()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"\nbench process ru_maxrss {usage.ru_maxrss / 1024:.0f} MB; whole run {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    main(sys.argv[1:])
