"""The one permission check services make before a write that is not a transition."""

from .errors import PermissionDenied


def require(actor, perm: str, obj=None) -> None:
    """Raise PermissionDenied (403) unless `actor` holds `perm` (on `obj`), themselves or through someone they
    currently stand in for (職務代理, as `transitions.resolve_actor` grants transitions); None is the system."""
    from accounts.selectors import acting_principals  # accounts depends on this package

    if actor is None or actor.has_perm(perm, obj):
        return
    if not any(principal.has_perm(perm, obj) for principal in acting_principals(actor)):
        raise PermissionDenied()
