from accounts.models import Delegation
from notifications.registry import DeadlineSource, DueItem

KIND = "test.delegation_end"


def _items(queryset):
    # Plain values, no model instances: the scan reads every item due in its window (10,000 in bench/deadline_scan).
    rows = queryset.order_by("pk").values_list(
        "pk", "reason", "ends", "user_id", "user__agency_id", "user__agency__code"
    )
    for pk, reason, ends, user_id, agency_id, agency_code in rows:
        yield DueItem(
            object_id=pk,
            title=f"職務代理結束（{reason}）",
            due_date=ends,
            recipient_ids=(user_id,),
            agency_id=agency_id,
            url=f"/admin/accounts/delegation/{pk}/change/",
            # Items owned by RDEC staff are RDEC's own work: they escalate to an rdec_supervisor.
            rdec_work=agency_code == "RDEC",
        )


def due_between(start, end):
    return _items(Delegation.objects.filter(status=Delegation.Status.IN_FORCE, ends__range=(start, end)))


def still_open(ids):
    return set(Delegation.objects.filter(pk__in=ids, status=Delegation.Status.IN_FORCE).values_list("pk", flat=True))


def for_user(user):
    return _items(Delegation.objects.filter(status=Delegation.Status.IN_FORCE, user=user))


SOURCE = DeadlineSource(
    kind=KIND,
    label="測試期限",
    model=Delegation,
    due_between=due_between,
    still_open=still_open,
    for_user=for_user,
)
