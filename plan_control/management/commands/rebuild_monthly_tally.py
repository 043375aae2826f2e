from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from plan_control.monitoring.tally import monthly_tally_rebuild, tally_years


class Command(BaseCommand):
    help = (
        "Recompute the monthly tally behind the monthly analysis from the plans and reports: after data was "
        "written around the services (COPY, SQL by hand). All years unless --year is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, help="the ROC year (e.g. 115); every year when omitted")

    def handle(self, *args, year=None, **options):
        for each in [year] if year is not None else tally_years():
            rows = monthly_tally_rebuild(year=each)
            self.stdout.write(_("%(year)d年度月分析統計已重建：%(rows)d 筆") % {"year": each, "rows": rows})
