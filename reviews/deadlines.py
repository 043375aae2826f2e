"""The scoring deadline, told to the reminder engine: one reminder per reviewer and panel, not per item."""

from django.db.models import Count, Q
from django.urls import reverse

from notifications.registry import DeadlineSource, DueItem

from .models import Panel, PanelMember, ScoreSheet

KIND = "reviews.scoring"
OPEN = (ScoreSheet.Status.NOT_STARTED, ScoreSheet.Status.DRAFT)


def _members(queryset):
    rows = (
        queryset.filter(panel__status=Panel.Status.SCORING, panel__scoring_deadline__isnull=False)
        .annotate(open_sheets=Count("sheets", filter=Q(sheets__status__in=OPEN)))
        .filter(open_sheets__gt=0)
        .select_related("panel")
        .order_by("pk")
    )
    for member in rows:
        yield DueItem(
            object_id=member.pk,
            title=f"{member.panel.title}：尚有 {member.open_sheets} 件待評分",
            due_date=member.panel.scoring_deadline,
            recipient_ids=(member.user_id,),
            agency_id=None,
            url=reverse("reviews:score", args=[member.panel_id]),
            rdec_work=True,  # RDEC chases its reviewers: escalations go to an rdec_supervisor
        )


def due_between(start, end):
    return _members(PanelMember.objects.filter(panel__scoring_deadline__range=(start, end)))


def still_open(ids):
    return set(
        PanelMember.objects.filter(pk__in=ids, panel__status=Panel.Status.SCORING, sheets__status__in=OPEN).values_list(
            "pk", flat=True
        )
    )


def for_user(user):
    return _members(PanelMember.objects.filter(user=user))


SOURCE = DeadlineSource(
    kind=KIND, label="審查評分", model=PanelMember, due_between=due_between, still_open=still_open, for_user=for_user
)
