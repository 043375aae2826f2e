"""Who stands in for whom (職務代理): the ground floor asks, `accounts` answers.

Permission checks (`permissions.py`, `transitions.py`) and the home page need a user's current principals, but
`workflow_site` imports nothing above it: `accounts` registers its resolver in `AppConfig.ready()`, as the domain
apps register their deadline sources and to-do providers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import ImproperlyConfigured

_resolvers: dict[str, Callable[..., Any]] = {}


def register(*, acting_principals: Callable[..., list], delegations_received: Callable[..., Iterable]) -> None:
    """`acting_principals(user)`: users whose rights `user` holds today; `delegations_received(user)`: the
    delegations naming `user` as substitute, in force today or later (for the home page)."""
    _resolvers.update(acting_principals=acting_principals, delegations_received=delegations_received)


def _resolver(name: str) -> Callable[..., Any]:
    try:
        return _resolvers[name]
    except KeyError:  # refusing beats silently granting nobody's (or everybody's) rights
        raise ImproperlyConfigured("No delegation resolver registered: is `accounts` in INSTALLED_APPS?") from None


def acting_principals(user) -> list:
    """The users whose rights `user` currently holds as their acting substitute."""
    return _resolver("acting_principals")(user)


def delegations_received(user) -> Iterable:
    return _resolver("delegations_received")(user)
