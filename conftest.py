import pytest

pytest_plugins = ["tests.fixtures.celery_worker", "tests.fixtures.browser", "tests.fixtures.smtp"]


@pytest.fixture(scope="session", autouse=True)
def _resolve_urlconf_once():
    """viewflow builds its URL tree lazily; resolve it once before any test reverses a viewflow URL."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def make_user(db):
    """`make_user("agency_head", agency=...)`: a user holding the given roles."""
    from accounts.tests.factories import UserFactory

    def make(*roles: str, **kwargs):
        return UserFactory(roles=list(roles), **kwargs)

    return make
