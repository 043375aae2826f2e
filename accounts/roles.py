"""The seven roles of DESIGN.md. Each is a Django Group whose name is the role code."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from workflow_site.errors import PermissionDenied


class Role(models.TextChoices):
    AGENCY_CLERK = "agency_clerk", _("機關承辦人")
    AGENCY_HEAD = "agency_head", _("機關主管")
    RDEC_OFFICER = "rdec_officer", _("研考會承辦")
    RDEC_SUPERVISOR = "rdec_supervisor", _("研考會主管")
    REVIEWER = "reviewer", _("評審委員")
    APPLICANT = "applicant", _("申請人")
    ADMIN = "admin", _("系統管理員")


ROLE_CODES = frozenset(Role.values)


def user_roles(user) -> frozenset[str]:
    """The user's role codes, read once per user object (one query) and cached on it.

    A superuser holds every `admin` right, so `admin` is always among a superuser's roles.
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_role_codes", None)
    if cached is None:
        names = {g.name for g in user.groups.all()} if user.pk else set()
        if user.is_superuser:
            names.add(Role.ADMIN)
        cached = frozenset(names & ROLE_CODES)
        user._role_codes = cached
    return cached


# Who sees and runs RDEC's side of every process: its officers and supervisors, and system administrators.
RDEC_STAFF = frozenset({Role.RDEC_OFFICER, Role.RDEC_SUPERVISOR, Role.ADMIN})
AGENCY_STAFF = frozenset({Role.AGENCY_CLERK, Role.AGENCY_HEAD})


def is_rdec_staff(user) -> bool:
    """RDEC officer, supervisor or system administrator (the one definition every app asks)."""
    return bool(RDEC_STAFF & user_roles(user))


def require_rdec_staff(user, message=None) -> None:
    """403 (workflow_site.errors.PermissionDenied) for anyone but RDEC staff."""
    if not is_rdec_staff(user):
        raise PermissionDenied(message)
