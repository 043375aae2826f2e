from django.db import migrations

SCAN = "notifications.tasks.scan_deadlines"
DIGEST = "notifications.tasks.send_daily_digests"


def create_schedules(apps, schema_editor):
    # Database rows, editable in the admin; beat's database scheduler picks up changes without a restart.
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_15, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    PeriodicTask.objects.get_or_create(name="期限掃描與提醒", defaults={"task": SCAN, "interval": every_15})
    morning, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="7", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Taipei"
    )
    PeriodicTask.objects.get_or_create(name="每日提醒摘要", defaults={"task": DIGEST, "crontab": morning})


def remove_schedules(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task__in=[SCAN, DIGEST]).delete()


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create_schedules, remove_schedules)]
