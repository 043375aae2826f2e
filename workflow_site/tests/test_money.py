"""The pages' money filter: thousands separated by commas, whatever the locale's own grouping says."""

import pytest
from django.template import Context, Template


@pytest.mark.parametrize(
    ("value", "shown"),
    [(30000, "30,000"), (9164000000, "9,164,000,000"), ("1234567", "1,234,567"), (0, "0"), (None, ""), ("—", "—")],
)
def test_thousands(value, shown):
    assert Template("{% load money %}{{ v|thousands }}").render(Context({"v": value})) == shown
