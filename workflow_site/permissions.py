"""The one permission check services make before a write that is not a transition."""

from .errors import PermissionDenied


def require(actor, perm: str, obj=None) -> None:
    """Raise PermissionDenied (403) unless `actor` holds `perm` (on `obj`); None is the system, which may."""
    if actor is not None and not actor.has_perm(perm, obj):
        raise PermissionDenied()
