from django.db import migrations

KIND = "reviews.scoring"


def create_rule(apps, schema_editor):
    ReminderRule = apps.get_model("notifications", "ReminderRule")
    if not ReminderRule.objects.filter(kind=KIND).exists():
        ReminderRule.objects.create(
            kind=KIND, name="委員評分期限提醒", offsets=[-3, 0, 1], channels=["email", "in_app"], escalate_after=2
        )


def remove_rule(apps, schema_editor):
    apps.get_model("notifications", "ReminderRule").objects.filter(kind=KIND).delete()


class Migration(migrations.Migration):
    dependencies = [("reviews", "0001_initial"), ("notifications", "0001_initial")]
    operations = [migrations.RunPython(create_rule, remove_rule)]
