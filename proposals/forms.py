"""Forms of the proposal back office. They validate input only: every write goes through proposals.services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Proposal, ProposalRound
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
