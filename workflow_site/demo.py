"""Demo data for `make run`: each app registers a seeder in its AppConfig.ready(); `seed_demo` runs them.

Seeders run in registration order (accounts first, as INSTALLED_APPS lists it), must be idempotent and
return lines to print (what was created). After them `seed_demo` prints the demo logins, from the one lister
registered (`register_logins`, by accounts): every demo user, with its password and roles, on every run.

A finished round of the demo (民國107年) is played through its services as on the days it happened
(`played_on`), so what they stamp with "now" (created, submitted, the transition log, the notices) is dated in
that year, not on the day the demo was loaded.
"""

import datetime
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.utils import timezone

_seeders: list[tuple[str, Callable[[], list[str]]]] = []
_logins: list[Callable[[], list[str]]] = []


def register(name: str, seeder: Callable[[], list[str]]) -> None:
    if all(existing != name for existing, _ in _seeders):
        _seeders.append((name, seeder))


def seeders() -> list[tuple[str, Callable[[], list[str]]]]:
    return list(_seeders)


def register_logins(lister: Callable[[], list[str]]) -> None:
    """`lister() -> lines`: every demo login (username, password, roles), printed after all the seeders ran."""
    if lister not in _logins:
        _logins.append(lister)


def login_lines() -> list[str]:
    return [line for lister in _logins for line in lister()]


@contextmanager
def played_on(day: datetime.date, hour: int = 9) -> Iterator[None]:
    """Run the block as on `day` at `hour` (Asia/Taipei), the clock ticking from there.

    Demo data only: time-machine (installed from requirements.lock with the rest of `make run`) moves every
    clock Python reads, `timezone.now()` and `date.today()` alike, so the services need no date arguments.
    """
    import time_machine

    moment = timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))
    with time_machine.travel(moment, tick=True):
        yield
