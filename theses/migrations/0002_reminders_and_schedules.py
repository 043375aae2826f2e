from django.db import migrations

MARK_OVERDUE = "theses.tasks.mark_overdue"
PURGE_EXPIRED = "theses.tasks.purge_expired"
# The review deadline is reminded by reviews.scoring's rule: the call's panels carry it as their scoring deadline.
RULES = [
    ("theses.application", "學位論文獎補助申請期限提醒（申請人）", [-5, -1, 0], None),
    ("theses.final_due", "補助論文完稿繳交提醒（申請人）", [-30, -7, -1], None),
    # To RDEC's officers the working day after the due date; a supervisor hears of it two weeks later.
    ("theses.overdue", "補助論文逾期未繳通知（研考會承辦）", [1], 10),
]


def forwards(apps, schema_editor):
    # Database rows, editable in the admin; beat's database scheduler picks up changes without a restart.
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    # Just after midnight: a thesis due yesterday is overdue before anyone starts work.
    after_midnight, _ = CrontabSchedule.objects.get_or_create(
        minute="15", hour="0", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Taipei"
    )
    PeriodicTask.objects.get_or_create(
        name="補助論文逾期未繳標記", defaults={"task": MARK_OVERDUE, "crontab": after_midnight}
    )
    at_night, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Taipei"
    )
    PeriodicTask.objects.get_or_create(
        name="學位論文未獲補助申請資料屆期刪除", defaults={"task": PURGE_EXPIRED, "crontab": at_night}
    )
    ReminderRule = apps.get_model("notifications", "ReminderRule")
    for kind, name, offsets, escalate_after in RULES:
        if not ReminderRule.objects.filter(kind=kind).exists():
            ReminderRule.objects.create(
                kind=kind, name=name, offsets=offsets, channels=["email", "in_app"], escalate_after=escalate_after
            )


def backwards(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task__in=[MARK_OVERDUE, PURGE_EXPIRED]).delete()
    apps.get_model("notifications", "ReminderRule").objects.filter(kind__in=[r[0] for r in RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("theses", "0001_initial"),
        ("notifications", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
