import os
import subprocess
import sys
from pathlib import Path

from django.core.management.utils import get_random_secret_key

ROOT = Path(__file__).resolve().parents[2]


def deployment_environ() -> dict[str, str]:
    """This process's environment less what only tests set (the browser tests allow async-unsafe calls)."""
    return {k: v for k, v in os.environ.items() if k not in {"DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SECRET_KEY"}}


def test_production_settings_pass_check_deploy_with_no_warnings():
    env = {
        **deployment_environ(),
        "DJANGO_SETTINGS_MODULE": "workflow_site.settings.production",
        # Starts with "$" on purpose: django-environ would take it for a reference to another variable.
        "DJANGO_SECRET_KEY": "$" + get_random_secret_key() + get_random_secret_key(),
        "DJANGO_ALLOWED_HOSTS": "rdec.kcg.example.gov.tw",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/rdec",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = deployment_environ()
    env.update(
        DJANGO_SETTINGS_MODULE="workflow_site.settings.production",
        DJANGO_ALLOWED_HOSTS="rdec.kcg.example.gov.tw",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/rdec",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
