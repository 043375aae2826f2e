"""The one helper every service uses to run a django-fsm-2 transition.

A service loads the object through a selector (which decides visibility and raises NotFound), then calls
`apply_transition`: state check, permission (the actor's own, else a principal's the actor substitutes for),
the transition method, `save(update_fields=...)` guarded by `ConcurrentTransitionMixin`, one `TransitionLog`
row, and side effects scheduled with `transaction.on_commit`.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connections, models, transaction
from django.db.models.constants import LOOKUP_SEP
from django.db.models.sql import UpdateQuery
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


def apply_transition_row(
    model: type[models.Model],
    pk,
    name: str,
    *,
    source: str,
    guard: dict[str, Any] | None = None,
    also_set: dict[str, Any] | None = None,
    actor=None,
    reason: str = "",
    at: datetime.datetime | None = None,
) -> bool:
    """Run transition `name` on the one row `pk` of `model` if it is still in `source` and each field named in
    `guard` holds the value given; returns whether it moved. A row that did not move is left alone, unlogged.

    The single-row twin of `apply_bulk_transition`, for a hot path that already knows the row's state (a sent
    reminder): the target is the one the model declares from `source`, the permission is checked for the actor
    (or whom they stand in for), the method body is not run: `also_set` (values or expressions) stands in for
    it. On PostgreSQL one statement, a data-modifying CTE (the guarded UPDATE and the log row written at `at`),
    so outside a transaction it commits alone, with no BEGIN or COMMIT round trip; elsewhere the same UPDATE
    and log row in a transaction.
    """
    meta = getattr(getattr(model, name, None), "_django_fsm", None)
    if meta is None:
        raise TypeError(f"{model.__name__}.{name} is not a django-fsm transition")
    transition = meta.get_transition(source)
    if transition is None:
        raise TransitionNotAllowed(code="transition_not_allowed", extra={"state": source, "transition": name})
    # Neither a condition nor a target the method returns can be known without loading the row.
    if transition.conditions or not isinstance(transition.target, str):
        raise TypeError(f"{model.__name__}.{name} needs the object: use apply_transition")
    if guard and any(LOOKUP_SEP in key for key in guard):
        raise TypeError("guard names fields and the values they must hold, not lookups")
    acting_for = granting_principal(actor, transition.permission) if transition.permission else None
    state = meta.field.attname
    guard = {"pk": pk, state: source, **(guard or {})}
    values = {state: transition.target, **(also_set or {})}
    log = (ContentType.objects.get_for_model(model), name, source, transition.target, actor, acting_for, reason)
    at = at or timezone.now()
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        with transaction.atomic():
            if not model._default_manager.filter(**guard).update(**values):
                return False
            _log_from_query(model._default_manager.filter(pk=pk), *log, at)
        return True
    statement, set_plan, guard_fields = _row_statement(
        model,
        connection.alias,
        tuple((key, _how_set(value)) for key, value in values.items()),
        tuple((key, value is None) for key, value in guard.items()),
    )
    params = []
    for (field, expression_params), value in zip(set_plan, values.values(), strict=True):
        if field is not None:
            params.append(field.get_db_prep_save(value, connection))
        else:
            params += expression_params
    for field, value in zip(guard_fields, guard.values(), strict=True):
        if field is not None:
            params.append(field.get_db_prep_value(value, connection))
    with connection.cursor() as cursor:
        cursor.execute(statement, [*params, *_log_params(connection, *log, at)])
        return cursor.rowcount == 1


def _how_set(value):
    """How a value of `also_set` enters the statement: an expression as its SQL, None as NULL (as the ORM writes
    it: one parameter fewer to send), anything else as a placeholder."""
    if hasattr(value, "resolve_expression"):
        return value
    return "NULL" if value is None else "%s"


@functools.lru_cache(maxsize=64)
def _row_statement(model, alias: str, set_shape: tuple, guard_shape: tuple) -> tuple[str, tuple, tuple]:
    """The statement of `apply_transition_row` for one shape of call, built once (the ORM's compiler would cost
    about a millisecond a row, as much as the rest of a reminder's send), with what fills its placeholders.

    `set_shape`: (field, `_how_set` its value); `guard_shape`: (field, whether the row must hold NULL there).
    Returns the SQL; per set field (the field whose value fills a placeholder, or None and the parameters of the
    expression it is set to); per guard field the field whose value fills a placeholder (None for IS NULL).
    """
    connection = connections[alias]
    quote, opts = connection.ops.quote_name, model._meta
    sets, set_plan = [], []
    for name, how in set_shape:
        field = opts.get_field(name)
        if isinstance(how, str):
            sets.append(f"{quote(field.column)} = {how}")
            set_plan.append((field if how == "%s" else None, ()))
        else:
            query = UpdateQuery(model)
            resolved = how.resolve_expression(query, allow_joins=False, for_save=True)
            sql, params = query.get_compiler(using=alias).compile(resolved)
            sets.append(f"{quote(field.column)} = {sql}")
            set_plan.append((None, tuple(params)))
    wheres, guard_fields = [], []
    for name, is_null in guard_shape:
        field = opts.pk if name == "pk" else opts.get_field(name)
        wheres.append(f"{quote(field.column)} IS NULL" if is_null else f"{quote(field.column)} = %s")
        guard_fields.append(None if is_null else field)
    moved = quote("moved")
    sql = (
        f"WITH {moved} AS (UPDATE {quote(opts.db_table)} SET {', '.join(sets)} WHERE {' AND '.join(wheres)} "
        f"RETURNING {quote(opts.pk.column)} AS {quote('log_object_id')}) {_log_insert_sql(connection, moved)}"
    )
    return sql, tuple(set_plan), tuple(guard_fields)


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
