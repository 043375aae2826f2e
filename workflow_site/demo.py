"""Demo data for `make run`: each app registers a seeder in its AppConfig.ready(); `seed_demo` runs them.

Seeders run in registration order (accounts first, as INSTALLED_APPS lists it), must be idempotent and
return lines to print (the demo logins, what was created).
"""

from collections.abc import Callable

_seeders: list[tuple[str, Callable[[], list[str]]]] = []


def register(name: str, seeder: Callable[[], list[str]]) -> None:
    if all(existing != name for existing, _ in _seeders):
        _seeders.append((name, seeder))


def seeders() -> list[tuple[str, Callable[[], list[str]]]]:
    return list(_seeders)
