"""The year-end appraisal's deadlines, told to the reminder engine."""

from django.db.models import Count, Q

from accounts.models import User
from accounts.roles import Role, user_roles
from accounts.selectors import users_by_agency
from notifications.registry import DeadlineSource, DueItem

from ..models import Appraisal, AppraisalRound

# Year-end appraisal: the agency's self-assessment of each plan, and RDEC's review of the round.
SELF_ASSESSMENT = "plan_control.self_assessment"
APPRAISAL_REVIEW = "plan_control.appraisal_review"


def _self_items(queryset):
    appraisals = list(queryset.select_related("plan", "round").order_by("pk"))
    people = users_by_agency({a.agency_id for a in appraisals}, Role.AGENCY_CLERK)
    for a in appraisals:
        yield DueItem(
            object_id=a.pk,
            title=f"年終考核自評：{a.plan.code} {a.plan.title}",
            due_date=a.round.self_assessment_due,
            recipient_ids=people.get(a.agency_id, ()),
            agency_id=a.agency_id,
            url=f"/plan-control/appraisals/{a.pk}/",
        )


def _awaiting_self(extra: Q):
    return Appraisal.objects.filter(
        extra,
        status=Appraisal.Status.SUGGESTED,
        round__status=AppraisalRound.Status.SELF_ASSESSMENT,
        round__self_assessment_due__isnull=False,
    )


def self_assessment_due(start, end):
    return _self_items(_awaiting_self(Q(round__self_assessment_due__range=(start, end))))


def self_assessment_open(ids):
    return set(_awaiting_self(Q(pk__in=ids)).values_list("pk", flat=True))


def self_assessment_for_user(user):
    if not user.agency_id or Role.AGENCY_CLERK not in user_roles(user):
        return []
    return _self_items(_awaiting_self(Q(agency_id=user.agency_id)))


def _review_items(rounds):
    officers = tuple(User.objects.filter(is_active=True, groups__name=Role.RDEC_OFFICER).values_list("pk", flat=True))
    for r in rounds:
        yield DueItem(
            object_id=r.pk,
            title=f"{r.year}年度年終考核複核（尚有 {r.waiting} 項）",
            due_date=r.review_due,
            recipient_ids=officers,
            agency_id=None,
            url=f"/plan-control/appraisal/{r.pk}/",
            rdec_work=True,
        )


def _rounds_in_review(extra: Q):
    return (
        AppraisalRound.objects.filter(extra, status=AppraisalRound.Status.REVIEW, review_due__isnull=False)
        .annotate(waiting=Count("appraisals", filter=~Q(appraisals__status=Appraisal.Status.REVIEWED)))
        .filter(waiting__gt=0)
        .order_by("pk")
    )


def review_due(start, end):
    return _review_items(_rounds_in_review(Q(review_due__range=(start, end))))


def review_open(ids):
    return set(_rounds_in_review(Q(pk__in=ids)).values_list("pk", flat=True))


def review_for_user(user):
    if Role.RDEC_OFFICER not in user_roles(user):
        return []
    return _review_items(_rounds_in_review(Q()))


SOURCES = [
    DeadlineSource(
        SELF_ASSESSMENT, "年終考核自評", Appraisal, self_assessment_due, self_assessment_open, self_assessment_for_user
    ),
    DeadlineSource(APPRAISAL_REVIEW, "年終考核複核", AppraisalRound, review_due, review_open, review_for_user),
]
