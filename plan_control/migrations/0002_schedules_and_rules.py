from django.db import migrations

TASK = "plan_control.tasks.open_monthly_report_slots"
RULES = [
    ("plan_control.report_due", "月進度填報提醒（承辦人）", [-3, 0, 1], 3),
    ("plan_control.report_returned", "退回月報修正提醒", [0, 1], None),
    ("plan_control.acceptance", "月報待審核提醒（研考會承辦）", [-1, 0], 2),
    ("plan_control.lag_alert", "計畫連續落後通知（機關首長）", [0], None),
]


def forwards(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    first_of_month, _ = CrontabSchedule.objects.get_or_create(
        minute="5", hour="0", day_of_month="1", month_of_year="*", day_of_week="*", timezone="Asia/Taipei"
    )
    PeriodicTask.objects.get_or_create(name="開啟每月進度填報", defaults={"task": TASK, "crontab": first_of_month})
    ReminderRule = apps.get_model("notifications", "ReminderRule")
    for kind, name, offsets, escalate_after in RULES:
        if not ReminderRule.objects.filter(kind=kind).exists():
            ReminderRule.objects.create(
                kind=kind, name=name, offsets=offsets, channels=["email", "in_app"], escalate_after=escalate_after
            )


def backwards(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=TASK).delete()
    apps.get_model("notifications", "ReminderRule").objects.filter(kind__in=[r[0] for r in RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("plan_control", "0001_initial"),
        ("notifications", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
