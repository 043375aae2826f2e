from django.utils.functional import SimpleLazyObject

from . import selectors


def unread_notifications(request) -> dict:
    """`unread_notifications`: the header's unread count, counted only if a template actually shows it."""
    user = getattr(request, "user", None)
    return {"unread_notifications": SimpleLazyObject(lambda: selectors.unread_count(user=user))}
