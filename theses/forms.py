"""Forms of the thesis pages. They validate input only: every write goes through theses.services."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from workflow_site.forms import MoneyField
from workflow_site.roc_calendar.forms import ROCDateField

from .models import MAX_AMOUNT, ApplicantProfile, Degree, Kind, ThesisApplication, ThesisCall, ThesisDocument
from .services import DRAFT_FIELDS

FILE_HELP = _("PDF、DOCX 或 ODT 格式（依檔案內容判斷），20 MB 以內。")


class ApplicationForm(forms.ModelForm):
    """What an applicant drafts (services.DRAFT_FIELDS); `.save()` is never called: the view calls the services."""

    class Meta:
        model = ThesisApplication
        fields = DRAFT_FIELDS
        widgets = {"defence_date": forms.DateInput(attrs={"type": "date"})}
        help_texts = {"defence_date": _("申請優良論文獎勵者必填，須在最近兩年內。")}


class NewApplicationForm(ApplicationForm):
    call = forms.ModelChoiceField(queryset=ThesisCall.objects.none(), label=_("年度"), empty_label=None)
    kind = forms.ChoiceField(label=_("類別"), choices=Kind.choices)
    file = forms.FileField(
        label=_("研究計畫或學位論文"),
        required=False,
        help_text=_("補助申請附研究計畫、獎勵申請附學位論文；PDF、DOCX 或 ODT 格式（依檔案內容判斷），20 MB 以內。"),
    )

    field_order = ["call", "kind", *DRAFT_FIELDS, "file"]

    def __init__(self, *args, calls, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["call"].queryset = calls


class DocumentForm(forms.Form):
    role = forms.ChoiceField(
        label=_("文件"), choices=[c for c in ThesisDocument.Role.choices if c[0] != ThesisDocument.Role.FINAL]
    )
    file = forms.FileField(label=_("檔案"), help_text=FILE_HELP)


class FinalForm(forms.Form):
    file = forms.FileField(label=_("論文完稿"), help_text=FILE_HELP)


class ApplicationFilterForm(forms.Form):
    call = forms.ModelChoiceField(
        queryset=ThesisCall.objects.none(), label=_("年度"), required=False, empty_label=_("全部年度")
    )
    status = forms.ChoiceField(label=_("狀態"), required=False)

    def __init__(self, *args, calls, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["call"].queryset = calls
        self.fields["status"].choices = [("", _("全部狀態")), *ThesisApplication.Status.choices]


class RegistrationForm(forms.Form):
    """Self-registration (services.applicant_register checks the rest: a taken username, a weak password)."""

    display_name = forms.CharField(label=_("姓名"), max_length=100)
    username = forms.CharField(label=_("帳號"), max_length=150, help_text=_("英文字母、數字或 @ . + - _。"))
    email = forms.EmailField(label=_("電子郵件"), max_length=254, help_text=_("驗證信寄到這個信箱。"))
    password = forms.CharField(
        label=_("密碼"), max_length=128, strip=False, widget=forms.PasswordInput(render_value=False)
    )
    password_again = forms.CharField(
        label=_("再次輸入密碼"), max_length=128, strip=False, widget=forms.PasswordInput(render_value=False)
    )

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password_again") and data["password"] != data["password_again"]:
            self.add_error("password_again", _("兩次輸入的密碼不同。"))
        return data


class ProfileForm(forms.ModelForm):
    """The applicant's profile; `.save()` is never called: the view calls services.profile_set."""

    class Meta:
        model = ApplicantProfile
        fields = ["university", "department", "degree", "advisor", "expected_date", "defence_date"]
        widgets = {
            "expected_date": forms.DateInput(attrs={"type": "date"}),
            "defence_date": forms.DateInput(attrs={"type": "date"}),
        }


# ---------------------------------------------------------------- calls (RDEC)

TRACKS = [(kind, degree) for kind in Kind.values for degree in Degree.values]


class CriterionForm(forms.Form):
    """One row of a kind's rubric: what is scored, its weight and full marks."""

    name = forms.CharField(label=_("評分項目"), max_length=200)
    weight = forms.DecimalField(label=_("權重（%）"), min_value=Decimal("0.01"), max_value=100, decimal_places=2)
    max_score = forms.DecimalField(label=_("滿分"), min_value=Decimal("0.01"), max_digits=6, decimal_places=2)


class BaseCriterionFormSet(forms.BaseFormSet):
    def criteria(self) -> list[dict]:
        """The rows filled in, in order, as reviews.services.rubric_create takes them (codes by position)."""
        rows = [f.cleaned_data for f in self.forms if f.cleaned_data]
        return [
            {"code": f"c{n}", "name": row["name"], "weight": row["weight"], "max_score": row["max_score"]}
            for n, row in enumerate(rows, start=1)
        ]


CriterionFormSet = forms.formset_factory(CriterionForm, formset=BaseCriterionFormSet, extra=3, max_num=20)


class CallForm(forms.Form):
    """新增獎補助年度: dates in ROC years, the panels' rule, and per kind and degree the quota, the amount (typed as
    people write it: 30,000 or ３００００) and the minimum score; a kind's rubric is copied from an earlier call or
    typed row by row (`CriterionFormSet`, one per kind)."""

    year = forms.IntegerField(label=_("年度（民國）"), min_value=1, max_value=999, help_text=_("例如 116。"))
    title = forms.CharField(
        label=_("名稱"), max_length=200, required=False, help_text=_("留空則為「○○○年度學位論文獎補助」。")
    )
    application_deadline = ROCDateField(label=_("申請截止日"), help_text=_("以民國年輸入，例如 116/03/31。"))
    review_deadline = ROCDateField(label=_("評分截止日"))
    final_due_date = ROCDateField(label=_("補助論文完稿繳交期限"))
    double_blind = forms.BooleanField(
        label=_("雙盲審查"), required=False, initial=True, help_text=_("委員看不到申請人姓名與學校。")
    )
    retention_days = forms.IntegerField(label=_("未獲補助申請資料保存天數"), min_value=30, max_value=3650, initial=365)
    min_members = forms.IntegerField(label=_("每個審查會最少委員人數"), min_value=1, max_value=99, initial=3)
    min_external = forms.IntegerField(label=_("最少外部委員人數"), min_value=0, max_value=99, initial=0)

    def __init__(self, *args, rubric_calls=(), call: ThesisCall | None = None, **kwargs):
        """With `call`: its settings page, where the year and the set of tracks and rubrics stay as they are."""
        if call is not None:
            kwargs.setdefault("initial", self.initial_from(call))
        super().__init__(*args, **kwargs)
        kinds, degrees = dict(Kind.choices), dict(Degree.choices)
        self.tracks = TRACKS if call is None else [(t.kind, t.degree) for t in call.tracks.all()]
        if call is not None:
            self.fields["year"].disabled = True
        for kind, degree in self.tracks:
            name = _("%(degree)s%(kind)s") % {"degree": degrees[degree], "kind": kinds[kind]}
            self.fields[f"{kind}_{degree}_quota"] = forms.IntegerField(
                label=_("%(track)s名額") % {"track": name}, min_value=0, max_value=1000, required=call is not None
            )
            self.fields[f"{kind}_{degree}_amount"] = MoneyField(
                label=_("%(track)s每名金額") % {"track": name}, max_value=MAX_AMOUNT, required=call is not None
            )
            self.fields[f"{kind}_{degree}_min_score"] = forms.DecimalField(
                label=_("%(track)s最低分數") % {"track": name},
                min_value=0,
                max_value=100,
                decimal_places=2,
                required=False,
                initial=70,
            )
        for kind in Kind.values if call is None else ():
            choices = [("", _("依下方評分項目"))]
            choices += [
                (str(c.pk), _("沿用「%(title)s」的評分表") % {"title": c.title})
                for c in rubric_calls
                if kind in c.kinds
            ]
            self.fields[f"{kind}_rubric_source"] = forms.ChoiceField(
                label=_("%(kind)s評分表") % {"kind": kinds[kind]}, choices=choices, required=False
            )

    def track_rows(self):
        """(track name, quota, amount, minimum score) bound fields per kind and degree, for the template."""
        kinds, degrees = dict(Kind.choices), dict(Degree.choices)
        return [
            (
                f"{degrees[degree]}{kinds[kind]}",
                self[f"{kind}_{degree}_quota"],
                self[f"{kind}_{degree}_amount"],
                self[f"{kind}_{degree}_min_score"],
            )
            for kind, degree in self.tracks
        ]

    def clean(self):
        data = super().clean()
        for kind, degree in self.tracks:
            if data.get(f"{kind}_{degree}_quota") and not data.get(f"{kind}_{degree}_amount"):
                self.add_error(f"{kind}_{degree}_amount", _("有名額的類別須設定金額。"))
        if not any(data.get(f"{kind}_{degree}_quota") for kind, degree in self.tracks):
            self.add_error(None, _("請至少設定一個類別與學位的名額及金額。"))
        if not data.get("title") and data.get("year"):
            data["title"] = _("%(year)s年度學位論文獎補助") % {"year": data["year"]}
        return data

    def kinds(self) -> set[str]:
        return {kind for kind, degree in self.tracks if self.cleaned_data.get(f"{kind}_{degree}_quota")}

    def settings(self) -> dict:
        """What services.call_create takes, but the rubrics."""
        data = self.cleaned_data
        tracks = [
            {
                "kind": kind,
                "degree": degree,
                "quota": data[f"{kind}_{degree}_quota"],
                "amount": data[f"{kind}_{degree}_amount"],
                "min_score": data[f"{kind}_{degree}_min_score"],
            }
            for kind, degree in self.tracks
            if data.get(f"{kind}_{degree}_quota")
        ]
        keys = ("year", "title", "application_deadline", "review_deadline", "final_due_date", "double_blind")
        return {
            **{key: data[key] for key in keys},
            "retention_days": data["retention_days"],
            "min_members": data["min_members"],
            "min_external": data["min_external"],
            "tracks": tracks,
        }

    @staticmethod
    def initial_from(call: ThesisCall) -> dict:
        initial = {
            key: getattr(call, key)
            for key in ("year", "title", "application_deadline", "review_deadline", "final_due_date", "double_blind")
        }
        initial["retention_days"] = call.retention_days
        panel = next((t.panel for t in call.tracks.all() if t.panel is not None), None)
        if panel is not None:
            initial.update(min_members=panel.min_members, min_external=panel.min_external)
        for track in call.tracks.all():
            prefix = f"{track.kind}_{track.degree}"
            initial.update(
                {
                    f"{prefix}_quota": track.quota,
                    f"{prefix}_amount": track.amount,
                    f"{prefix}_min_score": track.min_score,
                }
            )
        return initial
