from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from workflow_site.errors import ApplicationError

from . import services
from .models import Agency, Delegation, User


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en", "kind", "parent", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name", "name_en")
    list_select_related = ("parent",)
    autocomplete_fields = ("parent",)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "display_name", "email", "agency", "is_active", "is_superuser")
    list_filter = ("is_active", "is_superuser", "groups", "agency__kind")
    search_fields = ("username", "display_name", "email", "agency__name")
    list_select_related = ("agency",)
    autocomplete_fields = ("agency",)
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("機關與顯示名稱"), {"fields": ("agency", "display_name")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("機關與顯示名稱"), {"fields": ("email", "agency", "display_name")}),
    )


class DelegationAdminForm(forms.ModelForm):
    """Runs the service's rules (services.delegation_validate) so that a refused substitute shows on the form."""

    request = None  # set by DelegationAdmin.get_form

    class Meta:
        model = Delegation
        fields = ["user", "substitute", "starts", "ends", "reason"]

    def clean(self):
        data = super().clean()
        if self.errors or self.request is None:
            return data
        try:
            services.delegation_validate(
                actor=self.request.user,
                user=data["user"],
                substitute=data["substitute"],
                starts=data["starts"],
                ends=data["ends"],
                reason=data["reason"],
            )
        except ApplicationError as exc:
            raise ValidationError(exc.message) from exc
        return data


@admin.register(Delegation)
class DelegationAdmin(admin.ModelAdmin):
    form = DelegationAdminForm
    list_display = ("user", "substitute", "starts", "ends", "status", "reason")
    list_filter = ("status",)
    search_fields = ("user__username", "user__display_name", "substitute__username", "substitute__display_name")
    list_select_related = ("user", "substitute")
    autocomplete_fields = ("user", "substitute")
    readonly_fields = ("status", "created_by", "created_at")
    actions = ["revoke_selected"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"request": request})

    def has_change_permission(self, request, obj=None) -> bool:
        # Delegations change only through the revoke transition, which is logged.
        return False

    def save_model(self, request, obj, form, change):
        obj_new = services.delegation_create(
            actor=request.user,
            user=obj.user,
            substitute=obj.substitute,
            starts=obj.starts,
            ends=obj.ends,
            reason=obj.reason,
        )
        obj.pk = obj_new.pk

    @admin.action(description=_("撤銷所選的職務代理"))
    def revoke_selected(self, request, queryset):
        done = 0
        for delegation in queryset:
            try:
                services.delegation_revoke(delegation_id=delegation.pk, actor=request.user, reason=_("管理介面撤銷"))
                done += 1
            except (ApplicationError, ValidationError) as exc:
                self.message_user(request, f"{delegation}：{exc}", messages.ERROR)
        if done:
            self.message_user(request, _("已撤銷 %(n)d 筆職務代理。") % {"n": done}, messages.SUCCESS)
