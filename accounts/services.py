"""Every write to accounts data. Functions named <entity>_<action>, keyword-only, atomic, full_clean() first."""

from __future__ import annotations

import datetime

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from workflow_site.errors import NotFound, PermissionDenied
from workflow_site.permissions import require
from workflow_site.transitions import apply_transition

from .models import Agency, Delegation, User
from .roles import ROLE_CODES, Role, user_roles


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


@transaction.atomic
def delegation_create(
    *, actor, user: User, substitute: User, starts: datetime.date, ends: datetime.date, reason: str
) -> Delegation:
    """Name an acting substitute for `user` between two dates: the user, their agency head or an admin may."""
    allowed = (
        actor is None
        or actor.pk == user.pk
        or Role.ADMIN in user_roles(actor)
        or (Role.AGENCY_HEAD in user_roles(actor) and actor.agency_id and actor.agency_id == user.agency_id)
    )
    if not allowed:
        raise PermissionDenied()
    delegation = Delegation(user=user, substitute=substitute, starts=starts, ends=ends, reason=reason, created_by=actor)
    delegation.full_clean()
    delegation.save()
    return delegation


@transaction.atomic
def delegation_revoke(*, delegation_id: int, actor, reason: str = "") -> Delegation:
    """Transition in_force -> revoked; the substitute loses the rights at once."""
    try:
        delegation = Delegation.objects.select_related("user").get(pk=delegation_id)
    except Delegation.DoesNotExist as exc:
        raise NotFound() from exc
    apply_transition(delegation, "revoke", actor=actor, reason=reason)
    return delegation
