from django.core.management.base import BaseCommand

from workflow_site.demo import login_lines, seeders


class Command(BaseCommand):
    help = (
        "Load the demo data of every app (idempotent): agencies, users, the finished 107 (2018) rounds and this "
        "year's, then print every demo login."
    )

    def handle(self, *args, **options):
        for _name, seed in seeders():
            for line in seed():
                self.stdout.write(line)
        for line in login_lines():
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS("示範資料已就緒 / demo data ready"))
