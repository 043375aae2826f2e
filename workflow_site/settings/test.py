"""pytest: PostgreSQL and Redis on loopback (see the Makefile), fast hashing, in-memory mail."""

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = "test-only-not-secret"
DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/rdec")}
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/15")
# Tests that kill a worker shorten this so the held task comes back within seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    # kombu sweeps for expired unacknowledged messages every interval x throttle seconds (100 by default).
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# In-memory mail in the test process; a worker under test gets the SMTP backend and a real server's port.
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
# A deadline source over a real model, so the reminder engine has something due before the domain apps exist.
INSTALLED_APPS = [*INSTALLED_APPS, "tests.deadline_fixture"]  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LANGUAGE_CODE = "zh-hant"
# The suite signs in and calls the API far faster than anyone would: throttle tests set their own rates.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"anon": "100000/minute", "user": "100000/minute", "auth_token": "100000/minute"},
}
