"""The one helper every service uses to run a django-fsm-2 transition.

A service loads the object through a selector (which decides visibility and raises NotFound), then calls
`apply_transition`: state check, permission (the actor's own, else a principal's the actor substitutes for),
the transition method, `save(update_fields=...)` guarded by `ConcurrentTransitionMixin`, one `TransitionLog`
row, and side effects scheduled with `transaction.on_commit`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, can_proceed, has_transition_perm
from django_fsm import TransitionNotAllowed as FSMTransitionNotAllowed

from .delegation import acting_principals
from .errors import ConcurrentUpdate, PermissionDenied, TransitionNotAllowed
from .models import TransitionLog
from .permissions import granting_principal


def _fsm_meta(obj: models.Model, name: str):
    method = getattr(obj, name, None)
    meta = getattr(method, "_django_fsm", None)
    if meta is None:
        raise TypeError(f"{type(obj).__name__}.{name} is not a django-fsm transition")
    return method, meta


def _state_label(obj: models.Model, field_name: str) -> str:
    display = getattr(obj, f"get_{field_name}_display", None)
    return str(display()) if display else str(getattr(obj, field_name))


def resolve_actor(obj: models.Model, name: str, actor) -> Any:
    """Who grants `actor` the right to run `name` on `obj`: None (their own right) or the principal they act for.

    Raises PermissionDenied when neither the actor nor anyone they currently substitute for may run it.
    """
    method, _meta = _fsm_meta(obj, name)
    if actor is None or has_transition_perm(method, actor):
        return None
    for principal in acting_principals(actor):
        if has_transition_perm(method, principal):
            return principal
    raise PermissionDenied()


def apply_transition(
    obj: models.Model,
    name: str,
    *,
    actor,
    reason: str = "",
    kwargs: dict | None = None,
    update_fields: Iterable[str] = (),
    on_commit: Iterable[Callable[[], Any]] = (),
) -> TransitionLog:
    """Run transition `name` on `obj` for `actor` (None = the system) and log it; the caller holds the atomic block.

    `update_fields` names the extra fields the transition method sets. Refused transitions raise
    TransitionNotAllowed (409), missing rights PermissionDenied (403), a lost race ConcurrentUpdate (409).
    """
    method, meta = _fsm_meta(obj, name)
    field_name = meta.field.name
    source = getattr(obj, field_name)
    transition = meta.get_transition(source)
    failed = None if transition is None else next((c for c in transition.conditions if not c(obj)), None)
    if transition is None or failed is not None:
        # A condition speaks for itself when it carries a `refusal`; otherwise the state is named.
        message, code = getattr(failed, "refusal", (None, "transition_not_allowed"))
        raise TransitionNotAllowed(
            message or _("目前狀態「%(state)s」不允許此操作。") % {"state": _state_label(obj, field_name)},
            code=code,
            extra={"state": source, "transition": name},
        )
    # Without an enclosing transaction a later failure (the log row) would leave a state change unlogged.
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("apply_transition must run inside transaction.atomic()")
    acting_for = resolve_actor(obj, name, actor)
    try:
        method(**(kwargs or {}))
        obj.save(update_fields=[field_name, *update_fields])
    except FSMTransitionNotAllowed as exc:  # a condition failed inside the method
        raise TransitionNotAllowed(code="transition_not_allowed") from exc
    except ConcurrentTransition as exc:
        raise ConcurrentUpdate() from exc
    log = log_event(
        obj, name, source=source, target=getattr(obj, field_name), actor=actor, acting_for=acting_for, reason=reason
    )
    for hook in on_commit:
        # robust: a side effect that fails (the broker down) is logged; it cannot undo the committed change.
        transaction.on_commit(hook, robust=True)
    return log


def log_event(
    obj: models.Model, name: str, *, source: str, target: str, actor, acting_for=None, reason: str = ""
) -> TransitionLog:
    """Write the one `TransitionLog` row of a change that is not a declared transition, such as a record created
    in a given state (a reassigned score sheet: source ""): the only other writer of log rows besides the
    transition helpers here."""
    return TransitionLog.objects.create(
        content_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk,
        transition=name,
        source=source,
        target=target,
        actor=actor,
        acting_for=acting_for,
        reason=reason,
    )


def refusal(message, *, code: str) -> Callable[[Callable[..., bool]], Callable[..., bool]]:
    """Give a transition condition the message and code a refused caller sees (409), instead of the generic
    "not allowed in this state": `@transition(..., conditions=[round_is_open])` with

        @refusal(_("本年度提案尚未開放或已截止收件。"), code="round_not_open")
        def round_is_open(proposal) -> bool: ...

    A condition states a stage rule once: `available_transitions` (the buttons) and `apply_transition` (the
    service) both read it."""

    def decorate(condition: Callable[..., bool]) -> Callable[..., bool]:
        condition.refusal = (message, code)
        return condition

    return decorate


def available_transitions(obj: models.Model, actor) -> list[str]:
    """Names of the transitions `actor` (or a principal they substitute for) may run on `obj` now."""
    names = []
    for attr in dir(type(obj)):
        meta = getattr(getattr(type(obj), attr, None), "_django_fsm", None)
        if meta is None:
            continue
        try:
            if can_proceed(getattr(obj, attr)):
                resolve_actor(obj, attr, actor)
                names.append(attr)
        except PermissionDenied:
            continue
    return sorted(names)


def apply_bulk_transition(
    queryset: models.QuerySet,
    name: str,
    *,
    actor,
    reason: str = "",
    also_set: dict[str, Any] | None = None,
    on_commit: Iterable[Callable[[], Any]] = (),
) -> int:
    """Run transition `name` on every object of `queryset` at once: for a round of thousands of items.

    Set-based twin of `apply_transition`: the transition declared on the model decides which source states
    are allowed and the target; the rows are locked, then per source state one INSERT ... SELECT writes a
    TransitionLog row per object and one guarded UPDATE moves them. The transition's permission is checked
    once per transition for the actor, or someone they stand in for, who is logged as `acting_for` (it must not
    depend on the object); the method body is not run per
    object: what it would set goes into `also_set` (values or expressions, applied by the same UPDATE).
    Refuses (409) if any object is in a state
    the transition does not leave from. Returns the number of objects moved.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("apply_bulk_transition must run inside transaction.atomic()")
    model = queryset.model
    meta = getattr(getattr(model, name, None), "_django_fsm", None)
    if meta is None:
        raise TypeError(f"{model.__name__}.{name} is not a django-fsm transition")
    field = meta.field
    # Locks the rows: nobody moves one of them between our check and our UPDATE.
    rows = list(queryset.select_for_update().order_by("pk").values_list("pk", field.attname))
    targets: dict[str, tuple[str, Any]] = {}  # source -> (target, the principal the actor acts for)
    stuck = []
    for pk, state in rows:
        transition = meta.get_transition(state)
        if transition is None:
            stuck.append(pk)
        elif state not in targets:
            acting_for = granting_principal(actor, transition.permission) if transition.permission else None
            targets[state] = (transition.target, acting_for)
    if stuck:
        raise TransitionNotAllowed(code="transition_not_allowed", extra={"transition": name, "objects": stuck[:50]})
    content_type = ContentType.objects.get_for_model(model)
    now = timezone.now()
    for source, (target, acting_for) in targets.items():
        in_source = queryset.filter(**{field.attname: source})
        _log_from_query(in_source, content_type, name, source, target, actor, acting_for, reason, now)
        in_source.update(**{field.attname: target}, **(also_set or {}))
    for hook in on_commit:
        # robust: a side effect that fails (the broker down) is logged; it cannot undo the committed change.
        transaction.on_commit(hook, robust=True)
    return len(rows)


def _log_from_query(queryset, content_type, name, source, target, actor, acting_for, reason, now) -> None:
    """INSERT one TransitionLog row per object of `queryset` with a single INSERT ... SELECT."""
    connection = transaction.get_connection()
    # A named column, so the outer SELECT can refer to it whatever the backend calls the primary key.
    select_sql, select_params = (
        queryset.order_by().annotate(log_object_id=models.F("pk")).values("log_object_id").query.sql_with_params()
    )
    sql = _log_insert_sql(connection, f"({select_sql}) {connection.ops.quote_name('sub')}")
    params = _log_params(connection, content_type, name, source, target, actor, acting_for, reason, now)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *select_params])


def _log_insert_sql(connection, rows: str) -> str:
    """The INSERT ... SELECT of one TransitionLog row per `log_object_id` of `rows` (a subquery or a CTE's name),
    its placeholders filled by `_log_params`: the one place besides `log_event` where log rows are written."""
    quote = connection.ops.quote_name
    columns = [
        "content_type_id", "object_id", "transition", "source", "target", "actor_id", "acting_for_id", "reason",
        "created_at",
    ]  # fmt: skip
    return (
        f"INSERT INTO {quote(TransitionLog._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
        f"SELECT %s, {quote('log_object_id')}, %s, %s, %s, %s, %s, %s, %s FROM {rows}"
    )


def _log_params(connection, content_type, name, source, target, actor, acting_for, reason, now) -> list:
    created_at = TransitionLog._meta.get_field("created_at").get_db_prep_value(now, connection)
    return [
        content_type.pk, name, source, target, getattr(actor, "pk", None), getattr(acting_for, "pk", None), reason,
        created_at,
    ]  # fmt: skip
