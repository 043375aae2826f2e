from django.contrib import admin

from workflow_site.admin import ReadOnlyAdmin

from .models import Notification, NotificationPreference, ReminderRule


@admin.register(ReminderRule)
class ReminderRuleAdmin(admin.ModelAdmin):
    """Admins tune when reminders go out; the form runs ReminderRule.clean (kind, offsets, templates) before saving."""

    list_display = ("kind", "name", "offsets", "channels", "escalate_after", "active")
    list_filter = ("kind", "active")
    search_fields = ("kind", "name")


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "daily_digest")
    list_filter = ("daily_digest",)
    search_fields = ("user__username", "user__display_name", "user__email")
    list_select_related = ("user",)
    raw_id_fields = ("user",)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """Read-only: each row is the proof that notice was given, so nobody adds, edits or deletes one."""

    list_display = ("recipient", "channel", "state", "subject", "due_date", "sent_at", "attempts", "read_at")
    list_filter = ("channel", "state", "purpose", "kind")
    search_fields = (
        "recipient__username",
        "recipient__display_name",
        "recipient__email",
        "to_address",
        "item_title",
        "=object_id",
    )
    list_select_related = ("recipient",)
    date_hierarchy = "created_at"
    show_full_result_count = False  # the log grows by thousands a day; skip the second COUNT(*)
