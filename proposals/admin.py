"""Read-only admin of the proposal process: states change only through the services (and leave a log row).
Adoption questions are the review engine's (reviews.admin)."""

from django.contrib import admin

from workflow_site.admin import ReadOnlyAdmin

from .models import Attachment, Proposal, ProposalRound


@admin.register(ProposalRound)
class ProposalRoundAdmin(ReadOnlyAdmin):
    list_display = ("year", "title", "status", "submission_deadline", "scoring_deadline", "published_at")
    list_filter = ("status",)
    search_fields = ("title",)


class AttachmentInline(admin.TabularInline):
    model = Attachment
    fields = ("name", "kind", "size", "is_award_report", "uploaded_by", "uploaded_at")
    readonly_fields = fields
    extra = 0

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Proposal)
class ProposalAdmin(ReadOnlyAdmin):
    list_display = ("title", "agency", "round", "status", "grade", "rank", "score", "updated_at")
    list_filter = ("round", "status", "grade")
    search_fields = ("title", "agency__name", "agency__code")
    list_select_related = ("agency", "round")
    raw_id_fields = ("agency", "created_by")
    inlines = [AttachmentInline]
