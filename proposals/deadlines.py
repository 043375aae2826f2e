"""The proposal process's deadlines, told to the reminder engine (notifications imports nothing from here). The
adoption answers' deadline is the review engine's (reviews.adoption, reviews/deadlines.py), for every process."""

from django.db.models import Q

from accounts.roles import Role, user_roles
from accounts.selectors import users_by_agency
from notifications.registry import DeadlineSource, DueItem

from .models import Proposal, ProposalRound

SUBMISSION = "proposals.submission"
SIGN_OFF = "proposals.sign_off"


def _proposal_items(queryset, role: str, due_of):
    proposals = list(queryset.select_related("round").order_by("pk"))
    people = users_by_agency({p.agency_id for p in proposals}, role)
    for p in proposals:
        yield DueItem(
            object_id=p.pk,
            title=p.title,
            due_date=due_of(p),
            recipient_ids=people.get(p.agency_id, ()),
            agency_id=p.agency_id,
            url=f"/proposals/{p.pk}/",
        )


# Drafts must be signed off and sent by the round's submission deadline: clerks are reminded.
def _drafts(extra: Q):
    return Proposal.objects.filter(extra, status=Proposal.Status.DRAFT, round__status=ProposalRound.Status.OPEN)


def submission_due(start, end):
    return _proposal_items(
        _drafts(Q(round__submission_deadline__range=(start, end))),
        Role.AGENCY_CLERK,
        lambda p: p.round.submission_deadline,
    )


def submission_open(ids):
    return set(_drafts(Q(pk__in=ids)).values_list("pk", flat=True))


def submission_for_user(user):
    if not user.agency_id:
        return []
    if Role.AGENCY_CLERK not in user_roles(user):
        return []
    return _proposal_items(
        _drafts(Q(agency_id=user.agency_id)), Role.AGENCY_CLERK, lambda p: p.round.submission_deadline
    )


# Proposals waiting for the head's sign-off, due by the same deadline: heads are reminded.
def _waiting(extra: Q):
    return Proposal.objects.filter(
        extra, status=Proposal.Status.PENDING_APPROVAL, round__status=ProposalRound.Status.OPEN
    )


def sign_off_due(start, end):
    return _proposal_items(
        _waiting(Q(round__submission_deadline__range=(start, end))),
        Role.AGENCY_HEAD,
        lambda p: p.round.submission_deadline,
    )


def sign_off_open(ids):
    return set(_waiting(Q(pk__in=ids)).values_list("pk", flat=True))


def sign_off_for_user(user):
    if not user.agency_id or Role.AGENCY_HEAD not in user_roles(user):
        return []
    return _proposal_items(
        _waiting(Q(agency_id=user.agency_id)), Role.AGENCY_HEAD, lambda p: p.round.submission_deadline
    )


SOURCES = [
    DeadlineSource(SUBMISSION, "提案送件期限", Proposal, submission_due, submission_open, submission_for_user),
    DeadlineSource(SIGN_OFF, "提案待主管核定", Proposal, sign_off_due, sign_off_open, sign_off_for_user),
]
