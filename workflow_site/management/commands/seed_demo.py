from django.core.management.base import BaseCommand

from workflow_site.demo import seeders


class Command(BaseCommand):
    help = "Load the demo data of every app (idempotent): agencies, users, a 2018-like proposal round, ..."

    def handle(self, *args, **options):
        for _name, seed in seeders():
            for line in seed():
                self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS("示範資料已就緒 / demo data ready"))
