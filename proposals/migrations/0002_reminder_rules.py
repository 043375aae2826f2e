from django.db import migrations

RULES = [
    ("proposals.submission", "提案送件期限提醒（承辦人）", [-3, 0], None),
    ("proposals.sign_off", "提案待核定提醒（機關主管）", [-2, 0], None),
    ("proposals.adoption", "參採回復期限提醒", [-3, 0, 1], 3),
]


def create_rules(apps, schema_editor):
    ReminderRule = apps.get_model("notifications", "ReminderRule")
    for kind, name, offsets, escalate_after in RULES:
        if not ReminderRule.objects.filter(kind=kind).exists():
            ReminderRule.objects.create(
                kind=kind, name=name, offsets=offsets, channels=["email", "in_app"], escalate_after=escalate_after
            )


def remove_rules(apps, schema_editor):
    apps.get_model("notifications", "ReminderRule").objects.filter(kind__in=[r[0] for r in RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("proposals", "0001_initial"), ("notifications", "0001_initial")]
    operations = [migrations.RunPython(create_rules, remove_rules)]
