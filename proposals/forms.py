"""Forms of the proposal back office. They validate input only: every write goes through proposals.services."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from reviews.models import Aggregation
from workflow_site.roc_calendar.forms import ROCDateField

from .models import GRADE_ORDER, Grade, Proposal, ProposalRound
from .services import DRAFT_FIELDS


class ProposalForm(forms.ModelForm):
    """The fields a clerk drafts (services.DRAFT_FIELDS); `.save()` is never called: the view calls the services."""

    file = forms.FileField(
        label=_("附件"),
        required=False,
        help_text=_("PDF、DOCX 或 ODT 格式（依檔案內容判斷），20 MB 以內。"),
    )

    class Meta:
        model = Proposal
        fields = DRAFT_FIELDS

    def __init__(self, *args, with_file: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_file:
            del self.fields["file"]


class NewProposalForm(ProposalForm):
    """A new draft: the open round it belongs to, the draft fields and an optional first attachment."""

    round = forms.ModelChoiceField(queryset=ProposalRound.objects.none(), label=_("年度"), empty_label=None)

    field_order = ["round", *DRAFT_FIELDS, "file"]

    def __init__(self, *args, rounds, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["round"].queryset = rounds


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("附件"), help_text=_("PDF、DOCX 或 ODT 格式（依檔案內容判斷），20 MB 以內。"))


class ProposalFilterForm(forms.Form):
    round = forms.ModelChoiceField(
        queryset=ProposalRound.objects.none(), label=_("年度"), required=False, empty_label=_("全部年度")
    )
    status = forms.ChoiceField(label=_("狀態"), required=False)

    def __init__(self, *args, rounds, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["round"].queryset = rounds
        self.fields["status"].choices = [("", _("全部狀態")), *Proposal.Status.choices]


# ---------------------------------------------------------------- rounds (RDEC)

QUOTA_GRADES = GRADE_ORDER


class CriterionForm(forms.Form):
    """One row of the round's rubric (評分表): what is scored, its weight and full marks."""

    name = forms.CharField(label=_("評分項目"), max_length=200)
    weight = forms.DecimalField(label=_("權重（%）"), min_value=Decimal("0.01"), max_value=100, decimal_places=2)
    max_score = forms.DecimalField(label=_("滿分"), min_value=Decimal("0.01"), max_digits=6, decimal_places=2)


class BaseCriterionFormSet(forms.BaseFormSet):
    def criteria(self) -> list[dict]:
        """The rows filled in, in order, as reviews.services.rubric_create takes them (codes by position)."""
        rows = [f.cleaned_data for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        return [
            {"code": f"c{n}", "name": row["name"], "weight": row["weight"], "max_score": row["max_score"]}
            for n, row in enumerate(rows, start=1)
        ]


CriterionFormSet = forms.formset_factory(CriterionForm, formset=BaseCriterionFormSet, extra=3, max_num=20)


class RoundForm(forms.Form):
    """A round's settings, for services.round_create and round_update: dates in ROC years, the panel's rule, the
    quota of each grade (with an optional minimum score) and the grades forwarded to the agencies. The rubric is
    either copied from an earlier round or the rows of `CriterionFormSet`."""

    year = forms.IntegerField(label=_("年度（民國）"), min_value=1, max_value=999, help_text=_("例如 115。"))
    title = forms.CharField(
        label=_("名稱"), max_length=200, required=False, help_text=_("留空則為「○○○年度市政創新提案」。")
    )
    submission_deadline = ROCDateField(label=_("提案截止日"), help_text=_("以民國年輸入，例如 115/05/31。"))
    scoring_deadline = ROCDateField(label=_("評分截止日"), help_text=_("以民國年輸入，例如 115/07/31。"))
    response_days = forms.IntegerField(label=_("參採回復期限（工作天）"), min_value=1, max_value=365, initial=20)
    rubric_source = forms.ChoiceField(label=_("評分表"), required=False)
    aggregation = forms.ChoiceField(label=_("計分方式"), choices=Aggregation.choices, initial=Aggregation.MEAN)
    min_members = forms.IntegerField(label=_("最少委員人數"), min_value=1, max_value=99, initial=7)
    min_external = forms.IntegerField(label=_("最少外部委員人數"), min_value=0, max_value=99, initial=5)
    hide_agency = forms.BooleanField(label=_("對委員隱藏提案機關"), required=False)
    forward_grades = forms.MultipleChoiceField(
        label=_("轉請參採之等第"),
        choices=Grade.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        initial=[Grade.EXCELLENT, Grade.A, Grade.B],
    )

    def __init__(self, *args, rubric_rounds=(), **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(Grade.choices)
        for grade in QUOTA_GRADES:
            self.fields[f"quota_{grade}"] = forms.IntegerField(
                label=_("%(grade)s名額") % {"grade": labels[grade]}, min_value=0, max_value=10000, required=False
            )
            self.fields[f"min_score_{grade}"] = forms.DecimalField(
                label=_("%(grade)s最低分數") % {"grade": labels[grade]},
                min_value=0,
                max_value=1000,
                decimal_places=2,
                required=False,
            )
        choices = [("", _("依下方評分項目"))]
        choices += [(str(r.pk), _("沿用「%(title)s」的評分表") % {"title": r.title}) for r in rubric_rounds]
        self.fields["rubric_source"].choices = choices

    def quota_fields(self):
        """(grade label, quota field, minimum score field) per grade, best first, for the template."""
        labels = dict(Grade.choices)
        return [(labels[g], self[f"quota_{g}"], self[f"min_score_{g}"]) for g in QUOTA_GRADES]

    def grade_quotas(self) -> list[dict]:
        quotas = []
        for grade in QUOTA_GRADES:
            count = self.cleaned_data.get(f"quota_{grade}")
            if count:
                quota = {"grade": str(grade), "count": count}
                if self.cleaned_data.get(f"min_score_{grade}") is not None:
                    quota["min_score"] = str(self.cleaned_data[f"min_score_{grade}"])
                quotas.append(quota)
        return quotas

    def clean(self):
        data = super().clean()
        if not any(data.get(f"quota_{g}") for g in QUOTA_GRADES):
            self.add_error(None, _("請至少設定一個等第的名額。"))
        if not data.get("title") and data.get("year"):
            data["title"] = _("%(year)s年度市政創新提案") % {"year": data["year"]}
        return data

    def settings(self) -> dict:
        """The round's and its panel's settings, as round_create and round_update take them."""
        data = self.cleaned_data
        return {
            "year": data["year"],
            "title": data["title"],
            "submission_deadline": data["submission_deadline"],
            "scoring_deadline": data["scoring_deadline"],
            "response_days": data["response_days"],
            "aggregation": data["aggregation"],
            "min_members": data["min_members"],
            "min_external": data["min_external"],
            "hide_agency": data["hide_agency"],
            "grade_quotas": self.grade_quotas(),
            "forward_grades": list(data["forward_grades"]),
        }

    @classmethod
    def initial_from(cls, round_: ProposalRound) -> dict:
        panel = round_.panel
        initial = {
            "year": round_.year,
            "title": round_.title,
            "submission_deadline": round_.submission_deadline,
            "scoring_deadline": round_.scoring_deadline,
            "response_days": round_.response_days,
            "forward_grades": list(round_.forward_grades),
        }
        if panel is not None:
            initial.update(
                aggregation=panel.aggregation,
                min_members=panel.min_members,
                min_external=panel.min_external,
                hide_agency=panel.hide_agency,
            )
        for quota in round_.grade_quotas:
            initial[f"quota_{quota['grade']}"] = quota["count"]
            if quota.get("min_score") is not None:
                initial[f"min_score_{quota['grade']}"] = quota["min_score"]
        return initial
