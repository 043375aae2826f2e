"""Money in the pages: 億/萬 in sentences, thousands separated in tables, and one input that reads amounts as
people type them."""

import pytest
from django import forms
from django.template import Context, Template

from workflow_site.forms import MoneyField


@pytest.mark.parametrize(
    ("value", "shown"),
    [(30000, "30,000"), (9164000000, "9,164,000,000"), ("1234567", "1,234,567"), (0, "0"), (None, ""), ("—", "—")],
)
def test_thousands(value, shown):
    assert Template("{% load money %}{{ v|thousands }}").render(Context({"v": value})) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (359_533_000, "3億5,953萬3,000元"),
        (270_000_000, "2億7,000萬元"),
        (12_345, "1萬2,345元"),
        (9_164_000_000, "91億6,400萬元"),
        (1_200_000_000_000, "1兆2,000億元"),
        (999, "999元"),
        (0, "0元"),
        (-50_000, "-5萬元"),
        (None, ""),
        ("—", "—"),
    ],
)
def test_money_in_yi_and_wan(value, shown):
    assert Template("{% load money %}{{ v|money }}").render(Context({"v": value})) == shown


class AmountForm(forms.Form):
    amount = MoneyField()


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("270,000,000", 270_000_000),
        ("２７０，０００，０００", 270_000_000),
        (" 270 000 000 元", 270_000_000),
        ("新臺幣5,000元", 5000),
        ("0", 0),
    ],
)
def test_money_field_accepts_amounts_as_people_type_them(typed, amount):
    form = AmountForm({"amount": typed})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["amount"] == amount


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("27.5", "請輸入新臺幣金額"),
        ("abc", "請輸入新臺幣金額"),
        ("9" * 5000, "請輸入新臺幣金額"),
        ("-1", "金額不可小於 0 元"),
        ("1,000,000,000,000,000", "金額不可超過"),
    ],
)
def test_money_field_refuses_with_a_message_in_chinese(typed, message):
    form = AmountForm({"amount": typed})
    assert not form.is_valid()
    assert message in form.errors["amount"][0]


def test_money_input_shows_the_amount_in_words_and_keeps_what_was_typed():
    html = str(AmountForm({"amount": "270,000,000"})["amount"])
    assert 'value="270,000,000"' in html and 'inputmode="numeric"' in html
    assert "2億7,000萬元</output>" in html
    assert "workflow_site/money.js" in html
    bad = str(AmountForm({"amount": "27x"})["amount"])
    assert 'value="27x"' in bad
    assert 'value="5,000"' in str(AmountForm(initial={"amount": 5000})["amount"])
