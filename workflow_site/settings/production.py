"""Production: everything from the environment; `manage.py check --deploy` passes with no warnings.

Deployment checklist: https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/
"""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

DEBUG = False
if not os.environ.get("DJANGO_SECRET_KEY"):  # required: no default (read as is, see base.py)
    raise ImproperlyConfigured("Set the DJANGO_SECRET_KEY environment variable.")
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
# Links in e-mails sent by the worker (no request to learn the address from): the public address.
SITE_URL = env("SITE_URL", default=f"https://{ALLOWED_HOSTS[0]}")
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# HTTPS is terminated at the reverse proxy, which sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Behind that proxy every connection comes from it: the sign-in lockout and the API throttles count the client
# address it appends to X-Forwarded-For (README "Security"). Without this, one address's lockout would lock out all.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1)
REST_FRAMEWORK = {**REST_FRAMEWORK, "NUM_PROXIES": TRUSTED_PROXY_COUNT or None}  # noqa: F405
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
# https://docs.djangoproject.com/en/5.2/ref/middleware/#http-strict-transport-security
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# The API schema and its Swagger/Redoc pages for signed-in users only (README "Security").
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=False)
