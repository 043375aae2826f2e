from django.db import migrations

# The pre-budget review's default reminder rules (plan_control/budget/deadlines.py), editable in the admin.
RULES = [
    ("plan_control.budget_request", "先期作業計畫申請期限提醒（機關承辦人）", [-5, -1, 0], None),
    ("plan_control.budget_sign_off", "先期作業計畫待核定提醒（機關主管）", [-3, -1, 0], None),
    ("plan_control.budget_meeting", "先期作業初審會議提醒（出席人員及相關機關）", [-3, -1], None),
    # RDEC's own work: a supervisor hears of decisions still missing two working days after the balancing date.
    ("plan_control.budget_balancing", "先期作業綜合平衡提醒（研考會承辦）", [-5, -1, 0, 1], 2),
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
    dependencies = [("plan_control", "0009_amount_ledger_append_only"), ("notifications", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
