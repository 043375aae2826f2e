from pathlib import Path

import environ
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from workflow_site.backups import BackupError, read_manifest, restore


class Command(BaseCommand):
    help = (
        "Replace the database and the uploaded files with a backup's (irreversible: asks first, or --yes). "
        "--database-url restores into another database instead, e.g. to check a backup."
    )

    def add_arguments(self, parser):
        parser.add_argument("backup", help="the backup folder (rdec-YYYYmmdd-HHMMSS)")
        parser.add_argument("--database-url", help="restore into this database instead of the site's")
        parser.add_argument("--media-root", help="restore the files here instead of MEDIA_ROOT")
        parser.add_argument("--yes", action="store_true", help="do not ask")

    def handle(self, *args, backup, database_url, media_root, yes, **options):
        folder = Path(backup)
        db = environ.Env.db_url_config(database_url) if database_url else connections["default"].settings_dict
        media = Path(media_root or settings.MEDIA_ROOT)
        try:
            manifest = read_manifest(folder)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        if not yes:
            answer = input(
                f"Replace database {db['NAME']} and the files under {media} with the backup of "
                f"{manifest['created_at']}? Type 'yes': "
            )
            if answer.strip() != "yes":
                raise CommandError("Not restored.")
        connections.close_all()  # no connection of ours holds locks the restore's DROPs would wait on
        try:
            restore(folder=folder, db=db, media_root=media)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Restored {manifest['created_at']} into {db['NAME']}."))
