"""Forms of the pre-budget review pages. They check the shape of the input only (integers, dates, choices): every
rule of the review (thresholds, sums, stages, ceilings) is the services', whose refusals land on these fields."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Agency, User
from accounts.roles import Role
from workflow_site.forms import MoneyField

from ..models import BudgetCycle, BudgetRequest
from ..models.budget import MAX_AMOUNT, SOURCES, Source

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DOCUMENT_HELP = _("計畫書：ODT、DOCX 或 PDF（依檔案內容判斷），20 MB 以內。")
PHOTO_HELP = _("JPEG 或 PNG（依檔案內容判斷），10 MB 以內。")


def _amount(label, *, required: bool = False) -> MoneyField:
    """NT$ as an integer (the service names the range): typed with or without separators, read out in 億/萬 beside
    the box as it is typed."""
    return MoneyField(label=label, required=required, min_value=0, max_value=MAX_AMOUNT)


def _digits(value: str, most: int) -> bool:
    """ASCII digits only (str.isdigit also takes "²"), at most `most` of them: the services check the range."""
    return value.isascii() and value.isdecimal() and len(value) <= most


class AmountsMixin:
    """Four amount fields, one per source, and `amounts()` as the services take them (a blank one is 0)."""

    def add_amount_fields(self, label_format: str, *, required: bool = False) -> None:
        for source in SOURCES:
            self.fields[source] = _amount(label_format % {"source": Source(source).label}, required=required)

    def amounts(self) -> dict[str, int]:
        return {source: self.cleaned_data.get(source) or 0 for source in SOURCES}

    def amounts_given(self) -> bool:
        return any(self.cleaned_data.get(source) is not None for source in SOURCES)


# ---- cycles --------------------------------------------------------------------------------------------------


class CycleForm(forms.Form):
    fiscal_year = forms.IntegerField(label=_("預算年度（民國）"), min_value=1, max_value=999)
    public_ceiling = _amount(_("公務預算額度（新臺幣元）"), required=True)
    fund_ceiling = _amount(_("基金預算額度（新臺幣元）"), required=True)
    new_plan_threshold = _amount(_("新興計畫總經費門檻（新臺幣元）"), required=True)
    continuing_threshold = _amount(_("延續性計畫年度經費門檻（新臺幣元）"), required=True)
    central_review_threshold = _amount(_("報中央審議門檻（新臺幣元）"), required=True)
    request_deadline = forms.DateField(label=_("申請截止日"), widget=DATE)
    meeting_start = forms.DateField(label=_("初審會議期間（起）"), widget=DATE)
    meeting_end = forms.DateField(label=_("初審會議期間（迄）"), widget=DATE)
    balancing_date = forms.DateField(label=_("綜合平衡日"), widget=DATE)

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:  # the fiscal year is the cycle's identity
            del self.fields["fiscal_year"]
        else:
            for name in ("new_plan_threshold", "continuing_threshold", "central_review_threshold"):
                self.fields[name].initial = BudgetCycle._meta.get_field(name).default

    @staticmethod
    def initial_from(cycle: BudgetCycle) -> dict:
        return {name: getattr(cycle, name) for name in CycleForm.base_fields if name != "fiscal_year"}


class CeilingForm(forms.Form):
    """An agency's own ceilings; both blank removes them."""

    agency = forms.ModelChoiceField(label=_("機關"), queryset=Agency.objects.order_by("code"))
    public = _amount(_("公務預算額度（新臺幣元）"))
    fund = _amount(_("基金預算額度（新臺幣元）"))


# ---- requests ------------------------------------------------------------------------------------------------


def parse_years(text: str) -> dict[str, int]:
    """ "117=20000000" lines (ROC year = NT$, "," allowed in the amount) -> {"117": 20000000}."""
    years: dict[str, int] = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        year, sep, amount = line.replace("＝", "=").partition("=")
        amount = amount.replace(",", "").strip()
        if not sep or not _digits(year.strip(), 4) or not _digits(amount, 19):
            raise forms.ValidationError(
                _("第 %(n)d 行須寫成「年度=金額」，例如 117=20000000。") % {"n": number}, code="bad_line"
            )
        key = str(int(year))
        if key in years:
            raise forms.ValidationError(_("同一年度只能填一次：%(year)s") % {"year": key}, code="twice")
        years[key] = int(amount)
    return years


def format_years(years: dict, fiscal_year: int) -> str:
    return "\n".join(f"{year}={amount}" for year, amount in sorted(years.items()) if year != str(fiscal_year))


class RequestForm(AmountsMixin, forms.Form):
    """A clerk's request: the cycle (when new), the plan, the cycle year's amounts by source, the other years and the
    plan document."""

    cycle = forms.ModelChoiceField(label=_("年度"), queryset=BudgetCycle.objects.none())
    title = forms.CharField(label=_("計畫名稱"), max_length=300)
    kind = forms.ChoiceField(label=_("計畫類別"), choices=BudgetRequest.Kind.choices)
    total = _amount(_("本年度申請總額（新臺幣元）"), required=True)
    years = forms.CharField(
        label=_("其他年度經費"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("中長程計畫的其他年度，每行一年：年度=金額（例如 117=20000000）；本年度即申請總額。"),
    )
    justification = forms.CharField(
        label=_("計畫說明"), required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 5})
    )
    file = forms.FileField(label=_("計畫書"), required=False, help_text=DOCUMENT_HELP)

    field_order = ["cycle", "title", "kind", *SOURCES, "total", "years", "justification", "file"]

    def __init__(self, *args, cycles=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_amount_fields(_("本年度%(source)s（新臺幣元）"))
        if cycles is None:
            del self.fields["cycle"]
        else:
            self.fields["cycle"].queryset = cycles
        self.order_fields(self.field_order)

    def clean_years(self):
        return parse_years(self.cleaned_data["years"])

    def service_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "kind": data["kind"],
            "amounts": self.amounts(),
            "total": data["total"],
            "years": data["years"],
            "justification": data["justification"],
        }

    @staticmethod
    def initial_from(request: BudgetRequest) -> dict:
        return {
            "title": request.title,
            "kind": request.kind,
            "total": request.total,
            "years": format_years(request.years, request.cycle.fiscal_year),
            "justification": request.justification,
            **request.amounts("requested"),
        }


class RequestFilterForm(forms.Form):
    cycle = forms.ModelChoiceField(
        label=_("年度"), queryset=BudgetCycle.objects.order_by("-fiscal_year"), required=False, empty_label=_("全部")
    )
    agency = forms.ModelChoiceField(
        label=_("機關"), queryset=Agency.objects.order_by("code"), required=False, empty_label=_("全部機關")
    )
    status = forms.ChoiceField(
        label=_("狀態"), required=False, choices=[("", _("全部狀態")), *BudgetRequest.Status.choices]
    )


class RecommendForm(AmountsMixin, forms.Form):
    note = forms.CharField(label=_("審查意見"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    field_order = [*SOURCES, "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_amount_fields(_("建議%(source)s"))
        self.order_fields(self.field_order)


DECISION_CHOICES = [
    ("approved", _("照案核定")),
    ("cut", _("核減")),
    ("rejected", _("不予核列")),
]


class DecideForm(AmountsMixin, forms.Form):
    """RDEC's decision; blank amounts take the recommendation. The override reason is a supervisor's field only."""

    decision = forms.ChoiceField(label=_("決定"), choices=DECISION_CHOICES)
    reason = forms.CharField(label=_("理由"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    override_reason = forms.CharField(
        label=_("超過額度核可理由（主管）"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("核定後超過年度或機關額度時，研考會主管須填寫理由。"),
    )

    field_order = ["decision", *SOURCES, "reason", "override_reason"]

    def __init__(self, *args, may_override: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_amount_fields(_("核定%(source)s"))
        if not may_override:
            del self.fields["override_reason"]
        self.order_fields(self.field_order)

    def service_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "decision": data["decision"],
            "amounts": self.amounts() if self.amounts_given() else None,
            "reason": data["reason"],
            "override_reason": data.get("override_reason", ""),
        }


# ---- meetings and site visits --------------------------------------------------------------------------------


class RequestChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.agency.name}：{obj.title}"


class MeetingForm(forms.Form):
    date = forms.DateField(label=_("會議日期"), widget=DATE)
    place = forms.CharField(label=_("地點"), max_length=200)
    requests = RequestChoiceField(
        label=_("審查案件"), queryset=BudgetRequest.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    attendees = forms.ModelMultipleChoiceField(
        label=_("出席人員"), queryset=User.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    agencies = forms.ModelMultipleChoiceField(
        label=_("相關機關"),
        queryset=Agency.objects.order_by("code"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("審查案件的主辦機關會自動列入。"),
    )

    def __init__(self, *args, requests, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["requests"].queryset = requests
        self.fields["attendees"].queryset = (
            User.objects.filter(
                is_active=True,
                groups__name__in=[Role.RDEC_OFFICER, Role.RDEC_SUPERVISOR, Role.REVIEWER],
            )
            .distinct()
            .order_by("username")
        )

    def service_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "date": data["date"],
            "place": data["place"],
            "request_ids": [r.pk for r in data["requests"]],
            "attendee_ids": [u.pk for u in data["attendees"]],
            "agency_ids": [a.pk for a in data["agencies"]],
        }


class HoldForm(forms.Form):
    minutes = forms.CharField(label=_("會議紀錄"), max_length=20_000, widget=forms.Textarea(attrs={"rows": 5}))


class SiteVisitForm(forms.Form):
    date = forms.DateField(label=_("訪查日期"), widget=DATE)
    requests = RequestChoiceField(
        label=_("訪查計畫"), queryset=BudgetRequest.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    findings = forms.CharField(
        label=_("訪查意見"), required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 5})
    )
    photo = forms.FileField(label=_("照片"), required=False, help_text=PHOTO_HELP)

    def __init__(self, *args, requests=None, **kwargs):
        super().__init__(*args, **kwargs)
        if requests is None:  # editing: the visited plans and photos stay as they are
            del self.fields["requests"]
            del self.fields["photo"]
        else:
            self.fields["requests"].queryset = requests


class PhotoForm(forms.Form):
    photo = forms.FileField(label=_("照片"), help_text=PHOTO_HELP)
