"""The public pages' navigation: one link per section the apps registered with `ui.register_public(title=...)`."""

from django import template

from .. import ui

register = template.Library()


@register.simple_tag
def public_sections() -> list[dict]:
    """[{"title", "url"}] in registration order (the order of INSTALLED_APPS)."""
    return ui.public_sections()
