"""Admin of plan control: the year's settings are editable; plans and reports change state only through the
services (which leave a log row), so their states are read-only here; so is the monthly tally the services
keep (repaired by the `rebuild_monthly_tally` command, never by hand). The pre-budget review is read-only here: its
amounts change only through the services, which write the amount ledger, itself never edited."""

from django.contrib import admin

from workflow_site.admin import ReadOnlyAdmin

from .models import (
    AmountLedger,
    BudgetCeiling,
    BudgetCycle,
    BudgetRequest,
    ControlledPlan,
    ControlYear,
    MonthlyTally,
    ProgressReport,
    ReviewMeeting,
    SiteVisit,
)


@admin.register(ControlYear)
class ControlYearAdmin(admin.ModelAdmin):
    list_display = ("year", "lag_threshold", "report_day", "alert_after_months")
    fields = ("year", "lag_threshold", "report_day", "alert_after_months")
    ordering = ("-year",)

    def get_readonly_fields(self, request, obj=None):
        return ("year",) if obj is not None else ()


@admin.register(ControlledPlan)
class ControlledPlanAdmin(admin.ModelAdmin):
    list_display = ("year", "code", "agency", "title", "budget", "status")
    list_filter = ("year", "status")
    search_fields = ("code", "title")
    list_select_related = ("agency",)
    raw_id_fields = ("officer",)
    fields = ("year", "code", "agency", "title", "budget", "officer", "planned_progress", "status", "created_at")
    # Plans come from the import; the state moves only through the services. The title, the budget and the
    # RDEC officer in charge may be corrected here.
    readonly_fields = ("year", "code", "agency", "planned_progress", "status", "created_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ProgressReport)
class ProgressReportAdmin(ReadOnlyAdmin):
    list_display = ("plan", "month", "status", "lagging", "lag_points")
    list_filter = ("year", "month", "status", "lagging")
    search_fields = ("plan__code", "plan__title")
    list_select_related = ("plan",)


@admin.register(MonthlyTally)
class MonthlyTallyAdmin(ReadOnlyAdmin):
    list_display = ("year", "month", "agency", "plans", "on_track", "lagging")
    list_filter = ("year", "month")
    list_select_related = ("agency",)


# ---- the pre-budget review -----------------------------------------------------------------------------------


@admin.register(BudgetCycle)
class BudgetCycleAdmin(ReadOnlyAdmin):
    list_display = ("fiscal_year", "status", "public_ceiling", "fund_ceiling", "request_deadline", "approved_at")
    list_filter = ("status",)


@admin.register(BudgetCeiling)
class BudgetCeilingAdmin(ReadOnlyAdmin):
    list_display = ("cycle", "agency", "public", "fund")
    list_filter = ("cycle",)
    list_select_related = ("cycle", "agency")


@admin.register(BudgetRequest)
class BudgetRequestAdmin(ReadOnlyAdmin):
    list_display = ("cycle", "agency", "title", "kind", "total", "central_review", "status")
    list_filter = ("cycle", "status", "kind", "central_review")
    search_fields = ("title", "agency__name")
    list_select_related = ("cycle", "agency")


@admin.register(ReviewMeeting)
class ReviewMeetingAdmin(ReadOnlyAdmin):
    list_display = ("cycle", "date", "place", "status")
    list_filter = ("cycle", "status")
    list_select_related = ("cycle",)


@admin.register(SiteVisit)
class SiteVisitAdmin(ReadOnlyAdmin):
    list_display = ("cycle", "date")
    list_filter = ("cycle",)
    list_select_related = ("cycle",)


@admin.register(AmountLedger)
class AmountLedgerAdmin(ReadOnlyAdmin):
    """Read-only: the ledger is evidence (a database trigger refuses changes too)."""

    list_display = ("at", "request", "field", "from_amount", "to_amount", "actor", "reason")
    list_filter = ("field",)
    search_fields = ("request__title", "actor__username", "reason")
    list_select_related = ("request", "actor")
    date_hierarchy = "at"
