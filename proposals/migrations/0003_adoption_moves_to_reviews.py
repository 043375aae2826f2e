"""Adoption questions move down to reviews.Adoption, so theses can ask agencies the same way.

The rows keep their ids (/proposals/adoptions/<id>/ and the API's ids stay valid); their transition log rows and
notifications follow them to the new content type; the reminder kind proposals.adoption becomes reviews.adoption
(its rule keeps its offsets and templates). Written with the ORM, so it runs on PostgreSQL and SQLite alike.
"""

from django.core.management.color import no_style
from django.db import migrations
from django.db.models import OuterRef, Subquery

OLD_KIND, NEW_KIND = "proposals.adoption", "reviews.adoption"


def _content_type(apps, app_label: str, model: str):
    # Content types are made after migrating (post_migrate): a fresh database has none of these yet.
    ContentType = apps.get_model("contenttypes", "ContentType")
    return ContentType.objects.get_or_create(app_label=app_label, model=model)[0]


def _rename_kind(apps, old: str, new: str, object_ids=None) -> None:
    apps.get_model("notifications", "ReminderRule").objects.filter(kind=old).update(kind=new)
    notifications = apps.get_model("notifications", "Notification").objects.filter(kind=old)
    if object_ids is not None:
        notifications = notifications.filter(object_id__in=object_ids)
    notifications.update(kind=new)


def _repoint(apps, old_type, new_type, object_ids=None) -> None:
    """Log rows and notifications about the moved questions name the new content type (same object ids)."""
    for app_label, model in (("workflow_site", "TransitionLog"), ("notifications", "Notification")):
        rows = apps.get_model(app_label, model).objects.filter(content_type=old_type)
        if object_ids is not None:
            rows = rows.filter(object_id__in=object_ids)
        rows.update(content_type=new_type)


def _reset_sequence(schema_editor, model) -> None:
    # Rows were inserted with their ids: PostgreSQL's sequence must continue after the largest (SQLite needs nothing).
    with schema_editor.connection.cursor() as cursor:
        for sql in schema_editor.connection.ops.sequence_reset_sql(no_style(), [model]):
            cursor.execute(sql)


def _copy_created_at(target, source) -> None:
    # created_at is auto_now_add, which bulk_create overwrites with now: copy the original times afterwards.
    target.objects.update(created_at=Subquery(source.objects.filter(pk=OuterRef("pk")).values("created_at")[:1]))


def move_down(apps, schema_editor):
    Old = apps.get_model("proposals", "Adoption")
    New = apps.get_model("reviews", "Adoption")
    _rename_kind(apps, OLD_KIND, NEW_KIND)
    if not Old.objects.exists():
        return
    proposal_type = _content_type(apps, "proposals", "proposal")
    New.objects.bulk_create(
        [
            New(
                id=old.pk,
                subject_type=proposal_type,
                subject_id=old.proposal_id,
                title=old.proposal.title,
                agency_id=old.agency_id,
                status=old.status,
                response=old.response,
                reason=old.reason,
                due_date=old.due_date,
                answered_by_id=old.answered_by_id,
                answered_at=old.answered_at,
            )
            for old in Old.objects.select_related("proposal").order_by("pk").iterator()
        ],
        batch_size=500,
    )
    _copy_created_at(New, Old)
    _repoint(apps, _content_type(apps, "proposals", "adoption"), _content_type(apps, "reviews", "adoption"))
    _reset_sequence(schema_editor, New)


def move_up(apps, schema_editor):
    """Back to proposals.Adoption: the questions about proposals (any other process's stay behind, and go when
    reviews.0003 is reversed)."""
    Old = apps.get_model("proposals", "Adoption")
    New = apps.get_model("reviews", "Adoption")
    moved = New.objects.filter(subject_type=_content_type(apps, "proposals", "proposal"))
    ids = list(moved.values_list("pk", flat=True))
    _rename_kind(apps, NEW_KIND, OLD_KIND, object_ids=ids)
    if not ids:
        return
    Old.objects.bulk_create(
        [
            Old(
                id=new.pk,
                proposal_id=new.subject_id,
                agency_id=new.agency_id,
                status=new.status,
                response=new.response,
                reason=new.reason,
                due_date=new.due_date,
                answered_by_id=new.answered_by_id,
                answered_at=new.answered_at,
            )
            for new in moved.order_by("pk").iterator()
        ],
        batch_size=500,
    )
    _copy_created_at(Old, New)
    _repoint(apps, _content_type(apps, "reviews", "adoption"), _content_type(apps, "proposals", "adoption"), ids)
    _reset_sequence(schema_editor, Old)


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("notifications", "0005_outbox_sweep_schedule"),
        ("proposals", "0002_reminder_rules"),
        ("reviews", "0003_adoption"),
        ("workflow_site", "0002_heartbeat_schedule"),
    ]

    operations = [
        migrations.RunPython(move_down, move_up),
        migrations.DeleteModel(name="Adoption"),
    ]
