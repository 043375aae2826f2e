"""The review engine's deadlines, told to the reminder engine: scoring (one reminder per reviewer and panel, not
per item) and the answer to an adoption question (the agency's clerks, whatever the subject)."""

from collections.abc import Callable

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q
from django.urls import reverse

from accounts.roles import Role, user_roles
from accounts.selectors import users_by_agency
from notifications.registry import DeadlineSource, DueItem

from .models import Adoption, Panel, PanelMember, ScoreSheet

KIND = "reviews.scoring"
ADOPTION_KIND = "reviews.adoption"
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


# The page where an agency answers an adoption question, per subject model ("app_label.model_name"): the process
# that owns the subject registers it in its AppConfig.ready() (proposals: /proposals/adoptions/<id>/).
_answer_pages: dict[str, Callable[[int], str]] = {}


def register_answer_page(model_label: str, url: Callable[[int], str]) -> None:
    """`url(adoption_id)` is the page answering an adoption question about a `model_label` subject."""
    _answer_pages[model_label.lower()] = url


def answer_url(adoption: Adoption) -> str:
    """The page answering `adoption`; My tasks ("/") for a subject whose process registered none."""
    content_type = ContentType.objects.get_for_id(adoption.subject_type_id)  # cached: no query per row
    page = _answer_pages.get(f"{content_type.app_label}.{content_type.model}")
    return page(adoption.pk) if page else "/"


# An adoption question's answer is due by its due date: the agency's clerks are reminded, its head once overdue.
def _adoption_items(queryset):
    adoptions = list(queryset.order_by("pk"))
    people = users_by_agency({a.agency_id for a in adoptions}, Role.AGENCY_CLERK)
    for a in adoptions:
        yield DueItem(
            object_id=a.pk,
            title=f"參採回復：{a.title}",
            due_date=a.due_date,
            recipient_ids=people.get(a.agency_id, ()),
            agency_id=a.agency_id,
            url=answer_url(a),
        )


def adoption_due(start, end):
    return _adoption_items(Adoption.objects.filter(status=Adoption.Status.PENDING, due_date__range=(start, end)))


def adoption_open(ids):
    return set(Adoption.objects.filter(pk__in=ids, status=Adoption.Status.PENDING).values_list("pk", flat=True))


def adoption_for_user(user):
    if not user.agency_id or Role.AGENCY_CLERK not in user_roles(user):
        return []
    return _adoption_items(Adoption.objects.filter(status=Adoption.Status.PENDING, agency_id=user.agency_id))


ADOPTION_SOURCE = DeadlineSource(
    kind=ADOPTION_KIND,
    label="參採回復期限",
    model=Adoption,
    due_between=adoption_due,
    still_open=adoption_open,
    for_user=adoption_for_user,
)
