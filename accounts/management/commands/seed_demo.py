from django.core.management.base import BaseCommand

from accounts.demo import DEMO_PASSWORD, seed_accounts


class Command(BaseCommand):
    help = "Load demo agencies and users (idempotent). Later processes add their demo data here."

    def handle(self, *args, **options):
        logins = seed_accounts()
        self.stdout.write(self.style.SUCCESS("示範資料已就緒 / demo data ready"))
        self.stdout.write(f"示範帳號（密碼皆為 {DEMO_PASSWORD}）/ demo logins (password {DEMO_PASSWORD}):")
        for username, display, roles in logins:
            self.stdout.write(f"  {username:<16} {display}  [{roles}]")
