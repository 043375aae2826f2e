"""The move of adoption questions to reviews.Adoption keeps every row, its id, its log and its reminders."""

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.tests.factories import AgencyFactory
from notifications.models import Notification, ReminderRule
from proposals.models import Proposal
from reviews.models import Adoption
from workflow_site.models import TransitionLog

BEFORE = [("proposals", "0002_reminder_rules"), ("reviews", "0002_scoring_reminder_rule")]
DUE = datetime.date(2027, 1, 5)


def migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def old_world(apps) -> dict:
    """Two questions about one proposal under the old model: one answered (with its log row), one pending (with a
    reminder), as the old code wrote them."""
    Agency = apps.get_model("accounts", "Agency")
    User = apps.get_model("accounts", "User")
    ContentTypeOld = apps.get_model("contenttypes", "ContentType")
    water, works = (
        Agency.objects.create(code=code, name=name) for code, name in (("WRB", "水利局"), ("PWB", "工務局"))
    )
    clerk = User.objects.create(username="clerk", agency=water)
    round_ = apps.get_model("proposals", "ProposalRound").objects.create(
        year=107, title="107年度", submission_deadline=DUE, scoring_deadline=DUE, status="published"
    )
    proposal = apps.get_model("proposals", "Proposal").objects.create(
        round=round_, agency=works, title="雨水下水道智慧監測", summary="摘要", status="forwarded", created_by=clerk
    )
    OldAdoption = apps.get_model("proposals", "Adoption")
    answered = OldAdoption.objects.create(
        proposal=proposal, agency=water, status="answered", response="partial", reason="試辦", due_date=DUE
    )
    answered.answered_by = clerk
    answered.save()
    pending = OldAdoption.objects.create(proposal=proposal, agency=works, due_date=DUE)
    old_type = ContentTypeOld.objects.get_or_create(app_label="proposals", model="adoption")[0]
    log = apps.get_model("workflow_site", "TransitionLog").objects.create(
        content_type=old_type, object_id=answered.pk, transition="respond", source="pending", target="answered"
    )
    rule = apps.get_model("notifications", "ReminderRule").objects.get_or_create(
        kind="proposals.adoption", defaults={"name": "參採回復期限提醒", "offsets": [-3, 0, 1]}
    )[0]
    reminder = apps.get_model("notifications", "Notification").objects.create(
        recipient=clerk,
        content_type=old_type,
        object_id=pending.pk,
        kind="proposals.adoption",
        item_title="參採回復",
        url=f"/proposals/adoptions/{pending.pk}/",
        rule=rule,
        offset=-3,
        due_date=DUE,
        channel="email",
        subject="提醒",
        body="提醒",
    )
    created = dict(OldAdoption.objects.values_list("pk", "created_at"))
    return {
        "proposal": proposal.pk,
        "answered": answered.pk,
        "pending": pending.pk,
        "log": log.pk,
        "rule": rule.pk,
        "reminder": reminder.pk,
        "clerk": clerk.pk,
        "water": water.pk,
        "created": created,
    }


@pytest.mark.django_db(transaction=True)
def test_questions_move_with_their_ids_logs_and_reminders_and_ids_continue_after_them():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        executor = migrate(BEFORE)
        state = executor.loader.project_state([*BEFORE, *(n for n in leaves if n[0] not in {"proposals", "reviews"})])
        old = old_world(state.apps)
    finally:
        migrate(leaves)  # the database the other tests use, whatever happened
    ContentType.objects.clear_cache()

    answered, pending = Adoption.objects.get(pk=old["answered"]), Adoption.objects.get(pk=old["pending"])
    assert answered.subject == pending.subject == Proposal.objects.get(pk=old["proposal"])
    assert (answered.title, answered.agency_id, answered.status, answered.response, answered.reason) == (
        "雨水下水道智慧監測",
        old["water"],
        "answered",
        "partial",
        "試辦",
    )
    assert (answered.answered_by_id, pending.status, pending.due_date) == (old["clerk"], "pending", DUE)
    assert {a.pk: a.created_at for a in (answered, pending)} == old["created"]
    new_type = ContentType.objects.get_for_model(Adoption)
    assert TransitionLog.objects.get(pk=old["log"]).subject == answered
    reminder = Notification.objects.get(pk=old["reminder"])
    assert (reminder.content_type, reminder.object_id, reminder.kind) == (new_type, pending.pk, "reviews.adoption")
    assert ReminderRule.objects.get(pk=old["rule"]).kind == "reviews.adoption"
    assert list(Proposal.objects.get(pk=old["proposal"]).adoptions.order_by("pk")) == [answered, pending]
    # New questions take ids after the copied ones (PostgreSQL's sequence was reset past them).
    later = Adoption.objects.create(subject=answered.subject, title="x", agency=AgencyFactory(), due_date=DUE)
    assert later.pk > max(old["created"])
