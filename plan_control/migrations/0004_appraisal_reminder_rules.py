from django.db import migrations

RULES = [
    ("plan_control.self_assessment", "年終考核自評提醒（機關承辦人）", [-5, -1, 0, 1], 2),
    ("plan_control.appraisal_review", "年終考核複核提醒（研考會承辦）", [-3, 0, 1], 2),
]


def forwards(apps, schema_editor):
    ReminderRule = apps.get_model("notifications", "ReminderRule")
    for kind, name, offsets, escalate_after in RULES:
        if not ReminderRule.objects.filter(kind=kind).exists():
            ReminderRule.objects.create(
                kind=kind, name=name, offsets=offsets, channels=["email", "in_app"], escalate_after=escalate_after
            )


def backwards(apps, schema_editor):
    apps.get_model("notifications", "ReminderRule").objects.filter(kind__in=[r[0] for r in RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("plan_control", "0003_appraisal"), ("notifications", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
