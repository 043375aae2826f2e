"""Shared start-up for the benchmarks: Django on the test settings' PostgreSQL database (`rdec`), migrated."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workflow_site.settings.test")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def raw_delete(queryset) -> None:
    """DELETE without Django's collector, which visits every model pointing here, even one whose app is still
    unmigrated in `rdec`; the database's own foreign keys still refuse to orphan anything."""
    queryset._raw_delete(queryset.db)
