"""Build the monthly tally for the plans and reports already there (the services keep it from now on)."""

from django.db import migrations
from django.db.models import Count, F, Q

IN_CONTROL = ["in_execution", "completed"]  # selectors.ACTIVE_PLAN_STATES at the time of writing
COUNTED = ["submitted", "accepted"]  # selectors.COUNTED


def build(apps, schema_editor):
    ControlledPlan = apps.get_model("plan_control", "ControlledPlan")
    ProgressReport = apps.get_model("plan_control", "ProgressReport")
    MonthlyTally = apps.get_model("plan_control", "MonthlyTally")
    plans = {
        (year, agency_id): n
        for year, agency_id, n in ControlledPlan.objects.filter(status__in=IN_CONTROL)
        .values("year", "agency_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("year", "agency_id", "n")
    }
    counted = {
        (year, agency_id, month): (lagging, on_track)
        for year, agency_id, month, lagging, on_track in ProgressReport.objects.filter(
            status__in=COUNTED, plan__status__in=IN_CONTROL, year=F("plan__year")
        )
        .values("year", "plan__agency_id", "month")
        .annotate(n_lagging=Count("pk", filter=Q(lagging=True)), n_on_track=Count("pk", filter=Q(lagging=False)))
        .order_by()
        .values_list("year", "plan__agency_id", "month", "n_lagging", "n_on_track")
    }
    MonthlyTally.objects.bulk_create(
        (
            MonthlyTally(
                year=year,
                month=month,
                agency_id=agency_id,
                plans=n,
                lagging=counted.get((year, agency_id, month), (0, 0))[0],
                on_track=counted.get((year, agency_id, month), (0, 0))[1],
            )
            for (year, agency_id), n in plans.items()
            for month in range(1, 13)
        ),
        batch_size=5000,
    )


class Migration(migrations.Migration):
    dependencies = [("plan_control", "0006_monthly_tally")]

    operations = [migrations.RunPython(build, migrations.RunPython.noop)]
