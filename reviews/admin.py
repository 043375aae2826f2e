"""Admin for the review engine. States and scores change only through services, so those are read-only here."""

from django.contrib import admin

from workflow_site.admin import ReadOnlyAdmin

from .models import Adoption, Criterion, GradeBand, ItemResult, Panel, PanelMember, Rubric, ScoreSheet, TieResolution


class CriterionInline(admin.TabularInline):
    model = Criterion
    extra = 0
    fields = ("order", "code", "name", "weight", "max_score", "guidance")


@admin.register(Rubric)
class RubricAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)
    inlines = [CriterionInline]


class PanelMemberInline(admin.TabularInline):
    model = PanelMember
    extra = 0
    fields = ("user", "kind", "is_chair", "reserve")
    autocomplete_fields = ("user",)


class GradeBandInline(admin.TabularInline):
    model = GradeBand
    extra = 0
    fields = ("order", "grade", "label", "quota_count", "quota_percent", "min_score")


@admin.register(Panel)
class PanelAdmin(admin.ModelAdmin):
    list_display = ("title", "status", "aggregation", "scoring_deadline", "created_at")
    list_filter = ("status", "aggregation")
    search_fields = ("title",)
    list_select_related = ("rubric",)
    readonly_fields = ("status", "round_type", "round_id", "created_at")
    fields = (
        "title",
        "rubric",
        "round_type",
        "round_id",
        "status",
        "aggregation",
        "min_members",
        "min_external",
        "deviation_points",
        "hide_agency",
        "scoring_deadline",
        "created_at",
    )
    inlines = [PanelMemberInline, GradeBandInline]

    def has_add_permission(self, request) -> bool:
        return False  # a panel belongs to a round: its domain app creates it through services.panel_create


@admin.register(ScoreSheet)
class ScoreSheetAdmin(ReadOnlyAdmin):
    list_display = ("item", "member", "panel", "status", "total", "submitted_at", "updated_at")
    list_filter = ("status", "panel")
    search_fields = ("member__user__username", "member__user__display_name", "item__title")
    list_select_related = ("item", "member__user", "panel")


@admin.register(ItemResult)
class ItemResultAdmin(ReadOnlyAdmin):
    list_display = ("item", "panel", "rank", "score", "grade", "sheet_count")
    list_filter = ("panel", "grade")
    search_fields = ("item__title",)
    list_select_related = ("item", "panel")


@admin.register(TieResolution)
class TieResolutionAdmin(ReadOnlyAdmin):
    list_display = ("panel", "item_ids", "resolved_by", "resolved_at")
    list_filter = ("panel",)
    list_select_related = ("panel", "resolved_by")


@admin.register(Adoption)
class AdoptionAdmin(ReadOnlyAdmin):
    """Every process's adoption questions (filter by subject type for one process's)."""

    list_display = ("title", "subject_type", "agency", "status", "response", "due_date", "answered_at")
    list_filter = ("subject_type", "status", "response")
    search_fields = ("title", "agency__name")
    list_select_related = ("subject_type", "agency")
    raw_id_fields = ("agency", "answered_by")
