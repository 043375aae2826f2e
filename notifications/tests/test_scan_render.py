"""The scan renders each template once per shape and fills the bare names per row: the text must be the full
render's, whatever the template does with them."""

import datetime

import pytest
from django.template import Context, Template

from notifications.models import DEFAULT_BODY, DEFAULT_ESCALATION_BODY, DEFAULT_ESCALATION_SUBJECT, DEFAULT_SUBJECT
from notifications.services.scan import _Compiled


def contexts():
    for i, (behalf, left, overdue) in enumerate([("", 3, 0), ("王小明", 0, 0), ("", 0, 2), ("", 0, 2), ("李", 3, 0)]):
        yield {
            "recipient": f" 收件人{i} ",
            "on_behalf_of": behalf,
            "title": f"事項 {i} {{{{ not a tag }}}} %s \x01",
            "kind_label": "測試期限",
            "due_date": datetime.date(2025, 3, 10 + i % 2),
            "days_left": left,
            "days_overdue": overdue,
            "url": f"https://example.test/items/{i}/",
            "assignees": "甲、乙" if i % 2 else "",
        }


@pytest.mark.parametrize(
    "text",
    [
        DEFAULT_SUBJECT,
        DEFAULT_BODY,
        DEFAULT_ESCALATION_SUBJECT,
        DEFAULT_ESCALATION_BODY,
        "{{ title|upper }}：{{ title }} {{ url }}",  # a filtered name is part of the shape
        "{% if assignees %}承辦人 {{ assignees }}{% endif %} {{ recipient }}",  # so is a tested one
        "{% with t=title %}{{ t }}{% endwith %} {{ recipient }}",  # any other tag: rendered plainly
        "{{ recipient }}{{ missing }}{{ title.0 }}",
    ],
)
def test_the_shortcut_renders_exactly_what_a_full_render_gives(text):
    compiled = _Compiled(text)
    template = Template("{% load roc %}" + text)
    for context in [*contexts(), *contexts()]:  # the second pass hits the cached shapes
        assert compiled.render(context) == template.render(Context(context, autoescape=False)).strip()


def test_the_default_wording_is_rendered_once_per_shape():
    compiled = _Compiled(DEFAULT_BODY)
    assert set(compiled.holes) == {"recipient", "title", "url", "kind_label"}
    shapes = set()
    for context in [*contexts(), *contexts()]:
        compiled.render(context)
        shapes.add((context["on_behalf_of"], context["due_date"], context["days_left"], context["days_overdue"]))
    assert len(compiled._shapes) == len(shapes) < 10
