"""Every write of the thesis subsidy and award process. State changes go through workflow_site.transitions."""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import Role, user_roles
from reviews import services as review_services
from reviews.models import Adoption, Panel, ReviewItem
from workflow_site.documents import sniff_kind
from workflow_site.errors import NotFound, PermissionDenied, TransitionNotAllowed
from workflow_site.permissions import require
from workflow_site.roc_calendar.calendar import add_working_days, today
from workflow_site.roc_calendar.roc import format_roc_date
from workflow_site.site_url import site_url
from workflow_site.transitions import apply_bulk_transition, apply_transition

from . import selectors
from .errors import Code
from .models import (
    MAX_AMOUNT,
    ApplicantProfile,
    Degree,
    Kind,
    ThesisApplication,
    ThesisCall,
    ThesisDocument,
    ThesisTrack,
)

logger = logging.getLogger(__name__)

APPROVED_GRADE = "approved"
AWARD_DEFENCE_YEARS = 2
DRAFT_FIELDS = ("title", "abstract", "defence_date", "publish_name")
# What an application must carry before it is sent: the plan for a subsidy, the thesis for an award.
REQUIRED_DOCUMENT = {Kind.SUBSIDY: ThesisDocument.Role.PLAN, Kind.AWARD: ThesisDocument.Role.THESIS}
S = ThesisApplication.Status


# ---- calls ---------------------------------------------------------------------------------------------------


def _validate_tracks(tracks: list[dict]) -> list[dict]:
    if not isinstance(tracks, list) or not tracks:
        raise ValidationError({"tracks": [_("請至少設定一個類別與學位的名額及金額。")]})
    seen, clean = set(), []
    for spec in tracks:
        try:
            key = (Kind(spec["kind"]), Degree(spec["degree"]))
            quota, amount = int(spec["quota"]), int(spec["amount"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError({"tracks": [_("每個類別須有 kind、degree、quota 與 amount。")]}) from exc
        if key in seen:
            raise ValidationError({"tracks": [_("同一類別與學位只能設定一次。")]})
        if not (0 < quota <= 1000) or not (0 < amount <= MAX_AMOUNT):
            raise ValidationError({"tracks": [_("名額須為 1 到 1,000，金額須為 1 到 10,000,000 元。")]})
        seen.add(key)
        clean.append({**spec, "kind": key[0], "degree": key[1], "quota": quota, "amount": amount})
    return clean


@transaction.atomic
def call_create(
    *,
    actor,
    year: int,
    title: str,
    application_deadline: datetime.date,
    review_deadline: datetime.date,
    final_due_date: datetime.date,
    tracks: list[dict],
    rubrics: dict[str, list[dict]],
    double_blind: bool = True,
    retention_days: int = 365,
    min_members: int = 3,
    min_external: int = 0,
) -> ThesisCall:
    """A year's call in planning: per kind a rubric, per kind and degree (`tracks`: kind, degree, quota, amount,
    min_score) a panel whose one grade band takes the quota at or above the minimum score."""
    require(actor, "theses.run_call")
    tracks = _validate_tracks(tracks)
    if review_deadline < application_deadline:
        raise ValidationError({"review_deadline": [_("評分截止日不得早於申請截止日。")]})
    if final_due_date < review_deadline:
        raise ValidationError({"final_due_date": [_("完稿繳交期限不得早於評分截止日。")]})
    missing = sorted({t["kind"] for t in tracks} - set(rubrics or {}))
    if missing:
        raise ValidationError({"rubrics": [_("缺少評分表：%(kinds)s") % {"kinds": "、".join(missing)}]})
    call = ThesisCall(
        year=year,
        title=title,
        application_deadline=application_deadline,
        review_deadline=review_deadline,
        final_due_date=final_due_date,
        double_blind=double_blind,
        retention_days=retention_days,
    )
    call.full_clean()
    call.save()
    rubric_ids = {
        kind: review_services.rubric_create(
            actor=actor, name=f"{title}{Kind(kind).label}評分表", criteria=rubrics[kind]
        ).pk
        for kind in {t["kind"] for t in tracks}
    }
    for spec in tracks:
        track = ThesisTrack(call=call, kind=spec["kind"], degree=spec["degree"], quota=spec["quota"])
        track.amount = spec["amount"]
        if spec.get("min_score") is not None:
            track.min_score = spec["min_score"]
        track.full_clean(exclude=["panel"])
        track.save()
        track.panel = review_services.panel_create(
            actor=actor,
            round_obj=track,
            title=f"{title}{track.get_degree_display()}{track.get_kind_display()}審查會",
            rubric_id=rubric_ids[track.kind],
            min_members=min_members,
            min_external=min_external,
            hide_agency=double_blind,
            scoring_deadline=review_deadline,
            bands=[
                {
                    "grade": APPROVED_GRADE,
                    "label": _("獲選"),
                    "quota_count": track.quota,
                    "min_score": track.min_score,
                }
            ],
        )
        track.save(update_fields=["panel"])
    return call


CALL_SETTINGS = ("title", "application_deadline", "review_deadline", "final_due_date", "double_blind", "retention_days")


@transaction.atomic
def call_update(
    *,
    call_id: int,
    actor,
    tracks: list[dict] | None = None,
    min_members: int | None = None,
    min_external: int | None = None,
    **fields,
) -> ThesisCall:
    """Change a call's settings while it is being planned (409 `call_not_configurable` once open): its own fields
    (`CALL_SETTINGS`) and its tracks' quota, amount and minimum score (`tracks`: kind, degree, quota, amount,
    min_score, for tracks it has) and its panels' rule; the panels follow its title, review deadline, double-blind
    rule and quotas."""
    require(actor, "theses.run_call")
    unknown = set(fields) - set(CALL_SETTINGS)
    if unknown:
        raise TypeError(f"call_update does not take {sorted(unknown)}")
    call = _call(call_id)
    if call.status != ThesisCall.Status.PLANNING:
        raise TransitionNotAllowed(_("本年度已開始受理申請，不能再修改設定。"), code=Code.CALL_NOT_CONFIGURABLE)
    for key, value in fields.items():
        setattr(call, key, value)
    if call.review_deadline < call.application_deadline:
        raise ValidationError({"review_deadline": [_("評分截止日不得早於申請截止日。")]})
    if call.final_due_date < call.review_deadline:
        raise ValidationError({"final_due_date": [_("完稿繳交期限不得早於評分截止日。")]})
    call.full_clean()
    call.save(update_fields=list(fields))
    existing = {(t.kind, t.degree): t for t in call.tracks.select_related("panel")}
    changes = {(spec["kind"], spec["degree"]): spec for spec in (_validate_tracks(tracks) if tracks else [])}
    if set(changes) - set(existing):
        raise ValidationError({"tracks": [_("只能修改本年度已有的類別；要增減類別請另建年度。")]})
    for key, track in existing.items():
        spec = changes.get(key)
        if spec is not None:
            track.quota, track.amount = spec["quota"], spec["amount"]
            if spec.get("min_score") is not None:
                track.min_score = spec["min_score"]
            track.full_clean(exclude=["panel"])
            track.save(update_fields=["quota", "amount", "min_score"])
        review_services.panel_update(
            panel_id=track.panel_id,
            actor=actor,
            title=f"{call.title}{track.get_degree_display()}{track.get_kind_display()}審查會",
            scoring_deadline=call.review_deadline,
            hide_agency=call.double_blind,
            **{k: v for k, v in (("min_members", min_members), ("min_external", min_external)) if v is not None},
        )
        review_services.panel_set_bands(
            panel_id=track.panel_id,
            actor=actor,
            bands=[
                {"grade": APPROVED_GRADE, "label": _("獲選"), "quota_count": track.quota, "min_score": track.min_score}
            ],
        )
    return call


def _call(call_id: int) -> ThesisCall:
    try:
        # Locks the call: call-level actions and screening queue behind each other.
        return ThesisCall.objects.select_for_update().get(pk=call_id)
    except ThesisCall.DoesNotExist as exc:
        raise NotFound() from exc


@transaction.atomic
def call_member_add(*, call_id: int, actor, kind: str, user_id: int, member_kind: str, chair: bool = False) -> int:
    """Put a reviewer on the panels of one kind (every degree of it); returns how many panels."""
    require(actor, "theses.run_call")
    call = _call(call_id)
    tracks = list(call.tracks.filter(kind=kind))
    if not tracks:
        raise ValidationError({"kind": [_("本年度沒有此類別。")]})
    for track in tracks:
        review_services.panel_member_add(
            panel_id=track.panel_id, actor=actor, user_id=user_id, kind=member_kind, is_chair=chair
        )
    return len(tracks)


@transaction.atomic
def call_open(*, call_id: int, actor) -> ThesisCall:
    """planning -> open: applicants may apply until the application deadline."""
    call = _call(call_id)
    apply_transition(call, "open", actor=actor)
    return call


def _review_title(application: ThesisApplication, double_blind: bool) -> str:
    if double_blind:
        return application.title  # no name, no university: the reviewers judge the work
    return f"{application.title}（{application.applicant}，{application.university}）"


@transaction.atomic
def call_start_review(*, call_id: int, actor) -> ThesisCall:
    """open -> reviewing: applications close; the eligible ones become their track's panel items and scoring starts
    on every panel that has items. 409 `unscreened_applications` while sent applications await screening, 409
    `panel_composition` while a panel lacks members."""
    call = _call(call_id)
    require(actor, "theses.run_call")
    waiting = call.applications.filter(status=S.SUBMITTED).count()
    if waiting:
        raise TransitionNotAllowed(
            _("尚有 %(n)d 件申請未完成資格審查。") % {"n": waiting}, code=Code.UNSCREENED_APPLICATIONS
        )
    eligible = list(call.applications.filter(status=S.ELIGIBLE).select_related("applicant").order_by("pk"))
    for track in call.tracks.all():
        mine = [a for a in eligible if (a.kind, a.degree) == (track.kind, track.degree)]
        if not mine:
            continue
        review_services.review_items_sync(
            panel_id=track.panel_id,
            actor=actor,
            subjects=[(a, _review_title(a, call.double_blind), None) for a in mine],
        )
        review_services.panel_start_scoring(panel_id=track.panel_id, actor=actor)
    apply_bulk_transition(call.applications.filter(status=S.ELIGIBLE), "start_review", actor=actor)
    apply_transition(call, "start_review", actor=actor)
    return call


@transaction.atomic
def call_decide(*, call_id: int, actor) -> ThesisCall:
    """reviewing -> decided: every panel is closed and finalised (409 `unresolved_ties` while its chair must order a
    tie at the quota line); in each track the applications graded within the quota are approved with the track's
    amount, the others rejected; scores and ranks are copied."""
    call = _call(call_id)
    require(actor, "theses.decide_call")
    content_type = ContentType.objects.get_for_model(ThesisApplication)
    for track in call.tracks.select_related("panel"):
        panel = track.panel
        if panel.status == Panel.Status.FORMING:
            continue  # no application in this track
        if panel.status == Panel.Status.SCORING:
            if not actor.has_perm("reviews.run_panel"):  # a supervisor decides; the officer ends the scoring
                raise TransitionNotAllowed(
                    _("「%(panel)s」尚在評分中，請研考會承辦先結束評分。") % {"panel": panel.title},
                    code=Code.SCORING_OPEN,
                )
            review_services.panel_close(panel_id=panel.pk, actor=actor)
        if panel.status != Panel.Status.FINALISED:
            review_services.panel_finalise(panel_id=panel.pk, actor=actor)
        item = ReviewItem.objects.filter(panel_id=panel.pk, subject_type=content_type, subject_id=OuterRef("pk"))
        in_track = call.applications.filter(status=S.IN_REVIEW, kind=track.kind, degree=track.degree)
        results = {
            "score": Subquery(item.values("result__score")[:1]),
            "rank": Subquery(item.values("result__rank")[:1]),
        }
        approved = in_track.filter(pk__in=_graded(panel.pk, content_type))
        apply_bulk_transition(
            approved, "approve", actor=actor, reason=_("評定獲選"), also_set={"amount": track.amount, **results}
        )
        apply_bulk_transition(
            call.applications.filter(status=S.IN_REVIEW, kind=track.kind, degree=track.degree),
            "reject",
            actor=actor,
            reason=_("未獲選"),
            also_set=results,
        )
    apply_transition(call, "decide", actor=actor, kwargs={"at": timezone.now()}, update_fields=["decided_at"])
    return call


def _graded(panel_id: int, content_type) -> Subquery:
    return ReviewItem.objects.filter(panel_id=panel_id, subject_type=content_type, result__grade=APPROVED_GRADE).values(
        "subject_id"
    )


@transaction.atomic
def call_close(*, call_id: int, actor) -> ThesisCall:
    """decided -> closed."""
    call = _call(call_id)
    apply_transition(call, "close", actor=actor)
    return call


# ---- applicants ------------------------------------------------------------------------------------------------


def _applicant(actor) -> ApplicantProfile:
    if Role.APPLICANT not in user_roles(actor):
        raise PermissionDenied(_("只有已註冊的申請人可以申請。"))
    profile = ApplicantProfile.objects.filter(user=actor).first()
    if profile is None:
        raise TransitionNotAllowed(_("請先填寫申請人資料。"), code=Code.NO_PROFILE)
    if profile.email_verified_at is None:
        raise TransitionNotAllowed(_("請先完成電子信箱驗證。"), code=Code.NOT_VERIFIED)
    if not profile.is_complete:  # verified, but school and degree not given yet
        raise TransitionNotAllowed(_("請先填寫申請人資料。"), code=Code.NO_PROFILE)
    return profile


# ---- self-registration -----------------------------------------------------------------------------------------

VERIFY_SALT = "theses.applicant-verify"
VERIFY_SECONDS = 2 * 24 * 60 * 60  # APPLICANT_VERIFY_SECONDS, when the settings do not say


def verify_seconds() -> int:
    """How long a verification link stays valid (`APPLICANT_VERIFY_SECONDS`, two days by default)."""
    return int(getattr(settings, "APPLICANT_VERIFY_SECONDS", VERIFY_SECONDS))


def verification_token(user) -> str:
    """A signed, timestamped token naming the account and the address it was sent to (a changed address voids it)."""
    return signing.dumps({"user": user.pk, "email": user.email}, salt=VERIFY_SALT)


def verification_url(token: str) -> str:
    return f"{site_url()}/applicants/verify/?token={token}"


def _mail_after_commit(subject: str, body: str, address: str) -> None:
    # Synchronous and after the commit: no mail for an account a rollback undid; a mail server down loses the mail
    # (logged by on_commit's robust mode), and the applicant registers again once the link has expired.
    transaction.on_commit(lambda: send_mail(subject, body, None, [address]), robust=True)


def _registration_errors(user, password: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not user.email:
        errors.setdefault("email", []).append(_("請填寫電子郵件。"))
    else:
        try:
            validate_email(user.email)
        except ValidationError:
            errors.setdefault("email", []).append(_("電子郵件格式不正確。"))
    try:
        validate_password(password, user)
    except ValidationError as exc:
        errors["password"] = exc.messages
    return errors


@transaction.atomic
def applicant_register(*, username: str, email: str, password: str, display_name: str):
    """Self-registration of a graduate student: an inactive account with the `applicant` role, and after the commit an
    e-mail with the link that activates it (valid `verify_seconds()`). 400 by field for a taken or malformed username,
    a malformed address or a weak password. An address that already belongs to a verified applicant gets a reminder
    of its account instead of a second one; the answer is the same, so it tells nobody which addresses are registered.
    Returns the new user, or None."""
    User = get_user_model()
    email = User.objects.normalize_email((email or "").strip())
    user = User(username=username, email=email, display_name=display_name.strip(), is_active=False, agency=None)
    errors = _registration_errors(user, password)
    if errors:
        raise ValidationError(errors)
    existing = (
        User.objects.filter(email__iexact=email, is_active=True, groups__name=Role.APPLICANT)
        .order_by("pk")
        .values_list("username", "email")
        .first()
    )
    if existing is not None:
        username, address = existing
        _mail_after_commit(
            _("【研考會】學位論文獎補助申請帳號"),
            _(
                "您好：\n\n有人以此電子郵件註冊學位論文獎補助申請帳號，但此信箱已註冊帳號「%(username)s」，"
                "請直接以該帳號登入；忘記密碼請洽研考會。\n\n若您並未註冊，請忽略本信。\n"
            )
            % {"username": username},
            address,
        )
        return None
    user.set_password(password)
    try:
        with transaction.atomic():  # the same username sent twice at once: the second is a 400, not a 500
            user.save()
    except IntegrityError as exc:
        raise ValidationError({"username": [_("此帳號已有人使用。")]}) from exc
    user.groups.set([Group.objects.get_or_create(name=Role.APPLICANT)[0]])
    token = verification_token(user)
    hours = verify_seconds() // 3600
    _mail_after_commit(
        _("【研考會】請驗證您的電子郵件"),
        _(
            "%(name)s 您好：\n\n感謝您註冊學位論文獎補助申請帳號「%(username)s」。請於 %(hours)d 小時內開啟下列連結，"
            "完成電子郵件驗證後即可登入申請：\n\n%(url)s\n\n驗證碼：%(token)s\n\n若您並未註冊，請忽略本信。\n"
        )
        % {
            "name": user.display_name or user.username,
            "username": user.username,
            "hours": hours,
            "url": verification_url(token),
            "token": token,
        },
        email,
    )
    return user


@transaction.atomic
def applicant_verify(*, token: str):
    """The link in the registration e-mail: the account becomes active and its profile records when the address was
    verified (the profile is created empty; the applicant fills it in before applying). 400 `token` for a forged,
    expired or already used link."""
    try:
        data = signing.loads(token, salt=VERIFY_SALT, max_age=verify_seconds())
    except signing.SignatureExpired as exc:
        raise ValidationError({"token": [_("驗證連結已逾期，請重新註冊。")]}) from exc
    except signing.BadSignature as exc:
        raise ValidationError({"token": [_("驗證連結無效。")]}) from exc
    User = get_user_model()
    # Locks the account: the same link opened twice at once verifies it once.
    user = User.objects.select_for_update().filter(pk=data.get("user")).first()
    if user is None or user.email != data.get("email") or not user.groups.filter(name=Role.APPLICANT).exists():
        raise ValidationError({"token": [_("驗證連結無效。")]})
    profile = ApplicantProfile.objects.filter(user=user).first()
    if profile is not None and profile.email_verified_at is not None:
        raise ValidationError({"token": [_("此電子郵件已完成驗證，請直接登入。")]})
    now = timezone.now()
    if profile is None:
        # Empty until the applicant fills it in (profile_set); `_applicant` refuses to apply before that.
        ApplicantProfile.objects.create(
            user=user, university="", department="", degree="", advisor="", email_verified_at=now
        )
    else:
        profile.email_verified_at = now
        profile.save(update_fields=["email_verified_at"])
    user.is_active = True
    user.save(update_fields=["is_active"])
    user.__dict__.pop("_role_codes", None)
    return user


@transaction.atomic
def profile_set(
    *,
    actor,
    university: str,
    department: str,
    degree: str,
    advisor: str,
    expected_date: datetime.date | None = None,
    defence_date: datetime.date | None = None,
) -> ApplicantProfile:
    """The applicant's own profile (school, department, degree, advisor, dates)."""
    if Role.APPLICANT not in user_roles(actor):
        raise PermissionDenied(_("只有申請人有申請人資料。"))
    profile, _created = ApplicantProfile.objects.select_for_update().get_or_create(
        user=actor, defaults={"university": university, "department": department, "degree": degree, "advisor": advisor}
    )
    profile.university, profile.department, profile.degree, profile.advisor = university, department, degree, advisor
    profile.expected_date, profile.defence_date = expected_date, defence_date
    profile.full_clean()
    profile.save()
    return profile


# ---- applications ----------------------------------------------------------------------------------------------


def _check_defence_date(kind: str, defence_date: datetime.date | None) -> None:
    if kind != Kind.AWARD:
        return
    if defence_date is None:
        raise ValidationError({"defence_date": [_("申請優良論文獎勵須填寫學位考試日。")]})
    now = today()
    # The same day two years back (28 February for a 29 February).
    earliest = datetime.date(now.year - AWARD_DEFENCE_YEARS, now.month, min(now.day, 28 if now.month == 2 else 31))
    if defence_date < earliest:
        raise ValidationError(
            {"defence_date": [_("學位考試日須在最近兩年內（%(date)s 以後）。") % {"date": format_roc_date(earliest)}]}
        )
    if defence_date > now:
        raise ValidationError({"defence_date": [_("申請優良論文獎勵須已通過學位考試。")]})


@transaction.atomic
def application_create(
    *,
    actor,
    call_id: int,
    kind: str,
    title: str,
    abstract: str,
    defence_date: datetime.date | None = None,
    publish_name: str = "",
) -> ThesisApplication:
    """An applicant drafts an application to an open call before its deadline, one per call and kind; the
    degree, school, department and advisor come from the profile. 400 by field for anything wrong."""
    profile = _applicant(actor)
    try:
        call = ThesisCall.objects.get(pk=call_id)
    except ThesisCall.DoesNotExist as exc:
        raise ValidationError({"call": [_("找不到此年度。")]}) from exc
    if call.status != ThesisCall.Status.OPEN or today() > call.application_deadline:
        raise ValidationError({"call": [_("本年度已截止收件或尚未開放申請。")]})
    if kind not in Kind.values:
        raise ValidationError({"kind": [_("未知的類別。")]})
    if not call.tracks.filter(kind=kind, degree=profile.degree).exists():
        raise ValidationError({"kind": [_("本年度未開放此類別與學位的申請。")]})
    if call.applications.filter(kind=kind, applicant=actor).exclude(status=S.WITHDRAWN).exists():
        raise ValidationError({"kind": [_("您已申請過本年度的此類別。")]})
    _check_defence_date(kind, defence_date)
    application = ThesisApplication(
        call=call,
        kind=kind,
        degree=profile.degree,
        applicant=actor,
        title=title,
        abstract=abstract,
        university=profile.university,
        department=profile.department,
        advisor=profile.advisor,
        defence_date=defence_date,
        publish_name=publish_name,
    )
    application.full_clean(validate_constraints=False)
    application.save()
    return application


def _own(application_id: int, actor) -> ThesisApplication:
    application = selectors.application_for_update(application_id=application_id, viewer=actor)
    if application.applicant_id != actor.pk:
        raise PermissionDenied(_("只有申請人本人可以辦理。"))
    return application


@transaction.atomic
def application_update(*, actor, application_id: int, **fields) -> ThesisApplication:
    """The applicant edits a draft or a returned application."""
    application = _own(application_id, actor)
    if application.status not in (S.DRAFT, S.RETURNED):
        raise TransitionNotAllowed(_("只有草稿或退回補件的申請可以修改。"), code=Code.NOT_EDITABLE)
    unknown = set(fields) - set(DRAFT_FIELDS)
    if unknown:
        raise ValidationError({key: [_("此欄位不可修改。")] for key in unknown})
    for key, value in fields.items():
        setattr(application, key, value)
    _check_defence_date(application.kind, application.defence_date)
    application.full_clean(validate_constraints=False)
    application.save(update_fields=[*fields, "updated_at"])
    return application


@transaction.atomic
def document_add(*, actor, application_id: int, role: str, upload) -> ThesisDocument:
    """A file for a draft or returned application (the final thesis goes with `application_submit_final`):
    PDF, DOCX or ODT by content, 20 MB at most."""
    application = _own(application_id, actor)
    if application.status not in (S.DRAFT, S.RETURNED):
        raise TransitionNotAllowed(_("送出後不能再上傳文件。"), code=Code.NOT_EDITABLE)
    if role not in ThesisDocument.Role.values or role == ThesisDocument.Role.FINAL:
        raise ValidationError({"role": [_("文件類別須為研究計畫、學位論文或其他證明文件。")]})
    return _store(application, role, upload, actor)


def _store(application: ThesisApplication, role: str, upload, actor) -> ThesisDocument:
    try:
        kind = sniff_kind(upload)
    except ValidationError as exc:
        raise ValidationError({"file": exc.messages}) from exc
    document = ThesisDocument(
        application=application,
        role=role,
        name=(getattr(upload, "name", "") or "file")[-255:],
        format=kind,
        size=upload.size,
        uploaded_by=actor,
    )
    document.file.save(f"{kind}.{kind}", upload, save=False)
    document.save()
    return document


@transaction.atomic
def application_submit(*, actor, application_id: int) -> ThesisApplication:
    """draft | returned -> submitted: before the deadline, with its plan (subsidy) or thesis (award)."""
    application = _own(application_id, actor)
    if today() > application.call.application_deadline:
        raise TransitionNotAllowed(_("已超過申請截止日。"), code=Code.CALL_NOT_OPEN)
    needed = REQUIRED_DOCUMENT[application.kind]
    if not application.documents.filter(role=needed).exists():
        raise ValidationError({"documents": [_("請上傳%(what)s。") % {"what": ThesisDocument.Role(needed).label}]})
    apply_transition(application, "submit", actor=actor, kwargs={"at": timezone.now()}, update_fields=["submitted_at"])
    return application


@transaction.atomic
def application_withdraw(*, actor, application_id: int, reason: str = "") -> ThesisApplication:
    """draft | returned | submitted -> withdrawn (the applicant)."""
    application = _own(application_id, actor)
    apply_transition(application, "withdraw", actor=actor, reason=reason)
    return application


@transaction.atomic
def application_screen(*, actor, application_id: int, eligible: bool, reason: str = "") -> ThesisApplication:
    """RDEC's eligibility screening: submitted -> eligible, or -> ineligible with the reason."""
    application = selectors.application_for_update(application_id=application_id, viewer=actor)
    if eligible:
        apply_transition(application, "accept_eligibility", actor=actor, reason=reason)
    else:
        if not reason.strip():
            raise ValidationError({"reason": [_("請說明資格不符的理由。")]})
        apply_transition(
            application,
            "refuse_eligibility",
            actor=actor,
            reason=reason,
            kwargs={"note": reason},
            update_fields=["note"],
        )
    return application


@transaction.atomic
def application_return(*, actor, application_id: int, note: str) -> ThesisApplication:
    """submitted -> returned: documents missing; the applicant completes and sends it again (call still open)."""
    if not note.strip():
        raise ValidationError({"note": [_("請說明需補正的文件。")]})
    application = selectors.application_for_update(application_id=application_id, viewer=actor)
    apply_transition(
        application, "return_for_documents", actor=actor, reason=note, kwargs={"note": note}, update_fields=["note"]
    )
    return application


@transaction.atomic
def application_submit_final(*, actor, application_id: int, upload) -> ThesisApplication:
    """approved | overdue -> final_submitted: the subsidised thesis, finished."""
    application = _own(application_id, actor)
    apply_transition(
        application, "submit_final", actor=actor, kwargs={"at": timezone.now()}, update_fields=["final_submitted_at"]
    )
    _store(application, ThesisDocument.Role.FINAL, upload, actor)
    return application


@transaction.atomic
def application_accept_final(*, actor, application_id: int) -> ThesisApplication:
    """final_submitted -> accepted (RDEC)."""
    application = selectors.application_for_update(application_id=application_id, viewer=actor)
    apply_transition(application, "accept_final", actor=actor)
    return application


@transaction.atomic
def application_cancel(*, actor, application_id: int, reason: str) -> ThesisApplication:
    """approved | overdue -> cancelled: RDEC withdraws the subsidy, with the reason."""
    if not reason.strip():
        raise ValidationError({"reason": [_("請說明撤銷補助的理由。")]})
    application = selectors.application_for_update(application_id=application_id, viewer=actor)
    apply_transition(application, "cancel", actor=actor, reason=reason, kwargs={"note": reason}, update_fields=["note"])
    return application


@transaction.atomic
def application_close(*, actor, application_id: int) -> ThesisApplication:
    """accepted | forwarded -> closed (RDEC)."""
    application = selectors.application_for_update(application_id=application_id, viewer=actor)
    apply_transition(application, "close", actor=actor)
    return application


@transaction.atomic(durable=True)
def applications_mark_overdue(*, on: datetime.date | None = None) -> int:
    """The system, daily: approved subsidies whose final thesis is not in after the call's due date -> overdue."""
    on = on or today()
    late = ThesisApplication.objects.filter(status=S.APPROVED, kind=Kind.SUBSIDY, call__final_due_date__lt=on)
    return apply_bulk_transition(late, "mark_overdue", actor=None, reason=_("逾期未繳交論文完稿"))


PURGEABLE = (S.REJECTED, S.INELIGIBLE, S.WITHDRAWN)
PURGED_TEXT = "（已依保存期限刪除）"


@transaction.atomic(durable=True)
def applications_purge_expired(*, now: datetime.datetime | None = None) -> int:
    """The system, daily: the personal data and files of applications that were not granted are deleted once their
    call's retention period after the decision has passed (title, abstract, school, department, advisor, the name
    to publish, every document). The row stays, emptied, for the year's counts and the log."""
    now = now or timezone.now()
    expired = [
        a
        for a in ThesisApplication.objects.filter(
            status__in=PURGEABLE, purged_at__isnull=True, call__decided_at__isnull=False
        ).select_related("call")
        if a.call.decided_at + datetime.timedelta(days=a.call.retention_days) <= now
    ]
    if not expired:
        return 0
    ids = [a.pk for a in expired]
    documents = list(ThesisDocument.objects.filter(application_id__in=ids))
    ThesisDocument.objects.filter(pk__in=[d.pk for d in documents]).delete()
    ThesisApplication.objects.filter(pk__in=ids).update(
        title=PURGED_TEXT,
        abstract="",
        university="",
        department="",
        advisor="",
        publish_name="",
        note="",
        defence_date=None,
        purged_at=now,
    )
    files = [d.file for d in documents]
    # The files go after the commit: a rollback must not leave rows pointing at deleted files.
    transaction.on_commit(lambda: [f.storage.delete(f.name) for f in files if f.name], robust=True)
    return len(ids)


def applicants_purge_unverified(*, now: datetime.datetime | None = None) -> int:
    """The system, daily: registrations whose e-mail was never verified are deleted once their link has expired
    (inactive applicant accounts that never signed in, with no verified profile). Such an account can have done
    nothing: applying needs a verified address. Registering again with the same username is then possible."""
    now = now or timezone.now()
    User = get_user_model()
    stale = User.objects.filter(
        groups__name=Role.APPLICANT,
        is_active=False,
        last_login__isnull=True,
        date_joined__lte=now - datetime.timedelta(seconds=verify_seconds()),
    ).exclude(applicant_profile__email_verified_at__isnull=False)
    deleted = User.objects.filter(pk__in=list(stale.values_list("pk", flat=True))).delete()[1]
    return deleted.get(User._meta.label, 0)


# ---- adoption of awarded theses -----------------------------------------------------------------------------

ADOPTION_RESPONSE_DAYS = 20  # working days for the agencies concerned to answer


@transaction.atomic
def application_forward(*, actor, application_id: int, agency_ids: list[int]) -> list[Adoption]:
    """approved (award) -> forwarded: each chosen agency must answer whether it adopts the thesis within 20 working
    days (reviews.adoptions_request, the same question and answer as for proposals)."""
    application = selectors.application_for_update(application_id=application_id, viewer=actor)
    apply_transition(application, "forward", actor=actor)
    return review_services.adoptions_request(
        subject=application,
        agency_ids=agency_ids,
        due_date=add_working_days(today(), ADOPTION_RESPONSE_DAYS),
        actor=actor,
        title=application.title,
    )


@transaction.atomic
def adoption_respond(*, adoption_id: int, actor, response: str, reason: str) -> Adoption:
    """pending -> answered on a thesis's adoption question (adopt / partial / decline, with the reason); the last
    answer closes the application."""
    adoption = review_services.adoption_respond(
        adoption_id=adoption_id, actor=actor, response=response, reason=reason, subject_model=ThesisApplication
    )
    # Locks the application so two agencies answering at once cannot both miss closing it.
    application = ThesisApplication.objects.select_for_update().get(pk=adoption.subject_id)
    if not application.adoptions.filter(status=Adoption.Status.PENDING).exists():
        apply_transition(application, "close", actor=None, reason=_("受文機關均已回復"))
    return application.adoptions.get(pk=adoption.pk)
