"""The sign-in and password pages (viewflow's AuthViewset) with the password rules shown as plain text.

viewflow's form fields show a field's help text as text, so Django's password rules, an HTML list, would appear as
"<ul><li>…" under the new-password field of the password change and reset pages.
"""

from __future__ import annotations

from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from viewflow.contrib.auth import AuthViewset


class _PlainPasswordRules:
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].help_text = " ".join(password_validation.password_validators_help_texts())


class PasswordChangeForm(_PlainPasswordRules, auth_forms.PasswordChangeForm):
    pass


class SetPasswordForm(_PlainPasswordRules, auth_forms.SetPasswordForm):
    pass


class SiteAuthViewset(AuthViewset):
    def get_pass_change_view_kwargs(self, **kwargs):
        return super().get_pass_change_view_kwargs(form_class=PasswordChangeForm, **kwargs)

    def get_pass_reset_confirm_view_kwargs(self, **kwargs):
        return super().get_pass_reset_confirm_view_kwargs(form_class=SetPasswordForm, **kwargs)
