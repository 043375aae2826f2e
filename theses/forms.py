"""Forms of the thesis pages. They validate input only: every write goes through theses.services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ApplicantProfile, Kind, ThesisApplication, ThesisCall, ThesisDocument
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
