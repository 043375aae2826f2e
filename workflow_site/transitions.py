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
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, can_proceed, has_transition_perm
from django_fsm import TransitionNotAllowed as FSMTransitionNotAllowed

from .errors import ConcurrentUpdate, PermissionDenied, TransitionNotAllowed
from .models import TransitionLog


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
    from accounts.selectors import acting_principals  # accounts depends on this module's models

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
    if not can_proceed(method):
        raise TransitionNotAllowed(
            _("目前狀態「%(state)s」不允許此操作。") % {"state": _state_label(obj, field_name)},
            code="transition_not_allowed",
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
    log = TransitionLog.objects.create(
        content_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk,
        transition=name,
        source=source,
        target=getattr(obj, field_name),
        actor=actor,
        acting_for=acting_for,
        reason=reason,
    )
    for hook in on_commit:
        transaction.on_commit(hook)
    return log


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
    field_values: dict[int, dict[str, Any]] | None = None,
    on_commit: Iterable[Callable[[], Any]] = (),
) -> int:
    """Run transition `name` on every object of `queryset` at once: for a round of thousands of items.

    Set-based twin of `apply_transition`: the transition declared on the model decides which source states
    are allowed and the target; rows are locked, updated by one guarded UPDATE per target state (plus
    `bulk_update` of `field_values`, per object), and logged with one TransitionLog row each. The
    transition's permission is checked once for the actor (it must not depend on the object). The method
    body is not run per object: put what it would set into `field_values`. Refuses (409) if any object is
    in a state the transition does not leave from.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("apply_bulk_transition must run inside transaction.atomic()")
    model = queryset.model
    meta = getattr(getattr(model, name, None), "_django_fsm", None)
    if meta is None:
        raise TypeError(f"{model.__name__}.{name} is not a django-fsm transition")
    field = meta.field
    rows = list(queryset.select_for_update().order_by("pk").values_list("pk", field.attname))
    targets: dict[str, list[int]] = {}
    stuck = []
    for pk, state in rows:
        transition = meta.get_transition(state)
        if transition is None:
            stuck.append(pk)
            continue
        if actor is not None and transition.permission and not actor.has_perm(transition.permission):
            raise PermissionDenied()
        targets.setdefault(transition.target, []).append(pk)
    if stuck:
        raise TransitionNotAllowed(code="transition_not_allowed", extra={"transition": name, "objects": stuck[:50]})
    sources = dict(rows)
    for target, pks in targets.items():
        model._default_manager.filter(pk__in=pks).update(**{field.attname: target})
    if field_values:
        names = sorted({key for values in field_values.values() for key in values})
        objs = []
        for pk, values in field_values.items():
            obj = model(pk=pk)
            obj.__dict__.update(values)
            objs.append(obj)
        model._default_manager.bulk_update(objs, names, batch_size=2000)
    content_type = ContentType.objects.get_for_model(model)
    TransitionLog.objects.bulk_create(
        [
            TransitionLog(
                content_type=content_type,
                object_id=pk,
                transition=name,
                source=sources[pk],
                target=target,
                actor=actor,
                reason=reason,
            )
            for target, pks in targets.items()
            for pk in pks
        ],
        batch_size=5000,
    )
    for hook in on_commit:
        transaction.on_commit(hook)
    return len(rows)
