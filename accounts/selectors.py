"""Reads of accounts data that views, the API and other apps use."""

from __future__ import annotations

import datetime

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from .models import Agency, Delegation, User
from .roles import AGENCY_STAFF, user_roles


def acting_principals(user, *, on: datetime.date | None = None) -> list[User]:
    """Users whose rights `user` holds today as their acting substitute (職務代理人); cached on the user object."""
    if not getattr(user, "is_authenticated", False):
        return []
    day = on or timezone.localdate()
    cache = user.__dict__.setdefault("_principals_cache", {})
    if day not in cache:
        cache[day] = [
            d.user
            for d in Delegation.objects.filter(
                substitute=user,
                status=Delegation.Status.IN_FORCE,
                starts__lte=day,
                ends__gte=day,
                user__is_active=True,
            )
            .select_related("user")
            .prefetch_related("user__groups")
        ]
    return cache[day]


def agency_list() -> QuerySet[Agency]:
    return Agency.objects.select_related("parent").order_by("code")


def user_list() -> QuerySet[User]:
    from django.contrib.auth.models import Group

    return (
        User.objects.select_related("agency")
        .prefetch_related(Prefetch("groups", queryset=Group.objects.order_by("name")))
        .order_by("username")
    )


def delegation_get(*, delegation_id: int) -> Delegation:
    return Delegation.objects.select_related("user", "substitute").get(pk=delegation_id)


def delegations_received(user, *, on: datetime.date | None = None) -> QuerySet[Delegation]:
    """Delegations naming `user` as substitute that are in force today or later."""
    day = on or timezone.localdate()
    return (
        Delegation.objects.filter(substitute=user, status=Delegation.Status.IN_FORCE, ends__gte=day)
        .select_related("user", "user__agency")
        .order_by("starts")
    )


def delegation_list(*, viewer) -> QuerySet[Delegation]:
    """Delegations `viewer` may see: those they gave or received, those of their agency if head, all if admin or
    RDEC supervisor (who may create them across agencies, and so must see and end them)."""
    from django.db.models import Q

    from .roles import Role, user_roles

    qs = Delegation.objects.select_related("user", "substitute").order_by("-starts", "-pk")
    roles = user_roles(viewer)
    if Role.ADMIN in roles or Role.RDEC_SUPERVISOR in roles:
        return qs
    visible = Q(user=viewer) | Q(substitute=viewer)
    if Role.AGENCY_HEAD in roles and viewer.agency_id:
        visible |= Q(user__agency_id=viewer.agency_id)
    return qs.filter(visible)


def agency_ids_acting(user) -> set[int]:
    """The user's agency, and those of the people they currently stand in for (職務代理)."""
    ids = {user.agency_id} if user.agency_id else set()
    return ids | {p.agency_id for p in acting_principals(user) if p.agency_id}


def agency_ids_staffed(user) -> set[int]:
    """The agencies for which `user` works as agency staff (clerk or head), by their own role or as the acting
    substitute of someone who holds one. A reviewer from a bureau acting for a clerk of another agency gets that
    agency, not their own; an applicant gets none."""
    ids = {user.agency_id} if user.agency_id and AGENCY_STAFF & user_roles(user) else set()
    return ids | {p.agency_id for p in acting_principals(user) if p.agency_id and AGENCY_STAFF & user_roles(p)}


def is_agency_staff(user) -> bool:
    """Whether `user` acts as agency staff today, in their own right or for a principal."""
    return bool(AGENCY_STAFF & user_roles(user)) or any(AGENCY_STAFF & user_roles(p) for p in acting_principals(user))


def users_by_agency(agency_ids, role: str) -> dict[int, tuple[int, ...]]:
    """Active users holding `role`, by agency, for these agencies: one query (the reminder sources' recipients)."""
    people: dict[int, list[int]] = {}
    for pk, agency_id in User.objects.filter(
        is_active=True, groups__name=role, agency_id__in=set(agency_ids)
    ).values_list("pk", "agency_id"):
        people.setdefault(agency_id, []).append(pk)
    return {agency: tuple(pks) for agency, pks in people.items()}
