"""The transition core: one helper, a fixed small cost, refusals as errors, races settled by the database."""

import threading
import time

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction

from accounts import services
from accounts.models import Delegation
from accounts.tests.factories import DelegationFactory
from workflow_site.api import exception_handler
from workflow_site.errors import ApplicationError, ConcurrentUpdate, TransitionNotAllowed
from workflow_site.models import TransitionLog
from workflow_site.transitions import apply_transition, available_transitions


@pytest.mark.django_db
def test_a_transition_costs_at_most_six_statements(django_assert_max_num_queries):
    delegation = DelegationFactory()
    ContentType.objects.get_for_model(Delegation)  # warm, as in any running process
    # savepoint, load, the actor's roles, guarded UPDATE, log INSERT, release (the revoke service adds its notices)
    with django_assert_max_num_queries(6), transaction.atomic():
        loaded = Delegation.objects.select_related("user").get(pk=delegation.pk)
        apply_transition(loaded, "revoke", actor=delegation.user, reason="返回")
    log = TransitionLog.objects.get()
    assert (log.transition, log.source, log.target, log.actor_id, log.reason) == (
        "revoke",
        "in_force",
        "revoked",
        delegation.user_id,
        "返回",
    )
    assert log.subject == delegation


@pytest.mark.django_db
def test_side_effects_run_only_after_commit(django_capture_on_commit_callbacks):
    delegation = DelegationFactory()
    seen = []
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        apply_transition(delegation, "revoke", actor=delegation.user, on_commit=[lambda: seen.append("sent")])
    assert seen == []
    assert len(callbacks) == 1
    callbacks[0]()
    assert seen == ["sent"]


@pytest.mark.django_db
def test_refused_transition_changes_nothing_and_logs_nothing():
    delegation = DelegationFactory()
    services.delegation_revoke(delegation_id=delegation.pk, actor=delegation.user)
    with pytest.raises(TransitionNotAllowed):
        services.delegation_revoke(delegation_id=delegation.pk, actor=delegation.user)
    assert TransitionLog.objects.count() == 1


@pytest.mark.django_db
def test_outside_a_transaction_the_helper_refuses_to_run():
    delegation = DelegationFactory()
    with transaction.atomic():
        pass
    # pytest-django wraps each test in a transaction, so leave it to see the guard.
    connection.in_atomic_block, was = False, connection.in_atomic_block
    try:
        with pytest.raises(RuntimeError):
            apply_transition(delegation, "revoke", actor=delegation.user)
    finally:
        connection.in_atomic_block = was


@pytest.mark.django_db
def test_available_transitions_follow_state_and_rights(make_user):
    delegation = DelegationFactory()
    assert available_transitions(delegation, delegation.user) == ["revoke"]
    assert available_transitions(delegation, make_user("agency_clerk")) == []


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (TransitionNotAllowed(), 409, "transition_not_allowed"),
        (ConcurrentUpdate(), 409, "concurrent_update"),
        (ApplicationError("x", code="custom"), 400, "custom"),
    ],
)
def test_application_errors_map_to_http_in_one_place(error, status, code):
    response = exception_handler(error, {})
    assert response.status_code == status
    assert response.data["code"] == code
    assert response.data["detail"]


@pytest.mark.django_db(transaction=True)
def test_race_on_postgresql_exactly_one_wins_the_other_gets_409():
    """Two connections read the same state, then run the same transition at the same moment."""
    delegation = DelegationFactory()
    actor = delegation.user
    both_loaded = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            with transaction.atomic():
                obj = Delegation.objects.select_related("user").get(pk=delegation.pk)
                both_loaded.wait(timeout=10)
                apply_transition(obj, "revoke", actor=actor, reason="race")
                time.sleep(0.3)  # hold the row so the rival's guarded UPDATE waits for our commit
            outcomes.append("ok")
        except ApplicationError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["concurrent_update", "ok"]
    assert TransitionLog.objects.filter(object_id=delegation.pk).count() == 1
    delegation.refresh_from_db()
    assert delegation.status == Delegation.Status.REVOKED
    assert exception_handler(ConcurrentUpdate(), {}).status_code == 409


@pytest.mark.django_db
def test_bulk_transition_moves_logs_and_refuses_objects_in_other_states(make_user):
    from django.db.models import Value

    from workflow_site.transitions import apply_bulk_transition

    delegations = DelegationFactory.create_batch(3)
    admin = make_user("admin")
    with transaction.atomic():
        moved = apply_bulk_transition(
            Delegation.objects.filter(pk__in=[d.pk for d in delegations[:2]]),
            "revoke",
            actor=admin,
            reason="組織調整",
            also_set={"reason": Value("組織調整")},
        )
    assert moved == 2
    assert list(Delegation.objects.order_by("pk").values_list("status", "reason")) == [
        ("revoked", "組織調整"),
        ("revoked", "組織調整"),
        ("in_force", "公假"),
    ]
    logs = TransitionLog.objects.filter(transition="revoke").order_by("object_id")
    assert [(log.object_id, log.source, log.target, log.actor, log.reason) for log in logs] == [
        (d.pk, "in_force", "revoked", admin, "組織調整") for d in delegations[:2]
    ]
    with pytest.raises(TransitionNotAllowed), transaction.atomic():
        apply_bulk_transition(Delegation.objects.all(), "revoke", actor=admin)
    assert Delegation.objects.filter(status="in_force").count() == 1
    assert TransitionLog.objects.count() == 2


@pytest.mark.django_db
def test_bulk_transition_checks_the_actors_right(make_user):
    from workflow_site.errors import PermissionDenied
    from workflow_site.transitions import apply_bulk_transition

    DelegationFactory()
    with pytest.raises(PermissionDenied), transaction.atomic():
        apply_bulk_transition(Delegation.objects.all(), "revoke", actor=make_user("agency_clerk"))


@pytest.mark.django_db
def test_bulk_transition_honours_a_substitute_and_logs_whom_they_act_for(make_user):
    """As apply_transition does: a substitute holds their principal's rights, and the log says so."""
    import datetime

    from workflow_site.transitions import apply_bulk_transition

    target = DelegationFactory()
    admin, deputy = make_user("admin"), make_user("agency_clerk")
    DelegationFactory(user=admin, substitute=deputy, starts=datetime.date(2000, 1, 1), ends=datetime.date(2100, 1, 1))
    with transaction.atomic():
        assert apply_bulk_transition(Delegation.objects.filter(pk=target.pk), "revoke", actor=deputy) == 1
    log = TransitionLog.objects.get(object_id=target.pk, transition="revoke")
    assert (log.actor, log.acting_for) == (deputy, admin)
