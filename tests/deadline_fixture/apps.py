"""A deadline source for the notification tests, registered in the test settings only.

No domain app registers a deadline yet when the reminder engine is built, so the tests give it one over a
real model: an acting substitution (accounts.Delegation) "falls due" on its end date, its principal is the
recipient, and revoking it settles the item. Registered in the app registry so a real Celery worker sees it.
"""

from django.apps import AppConfig


class DeadlineFixtureConfig(AppConfig):
    name = "tests.deadline_fixture"
    label = "deadline_fixture"

    def ready(self) -> None:
        from notifications import registry

        from .source import SOURCE

        registry.register(SOURCE)
