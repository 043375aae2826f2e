"""Reads of the thesis process: who sees what is decided here, once."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from accounts.roles import Role, is_rdec_staff, user_roles
from accounts.selectors import agency_ids_acting, is_agency_staff
from reviews.models import Adoption, ScoreSheet
from workflow_site.errors import NotFound

from .models import ApplicantProfile, Kind, ThesisApplication, ThesisCall, ThesisDocument

# What stays with the applicant until they send it.
APPLICANT_PRIVATE = (ThesisApplication.Status.DRAFT, ThesisApplication.Status.WITHDRAWN)
# What the public results page lists: awards granted (and subsidies, by title only).
AWARDED = (
    ThesisApplication.Status.APPROVED,
    ThesisApplication.Status.FORWARDED,
    ThesisApplication.Status.CLOSED,
)


def application_visibility(user) -> Q:
    """Applicants: their own. RDEC: what applicants have sent. Reviewers: what they score (not recused). Agency
    staff: the awarded theses put to their agency for adoption."""
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    roles = user_roles(user)
    visible = Q(pk__in=[])
    if Role.APPLICANT in roles:
        visible |= Q(applicant_id=user.pk)
    if is_rdec_staff(user):
        visible |= ~Q(status__in=APPLICANT_PRIVATE)
    if Role.REVIEWER in roles:
        assigned = ScoreSheet.objects.filter(
            member__user=user,
            item__subject_type=ContentType.objects.get_for_model(ThesisApplication),
            item__subject_id=OuterRef("pk"),
        ).exclude(status=ScoreSheet.Status.RECUSED)
        visible |= Q(Exists(assigned))
    if is_agency_staff(user):
        asked = Adoption.objects.filter(
            subject_type=ContentType.objects.get_for_model(ThesisApplication),
            subject_id=OuterRef("pk"),
            agency_id__in=agency_ids_acting(user),
        )
        visible |= Q(Exists(asked))
    return visible


def shows_applicant(viewer, application: ThesisApplication) -> bool:
    """Who applied (name, school, department, advisor, the name to publish) is hidden from the reviewers of a
    double-blind call; the applicant and RDEC see it. Needs `application.call` (select_related)."""
    return not application.call.double_blind or application.applicant_id == viewer.pk or is_rdec_staff(viewer)


def document_name(document: ThesisDocument, *, shows_applicant: bool) -> str:
    """The file name shown and downloaded: the uploaded one, or "研究計畫.pdf" for a reviewer of a double-blind call
    (a file's name may carry its author's)."""
    if shows_applicant:
        return document.name
    return f"{ThesisDocument.Role(document.role).label}.{document.format}"


def application_list(*, viewer) -> QuerySet[ThesisApplication]:
    return (
        ThesisApplication.objects.filter(application_visibility(viewer))
        .select_related("call", "applicant")
        .order_by("call_id", "pk")
    )


def application_details(*, viewer) -> QuerySet[ThesisApplication]:
    """`application_list` with what the API shows of each (its documents): a constant number of queries a page."""
    return application_list(viewer=viewer).prefetch_related("documents")


def application_for_update(*, application_id: int, viewer) -> ThesisApplication:
    """The application, locked, if `viewer` may see it (else 404: another applicant's does not exist for them)."""
    qs = ThesisApplication.objects.select_for_update(of=("self",)).select_related("call")
    if viewer is not None:
        qs = qs.filter(application_visibility(viewer))
    try:
        return qs.get(pk=application_id)
    except ThesisApplication.DoesNotExist as exc:
        raise NotFound() from exc


def call_list() -> QuerySet[ThesisCall]:
    """Every call: what they offer is public (the applicant portal lists the open ones)."""
    return ThesisCall.objects.prefetch_related("tracks").order_by("-year")


def call_details() -> QuerySet[ThesisCall]:
    """Every call with its tracks and each kind's rubric (read off the track's panel): four queries for any number."""
    return ThesisCall.objects.prefetch_related("tracks__panel__rubric__criteria").order_by("-year")


def profile_of(user) -> ApplicantProfile | None:
    return ApplicantProfile.objects.filter(user_id=user.pk).first()


def awarded_theses(*, year: int | None = None) -> QuerySet[ThesisApplication]:
    """The public list: awarded theses of decided calls (title, university, degree, year; the name only where the
    applicant agreed to publish it)."""
    qs = ThesisApplication.objects.filter(
        kind=Kind.AWARD, status__in=AWARDED, call__status__in=[ThesisCall.Status.DECIDED, ThesisCall.Status.CLOSED]
    )
    if year is not None:
        qs = qs.filter(call__year=year)
    return (
        qs.select_related("call")
        # the states too: a model with a protected state field reads it when an instance is loaded
        .only(
            *("title", "university", "degree", "publish_name", "kind", "rank", "status"),
            *("call__year", "call__title", "call__status"),
        )
        .order_by("-call__year", "degree", "rank", "pk")
    )


def open_calls() -> QuerySet[ThesisCall]:
    """Calls taking applications today (open, deadline not passed)."""
    from workflow_site.roc_calendar.calendar import today

    return ThesisCall.objects.filter(status=ThesisCall.Status.OPEN, application_deadline__gte=today()).order_by("-year")


def status_counts(*, call: ThesisCall) -> list[dict]:
    """How many applications of the call are in each state (drafts included: RDEC sees how many are coming), one
    query: [{"status", "label", "n"}] in the states' order."""
    counts = dict(call.applications.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    return [
        {"status": value, "label": label, "n": counts[value]}
        for value, label in ThesisApplication.Status.choices
        if counts.get(value)
    ]


def call_results(*, call: ThesisCall) -> list[ThesisApplication]:
    """The reviewed applications of a decided call, by kind, degree and rank: one query."""
    return list(
        call.applications.filter(rank__isnull=False)
        .select_related("applicant")
        .order_by("kind", "degree", "rank", "pk")
    )


def calls_with_rubrics() -> list[ThesisCall]:
    """Every call, newest first, each with `rubrics` ({kind: criteria as rubric_create takes them}) and `kinds`,
    to copy into a new call: two queries and one per level of the prefetch."""
    calls = list(call_details())
    for call in calls:
        call.rubrics = {}
        for track in call.tracks.all():
            if track.panel is not None and track.kind not in call.rubrics:
                call.rubrics[track.kind] = [
                    {
                        "code": c.code,
                        "name": c.name,
                        "weight": c.weight,
                        "max_score": c.max_score,
                        "guidance": c.guidance,
                    }
                    for c in track.panel.rubric.criteria.all()
                ]
        call.kinds = set(call.rubrics)
    return calls
