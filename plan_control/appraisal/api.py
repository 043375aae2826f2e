"""Year-end appraisal API (年終考核): rounds, the per-plan appraisals, and the agencies' annual summaries.

Paths and fields named in the issue are a contract: add, never rename. Rounds are run by RDEC officers (the
rollup is a Celery group: `rollup/` answers 202 and `progress/` tells how far it got); agencies see and
self-assess only their own plans' appraisals (others 404); RDEC reviews and finalises.
"""

from __future__ import annotations

from decimal import Decimal

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.response import Response

from accounts.roles import is_rdec_staff
from workflow_site.api import LONG_TEXT

from ..models import Appraisal, AppraisalGrade, AppraisalRound
from . import selectors, services


def _plain(value):
    """A Decimal as a JSON number for the round's JSON fields (an int when whole)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


@extend_schema_field(
    {
        "type": "string",
        "pattern": "^(excellent|a|b|c)$",
        "description": "excellent 優等, a 甲等, b 乙等, c 丙等",
    }
)
class AppraisalGradeField(serializers.ChoiceField):
    """The appraisal grade, as a pattern rather than an enum: drf-spectacular hoists every enum into a component
    named after the field, which would collide with proposals' `grade` (ENUM_NAME_OVERRIDES, in settings, is where
    a shared `AppraisalGradeEnum` would be named)."""

    def __init__(self, **kwargs):
        super().__init__(choices=AppraisalGrade.choices, **kwargs)


class AppraisalWeightsSerializer(serializers.Serializer):
    progress = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, coerce_to_string=False
    )
    timeliness = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, coerce_to_string=False
    )
    completion = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, coerce_to_string=False
    )
    budget = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, coerce_to_string=False
    )


class AppraisalGradeBandSerializer(serializers.Serializer):
    grade = AppraisalGradeField()
    min_score = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, coerce_to_string=False
    )
    quota_percent = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=100,
        coerce_to_string=False,
        allow_null=True,
        required=False,
        default=None,
        help_text="At most this percent of the round's plans (rounded down) get this grade; null: no quota.",
    )


class AppraisalRoundSerializer(serializers.ModelSerializer):
    weights = AppraisalWeightsSerializer(
        required=False, help_text="Component weights (progress, timeliness, completion, budget), summing to 100."
    )
    grade_bands = AppraisalGradeBandSerializer(
        many=True,
        required=False,
        help_text="excellent, a, b, c in that order; minimum scores decreasing, c's minimum 0; optional quotas.",
    )

    class Meta:
        model = AppraisalRound
        fields = [
            "id",
            "year",
            "status",
            "weights",
            "grade_bands",
            "self_assessment_due",
            "review_due",
            "rollup_task_id",
            "rollup_total",
            "rollup_started_at",
            "finalised_at",
            "created_at",
        ]
        read_only_fields = [
            "status",
            "rollup_task_id",
            "rollup_total",
            "rollup_started_at",
            "finalised_at",
            "created_at",
        ]
        extra_kwargs = {"year": {"min_value": 1, "max_value": 999, "help_text": "民國年度"}}


class AppraisalRollupStartedSerializer(serializers.Serializer):
    task_id = serializers.CharField()
    status = serializers.CharField()


class AppraisalProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    status = serializers.CharField()


class AppraisalDistributionSerializer(serializers.Serializer):
    grade = AppraisalGradeField()
    count = serializers.IntegerField()
    percent = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=False)


class AppraisalResultItemSerializer(serializers.Serializer):
    plan = serializers.IntegerField()
    final_score = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=False)
    grade = AppraisalGradeField()


class AppraisalResultsSerializer(serializers.Serializer):
    distribution = AppraisalDistributionSerializer(many=True)
    items = AppraisalResultItemSerializer(many=True)


class AppraisalRoundViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Year-end appraisal rounds: everyone signed in reads them; RDEC officers create and run them; RDEC officers
    or supervisors finalise."""

    serializer_class = AppraisalRoundSerializer
    filterset_fields = ["year", "status"]

    def get_queryset(self):
        return AppraisalRound.objects.order_by("-year")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        weights = data.pop("weights", None)
        bands = data.pop("grade_bands", None)
        serializer.instance = services.appraisal_round_create(
            actor=self.request.user,
            weights={k: _plain(v) for k, v in weights.items()} if weights is not None else None,
            grade_bands=[{k: _plain(v) for k, v in band.items()} for band in bands] if bands is not None else None,
            **data,
        )

    def _reply(self, round_: AppraisalRound) -> Response:
        return Response(AppraisalRoundSerializer(AppraisalRound.objects.get(pk=round_.pk)).data)

    @extend_schema(request=None, responses={202: AppraisalRollupStartedSerializer})
    @action(detail=True, methods=["post"])
    def rollup(self, request, pk=None):
        """open | rolling_up | self_assessment -> rolling_up: one Celery task per agency computes its plans'
        suggested scores from the twelve monthly reports; follow it with `progress/`. 202 with the task id.
        A rerun recomputes the same rows and keeps the self-assessments (RDEC officer)."""
        round_ = services.appraisal_rollup_start(round_id=self.get_object().pk, actor=request.user)
        return Response({"task_id": round_.rollup_task_id, "status": round_.status}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=AppraisalProgressSerializer)
    @action(detail=True, methods=["get"])
    def progress(self, request, pk=None):
        """Plans computed in the current rollup run, of those to compute (`done` reaches `total`), and the status."""
        round_ = self.get_object()
        return Response({**selectors.rollup_progress(round_), "status": round_.status})

    @extend_schema(request=None, responses=AppraisalRoundSerializer)
    @action(detail=True, methods=["post"], url_path="open-review")
    def open_review(self, request, pk=None):
        """self_assessment -> review: self-assessment closes, RDEC reviews (RDEC officer)."""
        return self._reply(services.appraisal_open_review(round_id=self.get_object().pk, actor=request.user))

    @extend_schema(request=None, responses=AppraisalRoundSerializer)
    @action(detail=True, methods=["post"])
    def finalize(self, request, pk=None):
        """review -> finalised: final scores map to grades by the bands (minimum score, optional quota). 409
        `unreviewed` (with the count) while a plan lacks its review score. RDEC officer or supervisor."""
        return self._reply(services.appraisal_round_finalise(round_id=self.get_object().pk, actor=request.user))

    @extend_schema(responses=AppraisalResultsSerializer)
    @action(detail=True, methods=["get"])
    def results(self, request, pk=None):
        """The grade distribution (count and percent per grade; percents to two decimals by largest remainder,
        summing to 100.00) and the graded plans, best first. Agencies see the whole distribution but only their
        own plans among the items."""
        round_ = self.get_object()
        results = selectors.round_results(round_)
        if not is_rdec_staff(request.user):
            mine = set(
                selectors.appraisal_list(viewer=request.user).filter(round=round_).values_list("plan_id", flat=True)
            )
            results["items"] = [item for item in results["items"] if item["plan"] in mine]
        return Response(AppraisalResultsSerializer(results).data)


class AppraisalSerializer(serializers.ModelSerializer):
    plan_code = serializers.CharField(source="plan.code", read_only=True)
    plan_title = serializers.CharField(source="plan.title", read_only=True)
    agency_name = serializers.CharField(source="agency.name", read_only=True)
    suggested_score = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=False)
    components = serializers.JSONField(
        help_text="The four components (progress, timeliness, completion, budget; 0-100) and the figures behind "
        "them (mean_lag, months_lagging, months_late, months_missing, final_completion, budget_execution_rate, "
        "budget_flag)."
    )
    self_score = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=False, allow_null=True)
    review_score = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=False, allow_null=True)
    final_score = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=False, allow_null=True)
    grade = AppraisalGradeField(allow_blank=True, help_text="Empty until the round is finalised.")

    class Meta:
        model = Appraisal
        fields = [
            "id",
            "round",
            "plan",
            "plan_code",
            "plan_title",
            "agency",
            "agency_name",
            "suggested_score",
            "components",
            "self_score",
            "self_assessment",
            "review_score",
            "review_comment",
            "final_score",
            "grade",
            "status",
            "computed_at",
        ]
        read_only_fields = fields


class SelfAssessmentSerializer(serializers.Serializer):
    """`{score, text}` or `{self_score, self_assessment}`."""

    score = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, required=False, coerce_to_string=False
    )
    text = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, max_length=LONG_TEXT)
    self_score = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, required=False, coerce_to_string=False
    )
    self_assessment = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, max_length=LONG_TEXT
    )

    def validate(self, attrs):
        score = attrs.get("self_score", attrs.get("score"))
        text = attrs.get("self_assessment", attrs.get("text"))
        errors = {}
        if score is None:
            errors["self_score"] = ["請填寫自評分數（score 或 self_score）。"]
        if text is None or not text.strip():
            errors["self_assessment"] = ["請填寫自評說明（text 或 self_assessment）。"]
        if errors:
            raise serializers.ValidationError(errors)
        return {"score": score, "text": text}


class AppraisalReviewSerializer(serializers.Serializer):
    """`{score, comment}` or `{review_score, review_comment}`."""

    score = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, required=False, coerce_to_string=False
    )
    comment = serializers.CharField(required=False, allow_blank=True, max_length=LONG_TEXT)
    review_score = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, required=False, coerce_to_string=False
    )
    review_comment = serializers.CharField(required=False, allow_blank=True, max_length=LONG_TEXT)

    def validate(self, attrs):
        score = attrs.get("review_score", attrs.get("score"))
        if score is None:
            raise serializers.ValidationError({"review_score": ["請填寫複核分數（score 或 review_score）。"]})
        return {"score": score, "comment": attrs.get("review_comment", attrs.get("comment", ""))}


class AppraisalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Plans' year-end appraisals: RDEC staff see all, agencies their own (others 404). The agency assesses itself
    during `self_assessment`; RDEC reviews during `review` (409 outside those stages)."""

    serializer_class = AppraisalSerializer
    filterset_fields = ["round", "agency", "plan", "grade", "status"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Appraisal.objects.none()
        return selectors.appraisal_list(viewer=self.request.user)

    def _reply(self, item: Appraisal) -> Response:
        return Response(AppraisalSerializer(self.get_queryset().get(pk=item.pk)).data)

    @extend_schema(request=SelfAssessmentSerializer, responses=AppraisalSerializer)
    @action(detail=True, methods=["post"], url_path="submit-self-assessment")
    def submit_self_assessment(self, request, pk=None):
        """The agency's own score (0-100) and explanation; it may revise them until the round moves to review.
        The agency's clerk or head; RDEC 403; 409 `not_self_assessment` outside the stage."""
        item = self.get_object()
        payload = SelfAssessmentSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self._reply(
            services.appraisal_submit_self_assessment(
                actor=request.user, appraisal_id=item.pk, **payload.validated_data
            )
        )

    @extend_schema(request=AppraisalReviewSerializer, responses=AppraisalSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        """RDEC's review score (the final score) and comment (RDEC officer); 409 `not_review` outside the stage."""
        item = self.get_object()
        payload = AppraisalReviewSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self._reply(
            services.appraisal_review(actor=request.user, appraisal_id=item.pk, **payload.validated_data)
        )


class AgencySummaryGradesSerializer(serializers.Serializer):
    excellent = serializers.IntegerField()
    a = serializers.IntegerField()
    b = serializers.IntegerField()
    c = serializers.IntegerField()


class AgencySummarySerializer(serializers.Serializer):
    agency = serializers.IntegerField()
    agency_code = serializers.CharField()
    agency_name = serializers.CharField()
    proposals_submitted = serializers.IntegerField(help_text="The year's proposals that reached RDEC.")
    proposals_awarded = serializers.IntegerField(help_text="Of those, the graded ones.")
    plans_in_control = serializers.IntegerField(help_text="Plans in execution or completed.")
    reports_expected = serializers.IntegerField(help_text="12 per plan in control.")
    reports_on_time = serializers.IntegerField(help_text="Submitted on or before the deadline day (Taipei date).")
    reports_late = serializers.IntegerField()
    reports_missing = serializers.IntegerField(help_text="Expected minus submitted or accepted.")
    plans_lagging_year_end = serializers.IntegerField(help_text="December's report counted and lagging.")
    appraisal_grades = AgencySummaryGradesSerializer(
        allow_null=True, help_text="Plans per grade in the year's appraisal; null until it is finalised."
    )


class AgencySummaryQuerySerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=1, max_value=999)


@extend_schema(
    parameters=[OpenApiParameter("year", int, required=True, description="民國年度")],
    responses=AgencySummarySerializer(many=True),
)
@api_view(["GET"])
@permission_classes([permissions.IsAuthenticated])
def agency_summaries(request):
    """機關年度概況: per agency, proposals, monthly-report timeliness, plans lagging at year end and appraisal
    grades. RDEC staff see every agency; an agency only its own row."""
    query = AgencySummaryQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    rows = selectors.agency_summaries(year=query.validated_data["year"], viewer=request.user)
    return Response(AgencySummarySerializer(rows, many=True).data)


__all__ = ["AppraisalRoundViewSet", "AppraisalViewSet", "agency_summaries"]


# Mounted under /api/v1/ by workflow_site.api (registered in the app's AppConfig.ready()).
ROUTES = [
    ("appraisal-rounds", AppraisalRoundViewSet, "appraisal-round"),
    ("appraisals", AppraisalViewSet, "appraisal"),
]
PATHS = [path("agency-summaries/", agency_summaries, name="api-agency-summaries")]
