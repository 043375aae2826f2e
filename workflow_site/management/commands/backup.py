from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from workflow_site.backups import BackupError, backup


class Command(BaseCommand):
    help = "Back up the database and the uploaded files into a new folder (default var/backups/)."

    def add_arguments(self, parser):
        parser.add_argument("--output", default=str(Path(settings.BASE_DIR) / "var" / "backups"))

    def handle(self, *args, output, **options):
        try:
            folder = backup(
                db=connections["default"].settings_dict, media_root=Path(settings.MEDIA_ROOT), output_dir=Path(output)
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(str(folder))
