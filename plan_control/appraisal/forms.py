"""Forms of the appraisal pages. They validate input only: every write goes through the package's services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

SCORE_WIDGET = {"min": 0, "max": 100, "step": "0.01", "inputmode": "decimal"}


class SelfAssessmentForm(forms.Form):
    """The agency's score and explanation. Input only: the range and the required text are the service's rules,
    so its messages land on these fields."""

    self_score = forms.DecimalField(
        label=gettext_lazy("自評分數"),
        help_text=gettext_lazy("0 至 100，最多兩位小數。"),
        widget=forms.NumberInput(attrs=SCORE_WIDGET),
    )
    self_assessment = forms.CharField(
        label=gettext_lazy("自評說明"), required=False, widget=forms.Textarea(attrs={"rows": 5})
    )


class ReviewForm(forms.Form):
    review_score = forms.DecimalField(
        label=gettext_lazy("複核分數"),
        help_text=gettext_lazy("0 至 100，最多兩位小數；即為提送考核確定的分數。"),
        widget=forms.NumberInput(attrs=SCORE_WIDGET),
    )
    review_comment = forms.CharField(
        label=gettext_lazy("複核意見"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
