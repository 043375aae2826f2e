"""Checks that higher apps add to the acting-substitute rule without accounts importing them.

accounts is a lower floor than the apps that know why a user may not stand in for another (reviews knows who judges
which agency). Such an app registers, in its AppConfig.ready(), a function `check(substitute, principal)` returning
the messages (possibly empty) that refuse the substitute; `accounts.services.delegation_create` runs every one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

Check = Callable[[object, object], Iterable[str]]

_CHECKS: list[Check] = []


def register(check: Check) -> None:
    """Add `check` once (ready() may run more than once in tests)."""
    if check not in _CHECKS:
        _CHECKS.append(check)


def refusals(substitute, principal) -> list[str]:
    """Every registered check's refusal messages for naming `substitute` for `principal`."""
    return [str(message) for check in _CHECKS for message in check(substitute, principal)]
