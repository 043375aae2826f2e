"""Forms of the review engine's pages. They validate input only: every write goes through a service."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Adoption


class AdoptionAnswerForm(forms.Form):
    """An agency's answer to an adoption question: adopt, partly adopt or decline, with the reason."""

    response = forms.ChoiceField(label=_("回復"), choices=Adoption.Response.choices, widget=forms.RadioSelect)
    reason = forms.CharField(label=_("理由"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))
