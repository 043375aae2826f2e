from accounts.models import Delegation
from notifications.registry import DeadlineSource, DueItem

KIND = "test.delegation_end"


def _items(queryset):
    for d in queryset.select_related("user__agency").order_by("pk"):
        yield DueItem(
            object_id=d.pk,
            title=f"職務代理結束（{d.reason}）",
            due_date=d.ends,
            recipient_ids=(d.user_id,),
            agency_id=d.user.agency_id,
            url=f"/admin/accounts/delegation/{d.pk}/change/",
            # Items owned by RDEC staff are RDEC's own work: they escalate to an rdec_supervisor.
            rdec_work=d.user.agency is not None and d.user.agency.code == "RDEC",
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
