"""Transitions per second through the service layer versus the raw ORM doing the same writes.

Service path: `delegation_revoke` (selector load, state check, permission through django-rules,
ConcurrentTransitionMixin-guarded save, TransitionLog row, on_commit hook, and since #12 a notice to each of the two
people) called as a request calls it: ATOMIC_REQUESTS is off, so the service's own atomic block is the transaction.
Raw path: `select_for_update` + `save(update_fields=...)` + log-row `create` + the two in-app notice rows'
`bulk_create` in one transaction (the bench's users have no e-mail address, so neither path writes an e-mail row).
Run: `make bench` or `.venv/bin/python bench/transitions.py [N]`. Target ratio >= 0.7 (#2).
Measured (2 cores, load under 1, 2026-12-05): 0.35 before (185 vs 523 /s: the raw path had written no notices
since #12, the service wrote its two notices with two reads and two INSERTs, and ran in a savepoint the bench
added); after (the raw path writes the notices too; the service writes them as one read and one INSERT through
`workflow_site.notices.send_each`, in its own transaction): 0.86-0.94 (203-230 vs 234-244 /s). Most of the raw
path's new cost is the ORM building and inserting two Notification rows (about 1.1 ms), not PostgreSQL (0.1 ms).
"""

import datetime
import sys
import time

from _setup import setup_django

setup_django()

from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts import services  # noqa: E402
from accounts.models import Agency, Delegation, User  # noqa: E402
from notifications.models import NOTICE_KIND, Notification  # noqa: E402
from workflow_site.models import TransitionLog  # noqa: E402


def make_delegations(n: int, user: User, substitute: User) -> list[int]:
    day = datetime.date(2026, 1, 1)
    Delegation.objects.bulk_create(
        Delegation(user=user, substitute=substitute, starts=day, ends=day, reason="bench") for _ in range(n)
    )
    fresh = Delegation.objects.filter(user=user, reason="bench", status=Delegation.Status.IN_FORCE)
    return list(fresh.order_by("pk").values_list("pk", flat=True))


def run_service(ids: list[int], actor: User) -> float:
    start = time.perf_counter()
    for pk in ids:
        services.delegation_revoke(delegation_id=pk, actor=actor, reason="bench")
    return time.perf_counter() - start


def run_raw(ids: list[int], actor: User, substitute: User) -> float:
    content_type = ContentType.objects.get_for_model(Delegation)
    start = time.perf_counter()
    for pk in ids:
        with transaction.atomic(durable=True):
            obj = Delegation.objects.select_for_update().get(pk=pk)
            obj.__dict__["status"] = Delegation.Status.REVOKED  # the raw path bypasses the FSM on purpose
            obj.save(update_fields=["status"])
            TransitionLog.objects.create(
                content_type=content_type,
                object_id=pk,
                transition="revoke",
                source="in_force",
                target="revoked",
                actor=actor,
                reason="bench",
            )
            now = timezone.now()
            Notification.objects.bulk_create(
                Notification(
                    recipient=person,
                    content_type=content_type,
                    object_id=pk,
                    kind=NOTICE_KIND,
                    item_title=str(obj)[:300],
                    url="/",
                    purpose=Notification.Purpose.NOTICE,
                    offset=0,
                    due_date=now.date(),
                    channel="in_app",
                    state=Notification.State.SENT,
                    sent_at=now,
                    subject="撤銷",
                    body=f"{person} 您好：撤銷",
                )
                for person in (substitute, actor)
            )
    return time.perf_counter() - start


def main(n: int) -> None:
    agency, _ = Agency.objects.get_or_create(code="BENCH", defaults={"name": "效能測試機關", "kind": "bureau"})
    actor, _ = User.objects.get_or_create(username="bench.actor", defaults={"agency": agency})
    substitute, _ = User.objects.get_or_create(username="bench.substitute", defaults={"agency": agency})
    try:
        warm = make_delegations(50, actor, substitute)
        run_service(warm[:25], actor)
        run_raw(warm[25:], actor, substitute)
        # Alternate the paths so drift in the machine's load hits both alike.
        service_s = raw_s = 0.0
        for _ in range(4):
            batch = make_delegations(n // 4, actor, substitute)
            half = len(batch) // 2
            service_s += run_service(batch[:half], actor)
            raw_s += run_raw(batch[half:], actor, substitute)
        count = (n // 4) * 4 // 2
        service_rate, raw_rate = count / service_s, count / raw_s
        print(f"transitions: {count} through each path on PostgreSQL, one process")
        print(f"service layer: {service_rate:8.0f} transitions/s")
        print(f"raw ORM:       {raw_rate:8.0f} transitions/s")
        print(f"ratio service/raw: {service_rate / raw_rate:.2f} (target >= 0.7)")
    finally:
        ids = list(Delegation.objects.filter(user=actor).values_list("pk", flat=True))
        TransitionLog.objects.filter(object_id__in=ids, transition="revoke", reason="bench").delete()
        Notification.objects.filter(kind=NOTICE_KIND, object_id__in=ids, recipient__in=(actor, substitute)).delete()
        Delegation.objects.filter(user=actor).delete()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4000)
