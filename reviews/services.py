"""Every write of the review engine, and of the adoption questions that follow an award. Domain apps (proposals,
theses, plan_control) call these."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Agency
from workflow_site.bulk import copy_rows
from workflow_site.errors import Conflict, NotFound, PermissionDenied, TransitionNotAllowed
from workflow_site.permissions import granting_principal, require
from workflow_site.transitions import apply_transition, log_event

from . import scoring, selectors
from .errors import Code
from .models import (
    Adoption,
    Criterion,
    GradeBand,
    ItemResult,
    Panel,
    PanelMember,
    ReviewItem,
    Rubric,
    ScoreSheet,
    TieResolution,
)

AUTO_RECUSAL_REASON = "與受審項目同機關，自動迴避"


@transaction.atomic
def rubric_create(*, actor, name: str, criteria: list[dict], description: str = "") -> Rubric:
    """A rubric and its criteria (`code, name, weight, max_score, guidance`); the weights must sum to 100."""
    errors: dict[str, list[str]] = {}
    codes = [c.get("code") for c in criteria]
    if not criteria:
        errors["criteria"] = [_("評分表至少需要一個評分項目。")]
    elif len(set(codes)) != len(codes):
        errors["criteria"] = [_("評分項目代碼不可重複。")]
    else:
        try:
            weight_sum = sum(Decimal(str(c["weight"])) for c in criteria)
        except (InvalidOperation, KeyError, TypeError):
            weight_sum = None
        if weight_sum != Decimal(100):
            errors["criteria"] = [_("各評分項目權重合計須為 100%%，目前為 %(sum)s%%。") % {"sum": weight_sum}]
    if errors:
        raise ValidationError(errors)
    rubric = Rubric(name=name, description=description)
    rubric.full_clean()
    rubric.save()
    for order, spec in enumerate(criteria, start=1):
        criterion = Criterion(
            rubric=rubric,
            order=order,
            code=spec["code"],
            name=spec["name"],
            weight=Decimal(str(spec["weight"])),
            max_score=Decimal(str(spec["max_score"])),
            guidance=spec.get("guidance", ""),
        )
        try:
            criterion.full_clean(exclude=["rubric"])
        except ValidationError as exc:
            raise ValidationError({"criteria": [f"{spec['code']}：{m}" for m in exc.messages]}) from exc
        criterion.save()
    return rubric


def _validate_bands(bands: list[dict]) -> None:
    grades = [b.get("grade") for b in bands]
    if len(set(grades)) != len(grades):
        raise ValidationError({"bands": [_("等第代碼不可重複。")]})
    for band in bands:
        if band.get("quota_count") is not None and band.get("quota_percent") is not None:
            raise ValidationError({"bands": [_("等第「%(g)s」只能設定名額或比例其中之一。") % {"g": band["grade"]}]})


@transaction.atomic
def panel_create(
    *,
    actor,
    round_obj: models.Model,
    title: str,
    rubric_id: int,
    aggregation: str = "mean",
    min_members: int = 7,
    min_external: int = 0,
    deviation_points: Decimal = Decimal(15),
    hide_agency: bool = False,
    scoring_deadline: datetime.date | None = None,
    bands: list[dict] | None = None,
) -> Panel:
    """A panel for a round (one per round), with grade bands best first.

    The round is the object itself: any app's round may own a panel, and its type comes from it."""
    require(actor, "reviews.run_panel")
    panel = Panel(
        round_type=ContentType.objects.get_for_model(round_obj),
        round_id=round_obj.pk,
        title=title,
        rubric_id=rubric_id,
        aggregation=aggregation,
        min_members=min_members,
        min_external=min_external,
        deviation_points=deviation_points,
        hide_agency=hide_agency,
        scoring_deadline=scoring_deadline,
    )
    panel.full_clean()
    panel.save()
    _replace_bands(panel, bands or [])
    return panel


@transaction.atomic
def panel_set_bands(*, panel_id: int, actor, bands: list[dict]) -> None:
    """Replace the grade bands (best first: `grade, label, quota_count | quota_percent, min_score`)."""
    require(actor, "reviews.run_panel")
    # Locks the panel: bands changing while it is being finalised would grade with half of each set.
    panel = Panel.objects.select_for_update().get(pk=panel_id)
    if panel.status == Panel.Status.FINALISED:
        raise TransitionNotAllowed(_("結果已確定，不能再變更等第設定。"))
    _replace_bands(panel, bands)


PANEL_SETTINGS = ("title", "rubric_id", "aggregation", "min_members", "min_external", "hide_agency", "scoring_deadline")


@transaction.atomic
def panel_update(*, panel_id: int, actor, **fields) -> Panel:
    """Change a panel's settings (`PANEL_SETTINGS`) while it is forming; its title and deadline until it is final."""
    require(actor, "reviews.run_panel")
    unknown = set(fields) - set(PANEL_SETTINGS)
    if unknown:
        raise TypeError(f"panel_update does not take {sorted(unknown)}")
    # Locks the panel: a rubric changing while scoring starts would give sheets the old criteria.
    panel = Panel.objects.select_for_update().get(pk=panel_id)
    if panel.status == Panel.Status.FINALISED or (
        panel.status != Panel.Status.FORMING and set(fields) - {"title", "scoring_deadline"}
    ):
        raise TransitionNotAllowed(_("評分已開始，不能再變更評分表、計分方式或委員組成規則。"))
    for key, value in fields.items():
        setattr(panel, key, value)
    panel.full_clean()
    panel.save(update_fields=list(fields))
    return panel


def _replace_bands(panel: Panel, bands: list[dict]) -> None:
    _validate_bands(bands)
    panel.bands.all().delete()
    for order, spec in enumerate(bands, start=1):
        band = GradeBand(
            panel=panel,
            order=order,
            grade=spec["grade"],
            label=spec.get("label", spec["grade"]),
            quota_count=spec.get("quota_count"),
            quota_percent=spec.get("quota_percent"),
            min_score=spec.get("min_score"),
        )
        band.full_clean()
        band.save()


@transaction.atomic
def panel_member_add(
    *, panel_id: int, actor, user_id: int, kind: str, is_chair: bool = False, reserve: bool = False
) -> PanelMember:
    """Add a member while the panel is forming (a reserve member may join later, for reassigned items, until the
    results are final); logged on the panel with who added whom."""
    require(actor, "reviews.run_panel")
    if is_chair and reserve:
        raise ValidationError({"is_chair": [_("備位委員不能擔任召集人。")]})
    panel = Panel.objects.select_for_update().get(pk=panel_id)
    if panel.status == Panel.Status.FINALISED:
        raise TransitionNotAllowed(_("結果已確定，不能再加入委員。"))
    if panel.status != Panel.Status.FORMING and not reserve:
        raise TransitionNotAllowed(_("評分已開始，只能再加入備位委員。"))
    if PanelMember.objects.filter(panel=panel, user_id=user_id).exists():
        raise Conflict(_("此委員已在審查會中。"), code=Code.DUPLICATE_MEMBER)
    if is_chair:
        PanelMember.objects.filter(panel=panel, is_chair=True).update(is_chair=False)
    member = PanelMember(panel=panel, user_id=user_id, kind=kind, is_chair=is_chair, reserve=reserve)
    member.full_clean()
    member.save()
    role = _("備位委員") if reserve else (_("召集人") if is_chair else _("委員"))
    log_event(
        panel,
        "member_add",
        source=panel.status,
        target=panel.status,
        actor=actor,
        acting_for=granting_principal(actor, "reviews.run_panel"),
        reason=_("加入%(role)s：%(name)s") % {"role": role, "name": member.user},
    )
    return member


def _panel_member_for_update(panel_id: int, member_id: int) -> tuple[Panel, PanelMember]:
    # Locks the panel: a removal or a change of chair racing the start of scoring waits for it, then sees its state.
    try:
        panel = Panel.objects.select_for_update().get(pk=panel_id)
        member = PanelMember.objects.select_related("user").get(pk=member_id, panel=panel)
    except (Panel.DoesNotExist, PanelMember.DoesNotExist) as exc:
        raise NotFound() from exc
    return panel, member


@transaction.atomic
def panel_member_remove(*, panel_id: int, member_id: int, actor, reason: str = "") -> None:
    """Take a member off the panel while it is forming (no sheets exist yet); logged on the panel with who and why.

    Once scoring has started a member holds sheets: the chair reassigns their items instead (409)."""
    require(actor, "reviews.run_panel")
    panel, member = _panel_member_for_update(panel_id, member_id)
    if panel.status != Panel.Status.FORMING:
        raise TransitionNotAllowed(_("評分已開始，不能再移除委員；請由召集人改派迴避的項目。"))
    name = str(member.user)
    member.delete()
    note = _("移除委員：%(name)s") % {"name": name}
    log_event(
        panel,
        "member_remove",
        source=panel.status,
        target=panel.status,
        actor=actor,
        acting_for=granting_principal(actor, "reviews.run_panel"),
        reason=f"{note}（{reason.strip()}）" if reason.strip() else note,
    )


@transaction.atomic
def panel_chair_set(*, panel_id: int, member_id: int, actor) -> PanelMember:
    """Make this member the panel's chair (召集人) in place of the current one, until the results are final; logged
    on the panel. A reserve member cannot chair."""
    require(actor, "reviews.run_panel")
    panel, member = _panel_member_for_update(panel_id, member_id)
    if panel.status == Panel.Status.FINALISED:
        raise TransitionNotAllowed(_("結果已確定，不能再變更召集人。"))
    if member.reserve:
        raise ValidationError({"member": [_("備位委員不能擔任召集人。")]})
    if not member.is_chair:
        PanelMember.objects.filter(panel=panel, is_chair=True).update(is_chair=False)
        member.is_chair = True
        member.save(update_fields=["is_chair"])
        log_event(
            panel,
            "chair_set",
            source=panel.status,
            target=panel.status,
            actor=actor,
            acting_for=granting_principal(actor, "reviews.run_panel"),
            reason=_("指定召集人：%(name)s") % {"name": member.user},
        )
    return member


@transaction.atomic
def review_items_sync(*, panel_id: int, actor, subjects: list[tuple[models.Model, str, int | None]]) -> int:
    """Make the panel's items exactly these `(subject, title, agency_id)` while forming; returns the count.

    Subjects are the domain objects themselves: each item points at one through its type and id."""
    require(actor, "reviews.run_panel")
    # Locks the panel: two syncs of one panel queue instead of both inserting the same missing items.
    panel = Panel.objects.select_for_update().get(pk=panel_id)
    if panel.status != Panel.Status.FORMING:
        raise TransitionNotAllowed(_("評分已開始，受審項目不能再變更。"))
    wanted = {}
    for subject, title, agency_id in subjects:
        content_type = ContentType.objects.get_for_model(subject)
        wanted[(content_type.pk, subject.pk)] = (title, agency_id)
    existing = {(i.subject_type_id, i.subject_id): i for i in panel.items.all()}
    ReviewItem.objects.filter(pk__in=[i.pk for key, i in existing.items() if key not in wanted]).delete()
    ReviewItem.objects.bulk_create(
        [
            ReviewItem(panel=panel, subject_type_id=ct, subject_id=pk, title=title[:300], agency_id=agency_id)
            for (ct, pk), (title, agency_id) in wanted.items()
            if (ct, pk) not in existing
        ]
    )
    return len(wanted)


@transaction.atomic
def panel_start_scoring(*, panel_id: int, actor) -> Panel:
    """forming -> scoring: one sheet per member and item; members recused from their own agency's items.

    Refused (409 `panel_composition`) while the composition rule is unmet.
    """
    require(actor, "reviews.run_panel")
    panel = Panel.objects.prefetch_related("members__user").get(pk=panel_id)
    problems = panel.composition_problems()
    if problems and panel.status == Panel.Status.FORMING:
        raise TransitionNotAllowed(" ".join(problems), code=Code.PANEL_COMPOSITION, extra={"problems": problems})
    apply_transition(panel, "start_scoring", actor=actor)
    members = [m for m in panel.members.all() if not m.reserve]
    sheets = []
    for item in panel.items.all():
        for member in members:
            own_agency = item.agency_id is not None and member.user.agency_id == item.agency_id
            sheets.append(
                ScoreSheet(
                    panel=panel,
                    item=item,
                    member=member,
                    # Created recused: a member never scores their own agency's item.
                    status=ScoreSheet.Status.RECUSED if own_agency else ScoreSheet.Status.NOT_STARTED,
                    recusal_reason=AUTO_RECUSAL_REASON if own_agency else "",
                )
            )
    ScoreSheet.objects.bulk_create(sheets, batch_size=5000)
    return panel


def _check_scores(panel: Panel, scores: dict, *, complete: bool) -> tuple[dict[str, Decimal], dict[str, list[str]]]:
    """Each criterion's score within 0..max, unknown codes refused: the accepted scores and, per refused (or, when
    `complete`, missing) criterion code, why."""
    criteria = {c.code: c for c in panel.rubric.criteria.all()}
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Decimal] = {}
    for code, raw in scores.items():
        criterion = criteria.get(code)
        if criterion is None:
            errors[code] = [_("沒有這個評分項目。")]
            continue
        if raw is None or raw == "":
            continue
        try:
            value = Decimal(str(raw))
        except InvalidOperation:
            errors[code] = [_("「%(name)s」的分數須為數字。") % {"name": criterion.name}]
            continue
        if not value.is_finite() or value < 0 or value > criterion.max_score:
            errors[code] = [
                _("「%(name)s」的分數須介於 0 到 %(max)s。") % {"name": criterion.name, "max": criterion.max_score}
            ]
            continue
        cleaned[code] = value.quantize(Decimal("0.01"))
    if complete:
        for code, criterion in criteria.items():
            if code not in cleaned and code not in errors:
                errors[code] = [_("「%(name)s」尚未評分。") % {"name": criterion.name}]
    return cleaned, errors


def _clean_scores(panel: Panel, scores: dict, *, complete: bool) -> dict[str, Decimal]:
    """`_check_scores`, all or nothing: a 400 names each refused criterion."""
    cleaned, errors = _check_scores(panel, scores, complete=complete)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _merged_scores(sheet: ScoreSheet, scores) -> dict:
    """The sheet's saved scores with the new ones over them; a 400 (nothing saved) when they are not a mapping."""
    if scores is not None and not isinstance(scores, dict):
        raise ValidationError({"scores": [_("分數須為 {評分項目代碼: 分數} 的格式。")]})
    return {**sheet.scores, **(scores or {})}


def _specs(panel: Panel) -> list[scoring.CriterionSpec]:
    return [scoring.CriterionSpec(c.code, c.weight, c.max_score) for c in panel.rubric.criteria.all()]


def _own_sheet(sheet_id: int, actor) -> ScoreSheet:
    try:
        sheet = selectors.sheet_for_update(sheet_id=sheet_id)
    except ScoreSheet.DoesNotExist as exc:
        raise NotFound() from exc
    if actor is not None and sheet.member.user_id != actor.pk:
        raise NotFound()  # someone else's sheet does not exist for this reviewer
    return sheet


@dataclass(frozen=True)
class DraftSaved:
    """What an autosave kept: the sheet as saved, and per criterion code the scores it refused (not saved)."""

    sheet: ScoreSheet
    refused: dict[str, list[str]] = field(default_factory=dict)


@transaction.atomic
def sheet_save_draft(*, sheet_id: int, actor, scores: dict | None = None, comment: str | None = None) -> DraftSaved:
    """Keep the reviewer's scores as a draft (not_started -> draft the first time; later saves stay draft).

    A draft is never lost to one bad value: the valid scores and the comment are saved, each refused score (out of
    range, not a number, no such criterion) is left out (a criterion refused now no longer holds its earlier score)
    and named in `refused`. Submitting stays all or nothing."""
    sheet = _own_sheet(sheet_id, actor)
    if (
        sheet.status == ScoreSheet.Status.DRAFT
        and actor is not None
        and not actor.has_perm("reviews.score_sheet", sheet)
    ):
        raise PermissionDenied()
    merged = _merged_scores(sheet, scores)
    cleaned, refused = _check_scores(sheet.panel, merged, complete=False)
    sheet.scores = {k: str(v) for k, v in cleaned.items()}
    if comment is not None:
        sheet.comment = comment
    complete = len(cleaned) == len(_specs(sheet.panel))
    sheet.total = scoring.weighted_total(cleaned, _specs(sheet.panel)) if complete else None
    if sheet.status == ScoreSheet.Status.DRAFT:
        # Autosave: a draft staying a draft is no state change, so no log row per keystroke.
        sheet.save(update_fields=["scores", "comment", "total", "updated_at"])
    else:
        apply_transition(sheet, "save_draft", actor=actor, update_fields=["scores", "comment", "total", "updated_at"])
    return DraftSaved(sheet, refused)


@transaction.atomic
def sheet_submit(*, sheet_id: int, actor, scores: dict | None = None, comment: str | None = None) -> ScoreSheet:
    """draft|not_started -> submitted, every criterion scored; afterwards only the chair's reopen changes it."""
    sheet = _own_sheet(sheet_id, actor)
    merged = _merged_scores(sheet, scores)
    cleaned = _clean_scores(sheet.panel, merged, complete=True)
    sheet.scores = {k: str(v) for k, v in cleaned.items()}
    if comment is not None:
        sheet.comment = comment
    sheet.total = scoring.weighted_total(cleaned, _specs(sheet.panel))
    apply_transition(
        sheet,
        "submit",
        actor=actor,
        kwargs={"at": timezone.now()},
        update_fields=["scores", "comment", "total", "submitted_at", "updated_at"],
    )
    return sheet


@transaction.atomic
def sheet_declare_conflict(*, sheet_id: int, actor, reason: str) -> ScoreSheet:
    """The reviewer steps aside from an item (not_started|draft -> recused), with the reason."""
    if not reason.strip():
        raise ValidationError({"reason": [_("請說明迴避理由。")]})
    sheet = _own_sheet(sheet_id, actor)
    apply_transition(
        sheet,
        "declare_conflict",
        actor=actor,
        reason=reason,
        kwargs={"reason": reason},
        update_fields=["recusal_reason", "scores", "total", "updated_at"],
    )
    return sheet


def _chair_sheet(panel_id: int, sheet_id: int) -> ScoreSheet:
    try:
        sheet = selectors.sheet_for_update(sheet_id=sheet_id)
    except ScoreSheet.DoesNotExist as exc:
        raise NotFound() from exc
    if sheet.panel_id != panel_id:
        raise NotFound()
    return sheet


@transaction.atomic
def sheet_reopen(*, panel_id: int, sheet_id: int, actor, reason: str) -> ScoreSheet:
    """The chair gives a submitted sheet back (submitted -> draft), logged with the reason."""
    if not reason.strip():
        raise ValidationError({"reason": [_("請說明退回理由。")]})
    sheet = _chair_sheet(panel_id, sheet_id)
    if sheet.panel.status == Panel.Status.FINALISED:
        raise TransitionNotAllowed(_("結果已確定，不能再退回評分。"))
    apply_transition(sheet, "reopen", actor=actor, reason=reason, update_fields=["submitted_at", "updated_at"])
    if sheet.panel.status == Panel.Status.CLOSED:
        apply_transition(sheet.panel, "reopen_scoring", actor=None, reason=reason)
    return sheet


@transaction.atomic
def sheet_reinstate(*, panel_id: int, sheet_id: int, actor, reason: str) -> ScoreSheet:
    """The chair lifts a declared recusal (recused -> not_started); an own-agency recusal stands."""
    sheet = _chair_sheet(panel_id, sheet_id)
    if sheet.item.agency_id is not None and sheet.member.user.agency_id == sheet.item.agency_id:
        raise TransitionNotAllowed(_("委員與受審項目同機關，必須迴避。"), code=Code.OWN_AGENCY_RECUSAL)
    apply_transition(sheet, "reinstate", actor=actor, reason=reason, update_fields=["recusal_reason", "updated_at"])
    return sheet


@transaction.atomic
def sheet_reassign(*, panel_id: int, sheet_id: int, actor, to_member_id: int, reason: str) -> ScoreSheet:
    """The chair gives a recused member's item to another member (typically a reserve): a new sheet."""
    sheet = _chair_sheet(panel_id, sheet_id)
    if not any(m.user_id == getattr(actor, "pk", None) and m.is_chair for m in sheet.panel.members.all()):
        raise PermissionDenied()
    if sheet.status != ScoreSheet.Status.RECUSED:
        raise TransitionNotAllowed(_("只有迴避的評分可以改派。"))
    try:
        member = PanelMember.objects.select_related("user").get(pk=to_member_id, panel_id=panel_id)
    except PanelMember.DoesNotExist as exc:
        raise ValidationError({"member": [_("此委員不在本審查會。")]}) from exc
    if member.user.agency_id is not None and member.user.agency_id == sheet.item.agency_id:
        raise ValidationError({"member": [_("此委員與受審項目同機關，須迴避。")]})
    if ScoreSheet.objects.filter(item=sheet.item, member=member).exists():
        raise Conflict(_("此委員已有該項目的評分表單。"), code=Code.DUPLICATE_SHEET)
    new_sheet = ScoreSheet(panel_id=panel_id, item=sheet.item, member=member)
    new_sheet.full_clean()
    new_sheet.save()
    # A sheet created for its new member, not a transition of an existing one: logged from no state.
    log_event(
        new_sheet,
        "reassign",
        source="",
        target=new_sheet.status,
        actor=actor,
        reason=reason or _("由 %(member)s 改派") % {"member": sheet.member},
    )
    return new_sheet


@transaction.atomic
def panel_close(*, panel_id: int, actor) -> Panel:
    """scoring -> closed: scoring ends and the panel's scores become visible to its members."""
    panel = Panel.objects.get(pk=panel_id)
    apply_transition(panel, "close", actor=actor)
    return panel


@transaction.atomic
def tie_resolve(*, panel_id: int, actor, item_ids: list[int], reason: str) -> TieResolution:
    """The chair orders items tied across a quota boundary (best first); logged and needed to finalise."""
    panel = Panel.objects.prefetch_related("members").get(pk=panel_id)
    if not any(m.user_id == getattr(actor, "pk", None) and m.is_chair for m in panel.members.all()):
        raise PermissionDenied()
    if panel.status == Panel.Status.FINALISED:
        raise TransitionNotAllowed(_("結果已確定。"))
    if not reason.strip():
        raise ValidationError({"reason": [_("請說明排序理由。")]})
    outcome = selectors.panel_outcome(panel)
    tie = next((t for t in outcome.ties if set(t.item_ids) == set(item_ids)), None)
    if tie is None or len(item_ids) != len(set(item_ids)):
        raise ValidationError({"item_ids": [_("這些項目不是一組待決的同分並列。")]})
    resolution = TieResolution(panel=panel, item_ids=list(item_ids), reason=reason, resolved_by=actor)
    resolution.full_clean()
    resolution.save()
    return resolution


@transaction.atomic
def panel_finalise(*, panel_id: int, actor) -> Panel:
    """closed -> finalised: ranks and grades saved and locked. 409 `unresolved_ties` lists what the chair must
    order first."""
    require(actor, "reviews.finalise_panel")
    panel = Panel.objects.select_for_update().get(pk=panel_id)
    if panel.status != Panel.Status.CLOSED:
        raise TransitionNotAllowed(_("目前狀態「%(state)s」不允許此操作。") % {"state": panel.get_status_display()})
    evaluation = selectors.panel_evaluation(panel)
    outcome, items = evaluation.outcome, evaluation.items
    if outcome.ties:
        raise Conflict(
            _("尚有跨越名額界線的同分並列，須由召集人排序後才能確定結果。"),
            code=Code.UNRESOLVED_TIES,
            extra={"ties": [{"grade": t.grade, "seats": t.seats, "items": t.item_ids} for t in outcome.ties]},
        )
    apply_transition(panel, "finalise", actor=actor)
    member_letters = selectors.member_letters(panel)
    ItemResult.objects.filter(panel=panel).delete()
    copy_rows(
        ItemResult,
        ["panel", "item", "score", "rank", "grade", "sheet_count", "reviewer_totals"],
        (
            (
                panel.pk,
                r.item_id,
                r.score,
                r.rank,
                r.grade,
                items[r.item_id].sheet_count,
                [[member_letters[m], str(t)] for m, t in sorted(items[r.item_id].totals_by_member.items())],
            )
            for r in outcome.ranked
        ),
    )
    return panel


# ---------------------------------------------------------------- adoption (參採)


@transaction.atomic
def adoptions_request(
    *, subject: models.Model, agency_ids: list[int], due_date: datetime.date, actor, title: str | None = None
) -> list[Adoption]:
    """Ask each agency whether it adopts `subject` (an awarded proposal, a thesis), answer due by `due_date`: one
    pending Adoption per agency. The caller moves its subject (its own `forward` transition) in the same
    transaction. 409 `adoption_already_requested` for an agency already asked about it."""
    wanted = set(agency_ids)
    agencies = list(Agency.objects.filter(pk__in=wanted, active=True).order_by("pk"))
    if not wanted or len(agencies) != len(wanted):
        raise ValidationError({"agencies": [_("請選擇有效的受文機關。")]})
    require(actor, "reviews.request_adoption")
    subject_type = ContentType.objects.get_for_model(subject)
    asked = Adoption.objects.filter(subject_type=subject_type, subject_id=subject.pk, agency__in=agencies)
    already = [str(a.agency) for a in asked.select_related("agency")]
    if already:
        raise Conflict(
            _("已轉請下列機關參採：%(agencies)s") % {"agencies": "、".join(already)},
            code=Code.ADOPTION_ALREADY_REQUESTED,
        )
    adoptions = [
        Adoption(
            subject_type=subject_type,
            subject_id=subject.pk,
            title=(title if title is not None else str(subject))[:300],
            agency=agency,
            due_date=due_date,
        )
        for agency in agencies
    ]
    for adoption in adoptions:
        adoption.full_clean()
    # The unique (subject, agency) constraint still stops a request racing this one.
    return Adoption.objects.bulk_create(adoptions)


@transaction.atomic
def adoption_respond(
    *, adoption_id: int, actor, response: str, reason: str, subject_model: type[models.Model] | None = None
) -> Adoption:
    """pending -> answered: the agency adopts, partly adopts or declines, with the reason (a clerk or head of the
    agency asked, or their substitute). `subject_model` limits it to one process's questions (404 otherwise); the
    caller decides what an answer means for its subject."""
    if response not in Adoption.Response.values:
        raise ValidationError({"response": [_("回復須為 adopt、partial 或 decline。")]})
    if not reason.strip():
        raise ValidationError({"reason": [_("請說明理由。")]})
    adoption = selectors.adoption_for_update(adoption_id=adoption_id, viewer=actor, subject_model=subject_model)
    apply_transition(
        adoption,
        "respond",
        actor=actor,
        reason=reason,
        kwargs={"response": response, "reason": reason, "by": actor, "at": timezone.now()},
        update_fields=["response", "reason", "answered_by", "answered_at"],
    )
    return adoption
