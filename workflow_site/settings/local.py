"""Developer machine: `make run`. SQLite + the file-system broker unless the environment says otherwise."""

import os

from .base import *  # noqa: F403
from .base import env

# Off by default, so that `make run` shows the site's own 404/403/500 pages as people will see them; DJANGO_DEBUG=true
# brings Django's debug pages back. Either way an error's traceback is in the console (LOGGING).
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "local-development-only-not-secret")
# Static files straight from the apps' static/ folders, without collectstatic, whether DEBUG is on or off
# (https://whitenoise.readthedocs.io/en/stable/django.html#WHITENOISE_USE_FINDERS).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# The worker's console e-mails are its output, not warnings: Celery would log whatever a task prints as
# "WARNING/ForkPoolWorker-1" lines (https://docs.celeryq.dev/en/stable/userguide/configuration.html#worker-redirect-stdouts).
CELERY_WORKER_REDIRECT_STDOUTS = False
