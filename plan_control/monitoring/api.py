"""Plan control API: controlled plans, monthly progress reports, the monthly analysis.

Paths and fields named in the issue are a contract: add, never rename.
"""

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from accounts.roles import is_rdec_staff
from workflow_site.api import LONG_TEXT, SHORT_TEXT, JSONParser
from workflow_site.filters import StrictFilterSet

from ..models import ControlledPlan, ProgressReport
from . import selectors, services


class PlanSerializer(serializers.ModelSerializer):
    agency_name = serializers.CharField(source="agency.name", read_only=True)
    planned_progress = serializers.ListField(
        child=serializers.FloatField(), min_length=12, max_length=12, read_only=True
    )

    class Meta:
        model = ControlledPlan
        fields = [
            "id",
            "year",
            "code",
            "agency",
            "agency_name",
            "title",
            "budget",
            "planned_progress",
            "status",
            "officer",
            "created_at",
        ]
        read_only_fields = fields


class PlanImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="ODS, XLSX or CSV (UTF-8 with or without BOM, or Big5).")
    year = serializers.IntegerField(min_value=1, max_value=999, help_text="民國年度")


class PlanImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()


class PlanImportErrorSerializer(serializers.Serializer):
    """The import's 400, one of three shapes: `errors` (bad rows), `file`/`year` (a file that cannot be read or is
    too large, a bad year), or `detail` and `code` `request_too_large` with `limit` (a body past the upload limit)."""

    errors = inline_serializer(
        "PlanImportRowError",
        {
            "row": serializers.IntegerField(),
            "column": serializers.CharField(help_text="code, agency_code, title, budget or m1..m12"),
            "message": serializers.CharField(),
        },
        many=True,
        required=False,
    )
    file = serializers.ListField(child=serializers.CharField(), required=False)
    year = serializers.ListField(child=serializers.CharField(), required=False)
    detail = serializers.CharField(required=False)
    code = serializers.CharField(required=False)
    limit = serializers.IntegerField(required=False)


class PlanReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, required=False, default="", max_length=SHORT_TEXT)


class PlanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Controlled plans: RDEC staff see all, agencies their own (others 404). RDEC officers import and run them."""

    serializer_class = PlanSerializer
    filterset_fields = ["year", "status", "agency"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ControlledPlan.objects.none()
        return selectors.plan_list(viewer=self.request.user)

    def _reply(self, plan):
        return Response(PlanSerializer(self.get_queryset().get(pk=plan.pk)).data)

    @extend_schema(
        request={"multipart/form-data": PlanImportSerializer},
        responses={201: PlanImportResultSerializer, 400: PlanImportErrorSerializer},
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    def import_(self, request):
        """Import a year's plans from a spreadsheet (columns code, agency_code, title, budget, m1..m12), all or
        nothing: 400 `{"errors": [{"row", "column", "message"}]}` lists every bad row and nothing is saved; a file
        that cannot be read, has too many rows or columns, or a bad year is a 400 `{"file": [...]}` /
        `{"year": [...]}`, a body past the upload limit `{"detail", "code": "request_too_large", "limit"}`.
        RDEC officers."""
        payload = PlanImportSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            created = services.plans_import(
                actor=request.user, year=payload.validated_data["year"], upload=payload.validated_data["file"]
            )
        except services.ImportRejected as exc:
            return Response({"errors": exc.rows}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"created": created}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=PlanSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        """registered -> in_execution: monthly reporting begins (RDEC officer)."""
        return self._reply(services.plan_start(plan_id=self.get_object().pk, actor=request.user))

    @extend_schema(request=None, responses=PlanSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        """in_execution -> completed (RDEC officer)."""
        return self._reply(services.plan_complete(plan_id=self.get_object().pk, actor=request.user))

    @extend_schema(request=PlanReasonSerializer, responses=PlanSerializer)
    @action(detail=True, methods=["post"])
    def terminate(self, request, pk=None):
        """registered | in_execution -> terminated, with the reason (RDEC officer)."""
        payload = PlanReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self._reply(
            services.plan_terminate(plan_id=self.get_object().pk, actor=request.user, **payload.validated_data)
        )


class ProgressReportSerializer(serializers.ModelSerializer):
    plan = serializers.PrimaryKeyRelatedField(queryset=ControlledPlan.objects.all())
    plan_code = serializers.CharField(source="plan.code", read_only=True)
    plan_title = serializers.CharField(source="plan.title", read_only=True)
    planned_percent = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=False, read_only=True)
    actual_percent = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        coerce_to_string=False,
        allow_null=True,
        required=False,
        min_value=0,
        max_value=100,
    )
    lag_points = serializers.DecimalField(
        max_digits=6, decimal_places=2, coerce_to_string=False, read_only=True, allow_null=True
    )  # null until submitted
    overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = ProgressReport
        fields = [
            "id",
            "plan",
            "plan_code",
            "plan_title",
            "agency",
            "year",
            "month",
            "due_date",
            "planned_percent",
            "actual_percent",
            "budget_executed",
            "narrative",
            "lag_reason",
            "remedy",
            "lag_points",
            "lagging",
            "consecutive_lagging",
            "return_reason",
            "status",
            "submitted_at",
            "opened_at",
            "overdue",
        ]
        read_only_fields = [
            "agency",
            "year",
            "due_date",
            "lagging",
            "consecutive_lagging",
            "return_reason",
            "status",
            "submitted_at",
            "opened_at",
        ]
        extra_kwargs = {
            "month": {"min_value": 1, "max_value": 12},
            **{field: {"max_length": LONG_TEXT} for field in ("narrative", "lag_reason", "remedy")},
        }
        # A second slot for the same month is the service's 409 `duplicate_report`, not a 400.
        validators = []

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list):
            # The slot is fixed once opened: only the agency's figures change.
            fields["plan"].read_only = True
            fields["month"].read_only = True
        return fields


class ProgressReportFilter(StrictFilterSet):
    """`?lagging=bogus` is a 400, not the unfiltered list."""

    class Meta:
        model = ProgressReport
        fields = ["year", "month", "status", "plan", "agency", "lagging"]


class ReportReturnSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, max_length=SHORT_TEXT)


class ProgressReportViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Monthly progress reports: RDEC officers open slots (`POST {plan, month}`, a second one is 409
    `duplicate_report`), the agency fills in its figures (`PATCH`) and submits, RDEC accepts or returns."""

    serializer_class = ProgressReportSerializer
    filterset_class = ProgressReportFilter
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ProgressReport.objects.none()
        return selectors.report_list(viewer=self.request.user)

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.report_open(
            actor=self.request.user, plan_id=data["plan"].pk, month=data["month"]
        )

    def perform_update(self, serializer):
        fields = {k: v for k, v in serializer.validated_data.items() if k in services.REPORT_FIELDS}
        serializer.instance = services.report_update(
            actor=self.request.user, report_id=serializer.instance.pk, **fields
        )

    def _reply(self, report):
        return Response(ProgressReportSerializer(self.get_queryset().get(pk=report.pk)).data)

    @extend_schema(request=None, responses=ProgressReportSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """pending | returned -> submitted (the agency). The lag is fixed against the year's threshold; a lag of
        that many points or more needs `lag_reason` and `remedy`."""
        return self._reply(services.report_submit(actor=request.user, report_id=self.get_object().pk))

    @extend_schema(request=None, responses=ProgressReportSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """submitted -> accepted (RDEC officer)."""
        return self._reply(services.report_accept(actor=request.user, report_id=self.get_object().pk))

    @extend_schema(request=ReportReturnSerializer, responses=ProgressReportSerializer)
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        """submitted -> returned with the reason (RDEC officer); it counts as not reported until resubmitted."""
        payload = ReportReturnSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        report = services.report_return(
            actor=request.user, report_id=self.get_object().pk, reason=payload.validated_data["reason"]
        )
        return self._reply(report)


class AnalysisShareSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    percent = serializers.DecimalField(max_digits=4, decimal_places=1, coerce_to_string=False)


class AnalysisAgencySerializer(serializers.Serializer):
    agency = serializers.IntegerField()
    agency_code = serializers.CharField()
    agency_name = serializers.CharField()
    total = serializers.IntegerField()
    on_track = serializers.IntegerField()
    lagging = serializers.IntegerField()
    not_reported = serializers.IntegerField()


class AnalysisLaggingPlanSerializer(serializers.Serializer):
    plan = serializers.IntegerField()
    code = serializers.CharField()
    title = serializers.CharField()
    agency = serializers.IntegerField()
    agency_name = serializers.CharField()
    planned_percent = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=False)
    actual_percent = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=False)
    lag_points = serializers.DecimalField(max_digits=6, decimal_places=2, coerce_to_string=False)
    lag_reason = serializers.CharField()
    remedy = serializers.CharField()
    consecutive_months = serializers.IntegerField()


class MonthlyAnalysisSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    month = serializers.IntegerField()
    threshold = serializers.DecimalField(max_digits=4, decimal_places=1, coerce_to_string=False)
    total = serializers.IntegerField()
    on_track = AnalysisShareSerializer()
    lagging = AnalysisShareSerializer()
    not_reported = AnalysisShareSerializer()
    by_agency = AnalysisAgencySerializer(many=True)
    lagging_plans = AnalysisLaggingPlanSerializer(many=True)


class MonthlyAnalysisQuerySerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=1, max_value=999)
    month = serializers.IntegerField(min_value=1, max_value=12)


@extend_schema(
    parameters=[
        OpenApiParameter("year", int, required=True, description="民國年度"),
        OpenApiParameter("month", int, required=True, description="1-12"),
    ],
    responses=MonthlyAnalysisSerializer,
)
@api_view(["GET"])
@permission_classes([permissions.IsAuthenticated])
def monthly_analysis(request):
    """月分析報告: plans on track (completed or lagging below the threshold), lagging, not reported (a returned
    report counts as not reported), by agency, and the lagging plans with their reasons. RDEC staff only."""
    if not is_rdec_staff(request.user):
        raise exceptions.PermissionDenied()
    query = MonthlyAnalysisQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    analysis = selectors.monthly_analysis(**query.validated_data)
    return Response(MonthlyAnalysisSerializer(analysis).data)


# Mounted under /api/v1/ by workflow_site.api (registered in the app's AppConfig.ready()).
ROUTES = [
    ("plans", PlanViewSet, "plan"),
    ("progress-reports", ProgressReportViewSet, "progress-report"),
]
PATHS = [path("monthly-analysis/", monthly_analysis, name="api-monthly-analysis")]
