"""Reads shared by every app."""

from django.contrib.contenttypes.models import ContentType
from django.db import models

from .models import TransitionLog


def transition_history(obj: models.Model, *, status_field: str = "status") -> list[dict]:
    """The object's state changes, oldest first, with its states' labels (the log keeps the codes). One query."""
    field = obj._meta.get_field(status_field)
    labels = {str(value): str(label) for value, label in field.choices or ()}
    rows = TransitionLog.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk
    ).select_related("actor", "acting_for")
    return [
        {"log": log, "source": labels.get(log.source, log.source), "target": labels.get(log.target, log.target)}
        for log in rows
    ]
