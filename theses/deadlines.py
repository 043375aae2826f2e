"""The thesis process's deadlines, told to the reminder engine (notifications imports nothing from here).

The review deadline needs no source of its own: each track's panel carries the call's review deadline as its
scoring deadline, and `reviews.scoring` reminds every member with unsubmitted sheets, whatever the panel is for.
"""

from django.db.models import Q
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role, user_roles
from notifications.registry import DeadlineSource, DueItem
from workflow_site.roc_calendar.calendar import today

from .models import Kind, ThesisApplication, ThesisCall

APPLICATION = "theses.application"
FINAL_DUE = "theses.final_due"
OVERDUE = "theses.overdue"
S = ThesisApplication.Status


def application_url(application_id: int) -> str:
    return reverse("theses:detail", args=[application_id])


def _items(queryset, due_of, title_of, recipients=None, *, rdec_work=False):
    """One DueItem per application; recipients are the applicant unless `recipients` names others (one query)."""
    applications = list(queryset.select_related("call").order_by("pk"))
    others = recipients() if recipients is not None and applications else None
    for a in applications:
        yield DueItem(
            object_id=a.pk,
            title=title_of(a),
            due_date=due_of(a),
            recipient_ids=others if others is not None else (a.applicant_id,),
            agency_id=None,
            url=application_url(a.pk),
            rdec_work=rdec_work,
        )


def _is_applicant(user) -> bool:
    return Role.APPLICANT in user_roles(user)


# 1. Drafts (and applications returned for documents) to send by the call's application deadline: the applicant.
def _drafts(extra: Q):
    return ThesisApplication.objects.filter(
        extra, status__in=[S.DRAFT, S.RETURNED], call__status=ThesisCall.Status.OPEN
    )


def _application_title(a) -> str:
    return f"{a.call.title}申請：{a.title}"


def application_due(start, end):
    return _items(
        _drafts(Q(call__application_deadline__range=(start, end))),
        lambda a: a.call.application_deadline,
        _application_title,
    )


def application_open(ids):
    # After the deadline a draft cannot be sent any more: nothing left to remind of.
    return set(_drafts(Q(pk__in=ids, call__application_deadline__gte=today())).values_list("pk", flat=True))


def application_for_user(user):
    if not _is_applicant(user):
        return []
    return _items(
        _drafts(Q(applicant=user, call__application_deadline__gte=today())),
        lambda a: a.call.application_deadline,
        _application_title,
    )


# 2. A subsidised thesis to hand in, finished, by the call's due date: the applicant (an overdue one still may).
def _owed(extra: Q):
    return ThesisApplication.objects.filter(extra, kind=Kind.SUBSIDY, status__in=[S.APPROVED, S.OVERDUE])


def _final_title(a) -> str:
    return f"繳交論文完稿：{a.title}"


def final_due(start, end):
    return _items(_owed(Q(call__final_due_date__range=(start, end))), lambda a: a.call.final_due_date, _final_title)


def final_open(ids):
    return set(_owed(Q(pk__in=ids)).values_list("pk", flat=True))


def final_for_user(user):
    if not _is_applicant(user):
        return []
    return _items(_owed(Q(applicant=user)), lambda a: a.call.final_due_date, _final_title)


# 3. An overdue subsidy: RDEC's officers chase the student or cancel it; unhandled, it escalates to a supervisor.
def _overdue(extra: Q):
    return ThesisApplication.objects.filter(extra, kind=Kind.SUBSIDY, status=S.OVERDUE)


def _officers():
    return tuple(User.objects.filter(is_active=True, groups__name=Role.RDEC_OFFICER).values_list("pk", flat=True))


def _overdue_title(a) -> str:
    return f"補助論文逾期未繳完稿：{a.title}（{a.call.year}年度）"


def overdue_due(start, end):
    return _items(
        _overdue(Q(call__final_due_date__range=(start, end))),
        lambda a: a.call.final_due_date,
        _overdue_title,
        _officers,
        rdec_work=True,
    )


def overdue_open(ids):
    return set(_overdue(Q(pk__in=ids)).values_list("pk", flat=True))


def overdue_for_user(user):
    if Role.RDEC_OFFICER not in user_roles(user):
        return []
    return _items(_overdue(Q()), lambda a: a.call.final_due_date, _overdue_title, _officers, rdec_work=True)


SOURCES = [
    DeadlineSource(
        APPLICATION,
        "學位論文獎補助申請期限",
        ThesisApplication,
        application_due,
        application_open,
        application_for_user,
    ),
    DeadlineSource(FINAL_DUE, "補助論文完稿繳交期限", ThesisApplication, final_due, final_open, final_for_user),
    DeadlineSource(OVERDUE, "補助論文逾期未繳", ThesisApplication, overdue_due, overdue_open, overdue_for_user),
]
