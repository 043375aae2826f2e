from django.db import migrations

TASK = "workflow_site.tasks.record_worker_heartbeat"


def create_schedule(apps, schema_editor):
    # A database row, not CELERY_BEAT_SCHEDULE: the beat database scheduler would reset admin edits on restart.
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.get_or_create(
        name="背景工作程序心跳", defaults={"task": TASK, "interval": every_minute, "enabled": True}
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=TASK).delete()


class Migration(migrations.Migration):
    dependencies = [("workflow_site", "0001_initial"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
