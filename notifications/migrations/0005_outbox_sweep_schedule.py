from django.db import migrations

SWEEP = "notifications.tasks.sweep_outbox"


def create_schedule(apps, schema_editor):
    # A notice whose e-mail could not be queued (broker down at the time) goes within a minute of the broker's return.
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.get_or_create(name="通知寄送補送", defaults={"task": SWEEP, "interval": every_minute})


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=SWEEP).delete()


class Migration(migrations.Migration):
    dependencies = [("notifications", "0004_notices"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
