"""Forms of the review engine's pages. They validate input only: every write goes through a service."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Adoption, Panel, PanelMember


class AdoptionAnswerForm(forms.Form):
    """An agency's answer to an adoption question: adopt, partly adopt or decline, with the reason."""

    response = forms.ChoiceField(label=_("回復"), choices=Adoption.Response.choices, widget=forms.RadioSelect)
    reason = forms.CharField(label=_("理由"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))


class ReviewerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user) -> str:
        return f"{user}（{user.agency.name}）" if user.agency_id else str(user)


class PanelMemberAddForm(forms.Form):
    """An RDEC officer puts a reviewer from the pool on a panel: as a scoring member while it forms (optionally the
    chair), or as a reserve member (備位) any time before the results are final."""

    user = ReviewerChoiceField(
        label=_("評審委員"),
        queryset=None,
        empty_label=_("請選擇評審委員"),
        help_text=_("只列出具評審委員身分、尚未加入本審查會的使用者。"),
    )
    kind = forms.ChoiceField(label=_("委員類別"), choices=PanelMember.Kind.choices, widget=forms.RadioSelect)
    is_chair = forms.BooleanField(label=_("擔任召集人"), required=False)
    reserve = forms.BooleanField(
        label=_("備位委員"), required=False, help_text=_("備位委員不評分，僅在委員迴避時由召集人改派項目。")
    )

    def __init__(self, *args, panel: Panel, pool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = pool
        if panel.status != Panel.Status.FORMING:
            # Scoring has started: only a reserve member may still join.
            self.fields["reserve"].initial = True
            self.fields["reserve"].disabled = True
            self.fields["is_chair"].disabled = True
            self.fields["reserve"].help_text = _("評分已開始，只能再加入備位委員。")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("is_chair") and cleaned.get("reserve"):
            self.add_error("is_chair", _("備位委員不能擔任召集人。"))
        return cleaned
