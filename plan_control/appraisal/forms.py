"""Forms of the appraisal pages. They validate input only: every write goes through the package's services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from workflow_site.roc_calendar.forms import ROCDateField

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


WEIGHT_WIDGET = {"min": 0, "max": 100, "step": "0.01", "inputmode": "decimal", "size": 6}
BAND_LABELS = {"excellent": gettext_lazy("優等"), "a": gettext_lazy("甲等"), "b": gettext_lazy("乙等")}


class RoundForm(forms.Form):
    """A year's appraisal round: the year (ROC), the four weights of the suggested score (summing to 100), the
    minimum score and optional quota of each grade (丙等 takes the rest from 0), and the two deadlines in ROC dates.
    The model's rules are checked here too, so every message names the box the officer must change."""

    year = forms.IntegerField(
        label=gettext_lazy("年度（民國）"), min_value=1, max_value=999, widget=forms.NumberInput(attrs={"size": 4})
    )
    weight_progress = forms.DecimalField(
        label=gettext_lazy("進度權重"), min_value=0, max_value=100, decimal_places=2, initial=40,
        widget=forms.NumberInput(attrs=WEIGHT_WIDGET),
    )  # fmt: skip
    weight_timeliness = forms.DecimalField(
        label=gettext_lazy("填報時效權重"), min_value=0, max_value=100, decimal_places=2, initial=20,
        widget=forms.NumberInput(attrs=WEIGHT_WIDGET),
    )  # fmt: skip
    weight_completion = forms.DecimalField(
        label=gettext_lazy("完成度權重"), min_value=0, max_value=100, decimal_places=2, initial=25,
        widget=forms.NumberInput(attrs=WEIGHT_WIDGET),
    )  # fmt: skip
    weight_budget = forms.DecimalField(
        label=gettext_lazy("預算執行權重"), min_value=0, max_value=100, decimal_places=2, initial=15,
        widget=forms.NumberInput(attrs=WEIGHT_WIDGET),
        help_text=gettext_lazy("四項權重合計須為 100。"),
    )  # fmt: skip
    min_excellent = forms.DecimalField(
        label=gettext_lazy("優等最低分數"), min_value=0, max_value=100, decimal_places=2, initial=90,
        widget=forms.NumberInput(attrs=WEIGHT_WIDGET),
    )  # fmt: skip
    quota_excellent = forms.DecimalField(
        label=gettext_lazy("優等名額比例（%）"), min_value=0, max_value=100, decimal_places=2, required=False,
        widget=forms.NumberInput(attrs=WEIGHT_WIDGET), help_text=gettext_lazy("空白表示不限名額。"),
    )  # fmt: skip
    min_a = forms.DecimalField(
        label=gettext_lazy("甲等最低分數"), min_value=0, max_value=100, decimal_places=2, initial=80,
        widget=forms.NumberInput(attrs=WEIGHT_WIDGET),
    )  # fmt: skip
    quota_a = forms.DecimalField(
        label=gettext_lazy("甲等名額比例（%）"), min_value=0, max_value=100, decimal_places=2, required=False,
        widget=forms.NumberInput(attrs=WEIGHT_WIDGET), help_text=gettext_lazy("空白表示不限名額。"),
    )  # fmt: skip
    min_b = forms.DecimalField(
        label=gettext_lazy("乙等最低分數"), min_value=0, max_value=100, decimal_places=2, initial=70,
        widget=forms.NumberInput(attrs=WEIGHT_WIDGET), help_text=gettext_lazy("未達乙等者為丙等。"),
    )  # fmt: skip
    quota_b = forms.DecimalField(
        label=gettext_lazy("乙等名額比例（%）"), min_value=0, max_value=100, decimal_places=2, required=False,
        widget=forms.NumberInput(attrs=WEIGHT_WIDGET), help_text=gettext_lazy("空白表示不限名額。"),
    )  # fmt: skip
    self_assessment_due = ROCDateField(
        label=gettext_lazy("機關自評期限"), required=False, help_text=gettext_lazy("以民國年輸入，例如 115/02/15。")
    )
    review_due = ROCDateField(
        label=gettext_lazy("研考會複核期限"), required=False, help_text=gettext_lazy("以民國年輸入，例如 115/03/15。")
    )

    WEIGHTS = ("progress", "timeliness", "completion", "budget")
    GRADED = ("excellent", "a", "b")

    def clean(self):
        data = super().clean()
        weights = [data.get(f"weight_{key}") for key in self.WEIGHTS]
        if None not in weights and sum(weights) != 100:
            self.add_error(
                "weight_budget",
                _("四項權重合計須為 100，目前合計 %(total)s。") % {"total": _plain(sum(weights))},
            )
        minimums = [data.get(f"min_{grade}") for grade in self.GRADED]
        for higher, lower, value_higher, value_lower in zip(
            self.GRADED, self.GRADED[1:], minimums, minimums[1:], strict=False
        ):
            if value_higher is not None and value_lower is not None and value_lower >= value_higher:
                self.add_error(
                    f"min_{lower}",
                    _("%(lower)s最低分數須低於%(higher)s（%(score)s 分）。")
                    % {"lower": BAND_LABELS[lower], "higher": BAND_LABELS[higher], "score": _plain(value_higher)},
                )
        due_self, due_review = data.get("self_assessment_due"), data.get("review_due")
        if due_self and due_review and due_review < due_self:
            self.add_error("review_due", _("複核期限不可早於機關自評期限。"))
        return data

    def service_kwargs(self) -> dict:
        """What `appraisal_round_create` takes, from the cleaned boxes (JSON numbers: ints where whole)."""
        data = self.cleaned_data
        bands = [
            {"grade": g, "min_score": _number(data[f"min_{g}"]), "quota_percent": _number(data[f"quota_{g}"])}
            for g in self.GRADED
        ]
        bands.append({"grade": "c", "min_score": 0, "quota_percent": None})
        return {
            "year": data["year"],
            "weights": {key: _number(data[f"weight_{key}"]) for key in self.WEIGHTS},
            "grade_bands": bands,
            "self_assessment_due": data["self_assessment_due"],
            "review_due": data["review_due"],
        }


def _number(value):
    """A Decimal as a JSON number: 40 not 40.00, 92.5 not 92.50; None stays None."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _plain(value) -> str:
    number = _number(value)
    return str(number)
