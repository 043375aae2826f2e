"""Every write to accounts data. Functions named <entity>_<action>, keyword-only, atomic, full_clean() first."""

from __future__ import annotations

import datetime

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow_site import notices
from workflow_site.errors import NotFound, PermissionDenied
from workflow_site.permissions import require
from workflow_site.roc_calendar.roc import format_roc_date
from workflow_site.transitions import apply_transition, log_event

from . import delegation_checks
from .models import Agency, Delegation, User
from .roles import ROLE_CODES, Role, is_rdec_staff, user_roles


def _set_roles(user: User, roles: list[str]) -> None:
    unknown = sorted(set(roles) - ROLE_CODES)
    if unknown:
        raise ValidationError({"roles": [_("未知的角色代碼：%(codes)s") % {"codes": "、".join(unknown)}]})
    # get_or_create: the groups come from a data migration, but a flushed test database has none.
    user.groups.set([Group.objects.get_or_create(name=role)[0] for role in sorted(set(roles))])
    user.__dict__.pop("_role_codes", None)


@transaction.atomic
def agency_create(
    *,
    actor,
    code: str,
    name: str,
    kind: str,
    name_en: str = "",
    parent: Agency | None = None,
    active: bool = True,
) -> Agency:
    """Create an agency (admin only)."""
    require(actor, "accounts.manage_agencies")
    agency = Agency(code=code, name=name, name_en=name_en, kind=kind, parent=parent, active=active)
    agency.full_clean()
    agency.save()
    return agency


@transaction.atomic
def agency_update(*, actor, agency_id: int, **fields) -> Agency:
    """Update an agency's fields (admin only)."""
    require(actor, "accounts.manage_agencies")
    agency = Agency.objects.select_for_update().get(pk=agency_id)
    allowed = {"code", "name", "name_en", "kind", "parent", "active"}
    for key, value in fields.items():
        if key not in allowed:
            raise TypeError(f"agency_update does not change {key}")
        setattr(agency, key, value)
    agency.full_clean()
    agency.save(update_fields=list(fields) or None)
    return agency


@transaction.atomic
def user_create(
    *,
    actor,
    username: str,
    password: str,
    email: str = "",
    display_name: str = "",
    agency: Agency | None = None,
    roles: list[str] | None = None,
    is_active: bool = True,
) -> User:
    """Create a user with roles (admin only); the password must pass the validators."""
    require(actor, "accounts.manage_users")
    user = User(username=username, email=email, display_name=display_name, agency=agency, is_active=is_active)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    user.full_clean()
    user.save()
    _set_roles(user, roles or [])
    return user


@transaction.atomic
def user_update(*, actor, user_id: int, roles: list[str] | None = None, password: str | None = None, **fields) -> User:
    """Update a user's profile, roles or password (admin only)."""
    require(actor, "accounts.manage_users")
    # Locks the row so two admins editing the same account do not interleave role and profile changes.
    user = User.objects.select_for_update().get(pk=user_id)
    allowed = {"username", "email", "display_name", "agency", "is_active"}
    for key, value in fields.items():
        if key not in allowed:
            raise TypeError(f"user_update does not change {key}")
        setattr(user, key, value)
    update_fields = list(fields)
    if password is not None:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from exc
        user.set_password(password)
        update_fields.append("password")
    user.full_clean()
    if update_fields:
        user.save(update_fields=update_fields)
    if roles is not None:
        _set_roles(user, roles)
    return user


# Who may stand in for whom (職務代理人): for each role of the principal that can be delegated, the roles a
# substitute may hold to do that work. A principal's other roles (reviewer, applicant) are personal and never pass.
DELEGABLE_WORK: dict[str, frozenset[str]] = {
    Role.AGENCY_CLERK: frozenset({Role.AGENCY_CLERK, Role.AGENCY_HEAD}),
    Role.AGENCY_HEAD: frozenset({Role.AGENCY_HEAD, Role.AGENCY_CLERK}),
    Role.RDEC_OFFICER: frozenset({Role.RDEC_OFFICER, Role.RDEC_SUPERVISOR}),
    Role.RDEC_SUPERVISOR: frozenset({Role.RDEC_SUPERVISOR, Role.RDEC_OFFICER}),
    Role.ADMIN: frozenset({Role.ADMIN}),
}


def _delegation_refusals(*, actor, user: User, substitute: User, starts, reason: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if starts and starts < timezone.localdate():
        errors.setdefault("starts", []).append(_("代理起日不得早於今日。"))
    principal_roles = user_roles(user)
    substitute_roles = user_roles(substitute)
    work = [role for role in sorted(principal_roles) if role in DELEGABLE_WORK]
    if not work:
        errors.setdefault("user", []).append(_("此使用者的角色不得指定職務代理人。"))
    elif any(not (DELEGABLE_WORK[role] & substitute_roles) for role in work):
        errors.setdefault("substitute", []).append(_("代理人的角色無法執行請假人的業務。"))
    if is_rdec_staff(user):
        same_agency = is_rdec_staff(substitute)
    else:
        same_agency = bool(user.agency_id) and user.agency_id == substitute.agency_id
    if not same_agency:
        if Role.RDEC_SUPERVISOR not in user_roles(actor):
            errors.setdefault("substitute", []).append(_("代理人必須與請假人同一機關。"))
        elif not (reason or "").strip():
            errors.setdefault("reason", []).append(_("跨機關指定職務代理人須填寫事由。"))
    messages = delegation_checks.refusals(substitute, user)
    if messages:
        errors.setdefault("substitute", []).extend(messages)
    return errors


def delegation_validate(
    *, actor, user: User, substitute: User, starts: datetime.date, ends: datetime.date, reason: str
) -> Delegation:
    """The unsaved delegation `delegation_create` would write, or PermissionDenied / ValidationError by field
    (the admin form asks this first so that a refusal shows on the form)."""
    if actor is not None:
        actor_roles = user_roles(actor)
        allowed = (
            actor.pk == user.pk
            or Role.ADMIN in actor_roles
            or Role.RDEC_SUPERVISOR in actor_roles
            or (Role.AGENCY_HEAD in actor_roles and actor.agency_id and actor.agency_id == user.agency_id)
        )
        if not allowed:
            raise PermissionDenied()
    delegation = Delegation(user=user, substitute=substitute, starts=starts, ends=ends, reason=reason, created_by=actor)
    errors: dict[str, list[str]] = {}
    try:
        delegation.full_clean()
    except ValidationError as exc:
        errors = {field: list(messages) for field, messages in exc.message_dict.items()}
    if actor is not None and user.pk and substitute.pk and user.pk != substitute.pk:
        for field, messages in _delegation_refusals(
            actor=actor, user=user, substitute=substitute, starts=starts, reason=reason
        ).items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return delegation


@transaction.atomic
def delegation_create(
    *, actor, user: User, substitute: User, starts: datetime.date, ends: datetime.date, reason: str
) -> Delegation:
    """Name an acting substitute for `user` between two dates.

    Who may create (else 403): the user themself, their agency head, an RDEC supervisor or an admin
    (`actor=None`, the system, is trusted and bypasses the rules below; only seeders and data fixes use it).

    The substitute must (else 400, `{field: [message]}`):
    - start today or later (Asia/Taipei): no backdated start (`starts`);
    - do the principal's work, per `DELEGABLE_WORK` (`substitute`):

      principal role    substitute holds one of
      agency_clerk      agency_clerk, agency_head
      agency_head       agency_head, agency_clerk
      rdec_officer      rdec_officer, rdec_supervisor
      rdec_supervisor   rdec_supervisor, rdec_officer
      admin             admin
      (reviewer and applicant are personal: a user with no delegable role gets no substitute, `user`);

    - belong to the principal's agency (for RDEC staff: be RDEC staff), unless an RDEC supervisor creates it with a
      reason (`substitute`, `reason`);
    - pass every check other apps registered in `accounts.delegation_checks` (reviews: not a reviewer on a panel
      still judging the principal's agency) (`substitute`).

    The creation is logged (TransitionLog "create", "" -> in_force), and the principal and the substitute are
    notified (in the system and by e-mail, after the commit).
    """
    delegation = delegation_validate(
        actor=actor, user=user, substitute=substitute, starts=starts, ends=ends, reason=reason
    )
    delegation.save()
    log_event(delegation, "create", source="", target=delegation.status, actor=actor, reason=reason)
    _notify_delegation(delegation, actor, revoked=False)
    return delegation


def _notify_delegation(delegation: Delegation, actor, *, revoked: bool) -> None:
    """Tell both people: the substitute gains (or loses) the principal's rights, the principal learns who acts."""
    principal, substitute = delegation.user, delegation.substitute
    by = str(actor) if actor is not None else _("系統")
    period = _("%(starts)s 至 %(ends)s") % {
        "starts": format_roc_date(delegation.starts),
        "ends": format_roc_date(delegation.ends),
    }
    facts = {"by": by, "principal": principal, "substitute": substitute, "period": period, "reason": delegation.reason}
    if revoked:
        subject = _("【職務代理】%(substitute)s 代理 %(principal)s 職務（%(period)s）已撤銷") % facts
        to_substitute = to_principal = (
            _("%(by)s 已撤銷 %(substitute)s 於 %(period)s 代理 %(principal)s 職務的指定，即日起不再以其權限辦理。")
            % facts
        )
    else:
        subject = _("【職務代理】%(substitute)s 將於 %(period)s 代理 %(principal)s 的職務") % facts
        to_substitute = (
            _(
                "%(by)s 指定您於 %(period)s 代理 %(principal)s 的職務（事由：%(reason)s）。代理期間您可以其權限辦理其"
                "業務，其提醒通知也會寄給您。"
            )
            % facts
        )
        to_principal = (
            _(
                "%(by)s 指定 %(substitute)s 於 %(period)s 代理您的職務（事由：%(reason)s）。如非您所知悉，"
                "請洽單位主管或研考會。"
            )
            % facts
        )
    notices.send_each(
        [
            notices.Notice((substitute.pk,), subject, to_substitute, delegation, "/"),
            notices.Notice((principal.pk,), subject, to_principal, delegation, "/"),
        ]
    )


@transaction.atomic
def delegation_revoke(*, delegation_id: int, actor, reason: str = "") -> Delegation:
    """Transition in_force -> revoked; the substitute loses the rights at once; both people are notified."""
    try:
        delegation = Delegation.objects.select_related("user", "substitute").get(pk=delegation_id)
    except Delegation.DoesNotExist as exc:
        raise NotFound() from exc
    apply_transition(delegation, "revoke", actor=actor, reason=reason)
    _notify_delegation(delegation, actor, revoked=True)
    return delegation
