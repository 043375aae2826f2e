"""The one permission check services make before a write that is not a transition."""

from .delegation import acting_principals
from .errors import PermissionDenied


def granting_principal(actor, perm: str, obj=None):
    """Who grants `actor` `perm` (on `obj`): None when they hold it themselves (or `actor` is None, the system),
    else the person they currently stand in for (職務代理) who holds it. PermissionDenied (403) when nobody does."""
    if actor is None or actor.has_perm(perm, obj):
        return None
    for principal in acting_principals(actor):
        if principal.has_perm(perm, obj):
            return principal
    raise PermissionDenied()


def require(actor, perm: str, obj=None) -> None:
    """Raise PermissionDenied (403) unless `actor` holds `perm` (on `obj`), themselves or through someone they
    stand in for, as `transitions.resolve_actor` grants transitions."""
    granting_principal(actor, perm, obj)
