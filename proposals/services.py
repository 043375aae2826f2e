"""Every write of the innovation-proposal process. State changes go through workflow_site.transitions."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import Role, user_roles
from accounts.selectors import users_by_agency
from reviews import services as review_services
from reviews.models import Adoption, Panel, PanelMember, ReviewItem
from workflow_site import notices
from workflow_site.documents import sniff_kind
from workflow_site.errors import NotFound, PermissionDenied, TransitionNotAllowed
from workflow_site.permissions import require
from workflow_site.roc_calendar.calendar import add_working_days, today
from workflow_site.transitions import apply_bulk_transition, apply_transition

from . import selectors
from .errors import Code
from .models import GRADE_ORDER, Attachment, Grade, Proposal, ProposalRound

DRAFT_FIELDS = ("title", "summary", "problem", "approach", "benefits", "contact_name", "contact_phone", "contact_email")


def _bands(grade_quotas: list[dict]) -> list[dict]:
    labels = dict(Grade.choices)
    known = {g["grade"] for g in grade_quotas}
    unknown = known - set(labels)
    if unknown:
        raise ValidationError({"grade_quotas": [_("未知的等第：%(g)s") % {"g": "、".join(sorted(unknown))}]})
    order = {g: i for i, g in enumerate(GRADE_ORDER)}
    return [
        {
            "grade": q["grade"],
            "label": str(labels[q["grade"]]),
            "quota_count": int(q["count"]),
            "min_score": Decimal(str(q["min_score"])) if q.get("min_score") is not None else None,
        }
        for q in sorted(grade_quotas, key=lambda q: order[q["grade"]])
    ]


def _check_year_free(year: int, *, round_id: int | None = None) -> None:
    if ProposalRound.objects.filter(year=year).exclude(pk=round_id).exists():
        raise ValidationError({"year": [_("%(year)s 年度已有提案年度，不能重複建立。") % {"year": year}]})


@transaction.atomic
def round_create(
    *,
    actor,
    year: int,
    title: str,
    submission_deadline: datetime.date,
    scoring_deadline: datetime.date,
    rubric: list[dict],
    response_days: int = 20,
    aggregation: str = "mean",
    grade_quotas: list[dict] | None = None,
    forward_grades: list[str] | None = None,
    min_members: int = 7,
    min_external: int = 5,
    hide_agency: bool = False,
) -> ProposalRound:
    """A year's round in planning, with its rubric, its panel and grade bands from the quotas."""
    require(actor, "proposals.run_round")
    if scoring_deadline < submission_deadline:
        raise ValidationError({"scoring_deadline": [_("評分截止日不得早於提案截止日。")]})
    _check_year_free(year)
    round_ = ProposalRound(
        year=year,
        title=title,
        submission_deadline=submission_deadline,
        scoring_deadline=scoring_deadline,
        response_days=response_days,
    )
    if grade_quotas is not None:
        round_.grade_quotas = grade_quotas
    if forward_grades is not None:
        round_.forward_grades = forward_grades
    bands = _bands(round_.grade_quotas)
    if not set(round_.forward_grades) <= set(Grade.values):
        raise ValidationError({"forward_grades": [_("未知的等第。")]})
    round_.full_clean()
    round_.save()
    rubric_obj = review_services.rubric_create(actor=actor, name=f"{title}評分表", criteria=rubric)
    panel = review_services.panel_create(
        actor=actor,
        round_obj=round_,
        title=f"{title}審查會",
        rubric_id=rubric_obj.pk,
        aggregation=aggregation,
        min_members=min_members,
        min_external=min_external,
        hide_agency=hide_agency,
        scoring_deadline=scoring_deadline,
        bands=bands,
    )
    round_.panel = panel
    round_.save(update_fields=["panel"])
    return round_


def _round(round_id: int, *, lock: bool = True) -> ProposalRound:
    qs = ProposalRound.objects.select_related("panel")
    if lock:
        # Serialises round-level actions (finalising while a proposal is being screened, say).
        qs = qs.select_for_update(of=("self",))
    try:
        return qs.get(pk=round_id)
    except ProposalRound.DoesNotExist as exc:
        raise NotFound() from exc


ROUND_SETTINGS = (
    "year",
    "title",
    "submission_deadline",
    "scoring_deadline",
    "response_days",
    "grade_quotas",
    "forward_grades",
)
PANEL_SETTINGS = ("aggregation", "min_members", "min_external", "hide_agency")


@transaction.atomic
def round_update(*, round_id: int, actor, rubric: list[dict] | None = None, **fields) -> ProposalRound:
    """Change a round's settings until submissions close (409 `round_not_configurable` after): its own fields
    (`ROUND_SETTINGS`), a new rubric, and its panel's rule (`PANEL_SETTINGS`); the panel follows the title, the
    scoring deadline and the grade quotas."""
    require(actor, "proposals.run_round")
    unknown = set(fields) - set(ROUND_SETTINGS) - set(PANEL_SETTINGS)
    if unknown:
        raise TypeError(f"round_update does not take {sorted(unknown)}")
    round_ = _round(round_id)
    if not round_.is_configurable:
        raise TransitionNotAllowed(_("本年度已截止收件，不能再修改設定。"), code=Code.ROUND_NOT_CONFIGURABLE)
    own = {key: value for key, value in fields.items() if key in ROUND_SETTINGS}
    for key, value in own.items():
        setattr(round_, key, value)
    if round_.scoring_deadline < round_.submission_deadline:
        raise ValidationError({"scoring_deadline": [_("評分截止日不得早於提案截止日。")]})
    _check_year_free(round_.year, round_id=round_.pk)
    bands = _bands(round_.grade_quotas)
    if not set(round_.forward_grades) <= set(Grade.values):
        raise ValidationError({"forward_grades": [_("未知的等第。")]})
    round_.full_clean()
    round_.save(update_fields=list(own))
    panel_fields = {key: value for key, value in fields.items() if key in PANEL_SETTINGS}
    panel_fields.update(title=f"{round_.title}審查會", scoring_deadline=round_.scoring_deadline)
    if rubric is not None:
        panel_fields["rubric_id"] = review_services.rubric_create(
            actor=actor, name=f"{round_.title}評分表", criteria=rubric
        ).pk
    review_services.panel_update(panel_id=round_.panel_id, actor=actor, **panel_fields)
    review_services.panel_set_bands(panel_id=round_.panel_id, actor=actor, bands=bands)
    return round_


@transaction.atomic
def round_open(*, round_id: int, actor) -> ProposalRound:
    """planning -> open: agencies may submit."""
    round_ = _round(round_id)
    apply_transition(round_, "open", actor=actor)
    return round_


@transaction.atomic
def round_close_submissions(*, round_id: int, actor) -> ProposalRound:
    """open -> screening: drafts left unsent stay drafts; RDEC screens what was submitted."""
    round_ = _round(round_id)
    apply_transition(round_, "close_submissions", actor=actor)
    return round_


@transaction.atomic
def round_reopen_submissions(*, round_id: int, actor, reason: str) -> ProposalRound:
    """screening -> open, with the reason (logged): agencies may send again, until a proposal has been screened
    (409 `screening_started` after)."""
    if not reason.strip():
        raise ValidationError({"reason": [_("請說明重新開放收件的理由。")]})
    round_ = _round(round_id)
    apply_transition(round_, "reopen_submissions", actor=actor, reason=reason.strip())
    return round_


@transaction.atomic
def round_panel_member_add(*, round_id: int, actor, user_id: int, kind: str, chair: bool = False) -> PanelMember:
    """Put a reviewer on the round's panel."""
    round_ = _round(round_id)
    return review_services.panel_member_add(
        panel_id=round_.panel_id, actor=actor, user_id=user_id, kind=kind, is_chair=chair
    )


@transaction.atomic
def round_start_scoring(*, round_id: int, actor) -> ProposalRound:
    """screening -> scoring: the proposals that passed screening become the panel's items and the sheets are
    created. 409 while proposals await screening or the panel's composition rule is unmet."""
    round_ = _round(round_id)
    require(actor, "proposals.run_round")
    waiting = round_.proposals.filter(status=Proposal.Status.SUBMITTED).count()
    if waiting and round_.status == ProposalRound.Status.SCREENING:
        raise TransitionNotAllowed(
            _("尚有 %(n)d 件提案未完成書面初審。") % {"n": waiting}, code=Code.UNSCREENED_PROPOSALS
        )
    in_review = list(round_.proposals.filter(status=Proposal.Status.IN_REVIEW).only("pk", "title", "agency_id"))
    if round_.status == ProposalRound.Status.SCREENING:
        review_services.review_items_sync(
            panel_id=round_.panel_id, actor=actor, subjects=[(p, p.title, p.agency_id) for p in in_review]
        )
    review_services.panel_start_scoring(panel_id=round_.panel_id, actor=actor)
    apply_transition(round_, "start_scoring", actor=actor)
    return round_


@transaction.atomic
def round_close_scoring(*, round_id: int, actor) -> ProposalRound:
    """scoring -> grading: the panel closes; the what-if preview is now available."""
    round_ = _round(round_id)
    if round_.panel.status == Panel.Status.SCORING:
        review_services.panel_close(panel_id=round_.panel_id, actor=actor)
    apply_transition(round_, "close_scoring", actor=actor)
    return round_


@transaction.atomic
def round_finalise(*, round_id: int, actor) -> ProposalRound:
    """Fix the grades: the panel's results are locked and every proposal in review becomes graded (a grade, or
    none). From scoring, scoring is closed first. 409 `unresolved_ties` while the chair must order ties."""
    round_ = _round(round_id)
    require(actor, "proposals.finalise_round")
    if round_.status == ProposalRound.Status.SCORING:
        round_close_scoring(round_id=round_id, actor=actor)
        round_.refresh_from_db()
    review_services.panel_finalise(panel_id=round_.panel_id, actor=actor)
    # Grade, rank and score come from the panel's results in the same set-based UPDATE that moves the
    # proposals (a correlated subquery per column, starting from the review item so it uses the
    # (panel, subject_type, subject_id) unique index): a round of 10,000 finalises in one statement.
    item = ReviewItem.objects.filter(
        panel_id=round_.panel_id,
        subject_type=ContentType.objects.get_for_model(Proposal),
        subject_id=OuterRef("pk"),
    )
    apply_bulk_transition(
        round_.proposals.filter(status=Proposal.Status.IN_REVIEW),
        "set_grade",
        actor=actor,
        reason=_("評定結果確定"),
        also_set={
            "grade": Coalesce(Subquery(item.values("result__grade")[:1]), Value("")),
            "rank": Subquery(item.values("result__rank")[:1]),
            "score": Subquery(item.values("result__score")[:1]),
        },
    )
    apply_transition(round_, "finalise", actor=actor, kwargs={"at": timezone.now()}, update_fields=["finalised_at"])
    return round_


@transaction.atomic
def round_publish(*, round_id: int, actor) -> ProposalRound:
    """grading -> published (after finalising; 409 `not_finalised` before): the public page shows the winners."""
    round_ = _round(round_id)
    apply_transition(round_, "publish", actor=actor, kwargs={"at": timezone.now()}, update_fields=["published_at"])
    return round_


@transaction.atomic
def round_close(*, round_id: int, actor) -> ProposalRound:
    """published -> closed."""
    round_ = _round(round_id)
    apply_transition(round_, "close", actor=actor)
    return round_


def _acting_agency_id(actor) -> int | None:
    return getattr(actor, "agency_id", None)


@transaction.atomic
def proposal_create(*, actor, round_id: int, title: str, summary: str, **fields) -> Proposal:
    """A clerk drafts a proposal for their agency while the round is open."""
    round_ = _round(round_id, lock=False)
    if round_.status != ProposalRound.Status.OPEN:
        raise TransitionNotAllowed(_("本年度目前不受理提案。"), code=Code.ROUND_NOT_OPEN)
    if Role.AGENCY_CLERK not in user_roles(actor) or actor.agency_id is None:
        raise PermissionDenied(_("只有機關承辦人可以建立提案。"))
    unknown = set(fields) - set(DRAFT_FIELDS)
    if unknown:
        raise TypeError(f"proposal_create does not take {sorted(unknown)}")
    proposal = Proposal(
        round=round_, agency_id=actor.agency_id, title=title, summary=summary, created_by=actor, **fields
    )
    proposal.full_clean()
    proposal.save()
    return proposal


@transaction.atomic
def proposal_update(*, actor, proposal_id: int, **fields) -> Proposal:
    """The clerk edits a draft."""
    proposal = selectors.proposal_for_update(proposal_id=proposal_id, viewer=actor)
    require(actor, "proposals.draft_proposal", proposal)
    if proposal.status != Proposal.Status.DRAFT:
        raise TransitionNotAllowed(_("只有草稿可以修改。"), code=Code.NOT_DRAFT)
    unknown = set(fields) - set(DRAFT_FIELDS)
    if unknown:
        raise ValidationError({key: [_("此欄位不可修改。")] for key in unknown})
    for key, value in fields.items():
        setattr(proposal, key, value)
    proposal.full_clean()
    proposal.save(update_fields=[*fields, "updated_at"])
    return proposal


def _transition(proposal_id: int, name: str, *, actor, reason: str = "", kwargs=None, update_fields=()) -> Proposal:
    proposal = selectors.proposal_for_update(proposal_id=proposal_id, viewer=actor)
    apply_transition(proposal, name, actor=actor, reason=reason, kwargs=kwargs, update_fields=update_fields)
    return proposal


def _notify(proposal: Proposal, recipient_ids, subject: str, body: str, reason: str = "") -> None:
    """A notice about `proposal`: `subject` and `body` may name %(title)s and %(agency)s; `reason` is the person's
    own words, appended as typed."""
    facts = {"title": proposal.title, "agency": proposal.agency}
    notices.send(
        recipient_ids=recipient_ids,
        subject=subject % facts,
        body=body % facts + reason,
        item=proposal,
        url=f"/proposals/{proposal.pk}/",
    )


@transaction.atomic
def proposal_submit(*, proposal_id: int, actor) -> Proposal:
    """draft -> pending_approval: to the agency's head for sign-off (409 `round_not_open` once the round closed).
    The agency's heads are notified at once (the sign-off reminders follow its deadline)."""
    proposal = _transition(proposal_id, "submit", actor=actor)
    heads = users_by_agency([proposal.agency_id], Role.AGENCY_HEAD).get(proposal.agency_id, ())
    _notify(
        proposal,
        heads,
        _("【待核定】提案「%(title)s」待您核定"),
        _("%(agency)s的提案「%(title)s」已由承辦人送出，待您核定後送研考會。"),
    )
    return proposal


@transaction.atomic
def proposal_approve(*, proposal_id: int, actor) -> Proposal:
    """pending_approval -> submitted: the head signs off and the proposal reaches RDEC; its author gets the receipt."""
    proposal = _transition(proposal_id, "approve", actor=actor)
    _notify(
        proposal,
        [proposal.created_by_id],
        _("【收件通知】提案「%(title)s」已送達研考會"),
        _("您撰寫的提案「%(title)s」已經單位主管核定，並已送達研考會，後續審查結果將另行通知。"),
    )
    return proposal


@transaction.atomic
def proposal_return(*, proposal_id: int, actor, reason: str) -> Proposal:
    """pending_approval -> draft, with the head's reason, which its author is told."""
    if not reason.strip():
        raise ValidationError({"reason": [_("請說明退回理由。")]})
    proposal = _transition(proposal_id, "return_to_draft", actor=actor, reason=reason)
    _notify(
        proposal,
        [proposal.created_by_id],
        _("【退回】提案「%(title)s」已退回修改"),
        _("您撰寫的提案「%(title)s」已由單位主管退回修改，理由："),
        reason,
    )
    return proposal


@transaction.atomic
def proposal_withdraw(*, proposal_id: int, actor, reason: str = "") -> Proposal:
    """draft | pending_approval -> withdrawn."""
    return _transition(proposal_id, "withdraw", actor=actor, reason=reason)


@transaction.atomic
def proposal_screen(*, proposal_id: int, actor, passed: bool, reason: str = "") -> Proposal:
    """RDEC's written screening: submitted -> in_review, or -> screened_out with the reason (409
    `round_not_screening` outside the round's screening stage)."""
    proposal = selectors.proposal_for_update(proposal_id=proposal_id, viewer=actor)
    require(actor, "proposals.run_round")
    if not passed and not reason.strip():
        raise ValidationError({"reason": [_("初審未通過須說明理由。")]})
    name = "pass_screening" if passed else "fail_screening"
    apply_transition(
        proposal, name, actor=actor, reason=reason, kwargs={"reason": reason}, update_fields=["screening_reason"]
    )
    return proposal


@transaction.atomic
def proposal_forward(*, proposal_id: int, actor, agency_ids: list[int]) -> list[Adoption]:
    """graded -> forwarded: each chosen agency must answer whether it adopts, within the round's working days
    (reviews.adoptions_request; 409 `grade_not_forwarded` for a grade the round does not forward)."""
    proposal = selectors.proposal_for_update(proposal_id=proposal_id, viewer=actor)
    apply_transition(proposal, "forward", actor=actor)
    return review_services.adoptions_request(
        subject=proposal,
        agency_ids=agency_ids,
        due_date=add_working_days(today(), proposal.round.response_days),
        actor=actor,
        title=proposal.title,
    )


@transaction.atomic
def adoption_respond(*, adoption_id: int, actor, response: str, reason: str) -> Adoption:
    """pending -> answered on a proposal's adoption question (reviews.adoption_respond: adopt / partial / decline,
    with the reason); the last answer closes the proposal."""
    adoption = review_services.adoption_respond(
        adoption_id=adoption_id, actor=actor, response=response, reason=reason, subject_model=Proposal
    )
    # Locks the proposal so two agencies answering at once cannot both miss closing it.
    proposal = Proposal.objects.select_for_update().get(pk=adoption.subject_id)
    if not proposal.adoptions.filter(status=Adoption.Status.PENDING).exists():
        apply_transition(proposal, "close", actor=None, reason=_("受文機關均已回復"))
    return adoption


@transaction.atomic
def attachment_add(*, proposal_id: int, actor, upload, is_award_report: bool = False) -> Attachment:
    """Attach a PDF, DOCX or ODT (by content) of at most 20 MB to a draft (or, for RDEC, an award report)."""
    proposal = selectors.proposal_for_update(proposal_id=proposal_id, viewer=actor)
    if is_award_report:
        require(actor, "proposals.run_round")
    else:
        require(actor, "proposals.draft_proposal", proposal)
        if proposal.status != Proposal.Status.DRAFT:
            raise TransitionNotAllowed(_("只有草稿可以加附件。"), code=Code.NOT_DRAFT)
    try:
        kind = sniff_kind(upload)
    except ValidationError as exc:
        raise ValidationError({"file": exc.messages}) from exc
    attachment = Attachment(
        proposal=proposal,
        file=upload,
        name=getattr(upload, "name", "attachment")[:255],
        kind=kind,
        size=upload.size,
        is_award_report=is_award_report,
        uploaded_by=actor,
    )
    attachment.full_clean()
    attachment.save()
    return attachment
