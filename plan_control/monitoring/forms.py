"""Forms of the monitoring pages. They validate input only: every write goes through the package's services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Agency
from workflow_site.forms import MoneyField

from ..models import ProgressReport
from .services import REPORT_FIELDS

MONTH_CHOICES = [(m, _("%(m)d月") % {"m": m}) for m in range(1, 13)]


class BoardFilterForm(forms.Form):
    """The monthly board's query string: year, month, agency and "lagging only"."""

    year = forms.IntegerField(label=_("年度（民國）"), min_value=1, max_value=999)
    month = forms.TypedChoiceField(label=_("月份"), choices=MONTH_CHOICES, coerce=int)
    agency = forms.ModelChoiceField(
        label=_("機關"), queryset=Agency.objects.none(), required=False, empty_label=_("全部機關")
    )
    lagging_only = forms.BooleanField(label=_("只顯示落後計畫"), required=False)

    def __init__(self, *args, agencies, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = agencies
        self.fields["year"].widget.attrs.update({"inputmode": "numeric", "size": 4})


class ReportFilterForm(forms.Form):
    year = forms.IntegerField(label=_("年度（民國）"), min_value=1, max_value=999, required=False)
    month = forms.TypedChoiceField(
        label=_("月份"), choices=[("", _("全部月份")), *MONTH_CHOICES], coerce=int, required=False, empty_value=None
    )
    status = forms.ChoiceField(label=_("狀態"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("全部狀態")), *ProgressReport.Status.choices]
        self.fields["year"].widget.attrs.update({"inputmode": "numeric", "size": 4})


class ReportForm(forms.ModelForm):
    """The figures an agency reports (services.REPORT_FIELDS); `.save()` is never called: the view calls the
    services, whose errors land on these fields."""

    budget_executed = MoneyField(
        label=_("預算執行數（新臺幣元）"),
        required=False,
        max_value=2**63 - 1,
        help_text=_("累計至本月底的預算執行數（新臺幣元），可含千分位逗號。"),
    )

    class Meta:
        model = ProgressReport
        fields = REPORT_FIELDS
        widgets = {
            "narrative": forms.Textarea(attrs={"rows": 4}),
            "lag_reason": forms.Textarea(attrs={"rows": 3}),
            "remedy": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "actual_percent": _("累計至本月底的實際進度，0 至 100。"),
            "lag_reason": _("進度落後達門檻或低於上月時必填。"),
        }


class ReturnForm(forms.Form):
    reason = forms.CharField(label=_("退回理由"), widget=forms.Textarea(attrs={"rows": 3}))


class PlanImportForm(forms.Form):
    """The year's plans sheet; the import's refusals (bad rows, an unreadable file) are the service's."""

    year = forms.IntegerField(
        label=_("年度（民國）"), min_value=1, max_value=999, widget=forms.NumberInput(attrs={"size": 4})
    )
    file = forms.FileField(
        label=_("計畫清單檔案"),
        help_text=_("ODS、XLSX 或 CSV（UTF-8 或 Big5），第一列為欄位名稱，格式請參考範本。"),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".ods,.xlsx,.csv,application/vnd.oasis.opendocument.spreadsheet,text/csv"}
        ),
    )


class PlanFilterForm(forms.Form):
    """The plan list's query string: year (ROC), status and agency."""

    year = forms.IntegerField(label=_("年度（民國）"), min_value=1, max_value=999)
    status = forms.ChoiceField(label=_("狀態"), required=False)
    agency = forms.ModelChoiceField(
        label=_("機關"), queryset=Agency.objects.none(), required=False, empty_label=_("全部機關")
    )

    def __init__(self, *args, agencies, **kwargs):
        super().__init__(*args, **kwargs)
        from ..models import ControlledPlan

        self.fields["status"].choices = [("", _("全部狀態")), *ControlledPlan.Status.choices]
        self.fields["agency"].queryset = agencies
        self.fields["year"].widget.attrs.update({"inputmode": "numeric", "size": 4})
