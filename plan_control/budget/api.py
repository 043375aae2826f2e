"""Pre-budget review API (年度重要施政計畫先期作業, issue 14). Paths and fields are a contract: add, never rename.

Cycles are read by everyone signed in and run by RDEC. Requests are visible as `selectors.request_visibility` decides
(an agency its own, drafts too; RDEC what reached it; a review meeting's attendees its agenda); meetings and site
visits as their selectors decide, showing only the requests the viewer may see. Every write is a service call; the
services' errors become 400 / 403 / 404 / 409 in `workflow_site.api.exception_handler`.

Amounts of NT$ are taken as given and checked by the services, so the API refuses what the pages refuse, in the same
words: a string, a float, a negative or a figure past NT$10 trillion is a 400 naming the field, and nothing is saved.
"""

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from accounts.roles import is_rdec_staff
from workflow_site.api import LONG_TEXT, SHORT_TEXT, JSONParser
from workflow_site.errors import PermissionDenied
from workflow_site.roc_calendar.serializers import ROCDateField

from ..models import (
    AmountLedger,
    BudgetCeiling,
    BudgetCycle,
    BudgetDocument,
    BudgetRequest,
    MeetingDecision,
    ReviewMeeting,
    SiteVisit,
    SiteVisitPhoto,
)
from ..models.budget import CEILING_SOURCES, MAX_AMOUNT, SOURCES
from . import selectors, services

MAX_ID = 2**63 - 1  # a bigint primary key: a larger id is a 400, never a query PostgreSQL refuses
MAX_IDS = 500  # ids in one list (an agenda, a visit's requests, attendees)
SOURCE_HELP = "public 公務預算, fund 基金預算, central 中央補助款, other 其他"


def _amount_schema(nullable: bool = False) -> dict:
    schema = {"type": "integer", "format": "int64", "minimum": 0, "maximum": MAX_AMOUNT}
    return {**schema, "nullable": True} if nullable else schema


def _amounts_schema(nullable: bool = False) -> dict:
    return {
        "type": "object",
        "description": f"NT$ by source ({SOURCE_HELP}); a source left out of a request body is 0.",
        "properties": {source: _amount_schema(nullable) for source in SOURCES},
        "additionalProperties": False,
    }


def _ids(**kwargs) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), max_length=MAX_IDS, **kwargs
    )


@extend_schema_field(_amount_schema())
class AmountField(serializers.Field):
    """An amount of NT$, passed to the service as given: the service says why it is not one (400 naming the field)."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


@extend_schema_field(_amount_schema(nullable=True))
class OptionalAmountField(AmountField):
    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)


@extend_schema_field(_amounts_schema())
class AmountsField(serializers.Field):
    """{source: NT$}, passed to the service as given. Read from a stage of a request (`stage`: requested,
    recommended, approved) or from an object whose fields are the sources (a meeting's decision)."""

    def __init__(self, stage: str | None = None, **kwargs):
        self.stage = stage
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        if self.stage is not None:
            return instance.amounts(self.stage)
        return {source: getattr(instance, source) for source in SOURCES}

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


@extend_schema_field(_amounts_schema(nullable=True))
class DecidedAmountsField(AmountsField):
    """Recommended or approved amounts: null by source until that stage is reached."""


@extend_schema_field(
    {
        "type": "object",
        "description": "{ROC year: NT$} over the plan's years (the cycle's own year is `total`, added if left out).",
        "additionalProperties": _amount_schema(),
    }
)
class YearsField(serializers.Field):
    """A multi-year plan's amounts by ROC year, passed to the service as given (400 `years` naming the problem)."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


# ---------------------------------------------------------------------------------------------- cycles


class CeilingSerializer(serializers.ModelSerializer):
    agency_code = serializers.CharField(source="agency.code", read_only=True)
    agency_name = serializers.CharField(source="agency.name", read_only=True)
    public = OptionalAmountField(read_only=True)
    fund = OptionalAmountField(read_only=True)

    class Meta:
        model = BudgetCeiling
        fields = ["agency", "agency_code", "agency_name", "public", "fund"]
        read_only_fields = fields


class CeilingSetSerializer(serializers.Serializer):
    agency = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    public = OptionalAmountField(required=False, default=None, help_text="NT$; null: no ceiling of its own.")
    fund = OptionalAmountField(required=False, default=None, help_text="NT$; null: no ceiling of its own.")


class BudgetCycleSerializer(serializers.ModelSerializer):
    fiscal_year = serializers.IntegerField(min_value=1, max_value=999, help_text="預算年度（民國）")
    public_ceiling = AmountField(help_text="公務預算額度 (NT$)")
    fund_ceiling = AmountField(help_text="基金預算額度 (NT$)")
    new_plan_threshold = AmountField(required=False, help_text="新興計畫總經費門檻 (NT$; 50,000,000 unless given)")
    continuing_threshold = AmountField(
        required=False, help_text="延續性計畫年度經費門檻 (NT$; 10,000,000 unless given)"
    )
    central_review_threshold = AmountField(required=False, help_text="報中央審議門檻 (NT$; 1,000,000,000 unless given)")
    request_deadline = ROCDateField()
    meeting_start = ROCDateField()
    meeting_end = ROCDateField()
    balancing_date = ROCDateField()
    ceilings = CeilingSerializer(many=True, read_only=True)

    class Meta:
        model = BudgetCycle
        fields = [
            "id",
            "fiscal_year",
            "public_ceiling",
            "fund_ceiling",
            "new_plan_threshold",
            "continuing_threshold",
            "central_review_threshold",
            "request_deadline",
            "meeting_start",
            "meeting_end",
            "balancing_date",
            "ceilings",
            "status",
            "approved_at",
            "created_at",
        ]
        read_only_fields = ["status", "approved_at", "created_at"]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list):
            fields["fiscal_year"].read_only = True
        return fields


class StageFiguresSerializer(serializers.Serializer):
    public = serializers.IntegerField()
    fund = serializers.IntegerField()
    central = serializers.IntegerField()
    other = serializers.IntegerField()
    total = serializers.IntegerField()


class CeilingFiguresSerializer(serializers.Serializer):
    public = serializers.IntegerField(allow_null=True)
    fund = serializers.IntegerField(allow_null=True)


class TotalsRowSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Requests at RDEC.")
    requested = StageFiguresSerializer()
    recommended = StageFiguresSerializer()
    approved = StageFiguresSerializer(help_text="Approved and cut requests.")
    ceiling = CeilingFiguresSerializer(help_text="null: no ceiling of its own.")
    over_ceiling = serializers.ListField(
        child=serializers.ChoiceField(choices=CEILING_SOURCES), help_text="Sources whose approved sum exceeds it."
    )


class TotalsAgencySerializer(TotalsRowSerializer):
    agency_id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class TotalsSerializer(serializers.Serializer):
    fiscal_year = serializers.IntegerField()
    sources = serializers.ListField(child=serializers.CharField())
    ceiling = CeilingFiguresSerializer()
    overall = TotalsRowSerializer()
    agencies = TotalsAgencySerializer(many=True)


class BudgetCycleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Fiscal years' cycles: everyone signed in reads them; RDEC officers create, change and run them, an RDEC
    supervisor approves them."""

    serializer_class = BudgetCycleSerializer
    filterset_fields = ["fiscal_year", "status"]
    parser_classes = [JSONParser]
    http_method_names = ["get", "post", "patch", "head", "options"]  # PATCH changes what is given; no PUT

    def get_queryset(self):
        return selectors.cycle_details()

    def _reply(self, cycle, code=status.HTTP_200_OK):
        return Response(BudgetCycleSerializer(selectors.cycle_details().get(pk=cycle.pk)).data, status=code)

    def create(self, request, *args, **kwargs):
        """A fiscal year's cycle, in planning (RDEC officers); the thresholds default to the other cities' rules."""
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        cycle = services.cycle_create(actor=request.user, **payload.validated_data)
        return self._reply(cycle, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        """Ceilings, thresholds or dates (what is given); 409 `cycle_locked` once approved."""
        payload = self.get_serializer(self.get_object(), data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        cycle = services.cycle_update(actor=request.user, cycle_id=payload.instance.pk, **payload.validated_data)
        return self._reply(cycle)

    def _run(self, service):
        return self._reply(service(actor=self.request.user, cycle_id=self.get_object().pk))

    @extend_schema(request=CeilingSetSerializer, responses=CeilingSerializer(many=True))
    @action(detail=True, methods=["post"])
    def ceilings(self, request, pk=None):
        """An agency's own ceilings in the cycle (null for a source: none of its own; both null removes them); the
        answer is the cycle's ceilings. RDEC officers; 409 `cycle_locked` once approved."""
        payload = CeilingSetSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        cycle = self.get_object()
        services.cycle_ceiling_set(
            actor=request.user, cycle_id=cycle.pk, agency_id=data["agency"], public=data["public"], fund=data["fund"]
        )
        return Response(CeilingSerializer(selectors.ceiling_list(cycle_id=cycle.pk), many=True).data)

    @extend_schema(request=None, responses=BudgetCycleSerializer)
    @action(detail=True, methods=["post"])
    def open(self, request, pk=None):
        """planning -> collecting: agencies draft and send requests until the request deadline."""
        return self._run(services.cycle_open)

    @extend_schema(request=None, responses=BudgetCycleSerializer)
    @action(detail=True, methods=["post"], url_path="start-review")
    def start_review(self, request, pk=None):
        """collecting -> reviewing: the requests at RDEC go in review; those still at their agency lapse."""
        return self._run(services.cycle_start_review)

    @extend_schema(request=None, responses=BudgetCycleSerializer)
    @action(detail=True, methods=["post"], url_path="start-balancing")
    def start_balancing(self, request, pk=None):
        """reviewing -> balancing; 409 `requests_in_review` while a request lacks its recommendation."""
        return self._run(services.cycle_start_balancing)

    @extend_schema(request=None, responses=BudgetCycleSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """balancing -> approved (an RDEC supervisor): the approved and cut requests become next year's controlled
        plans. 409 `undecided_requests` while a request awaits its decision."""
        return self._run(services.cycle_approve)

    @extend_schema(request=None, responses=BudgetCycleSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """approved -> closed."""
        return self._run(services.cycle_close)

    @extend_schema(responses=TotalsSerializer)
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def totals(self, request, pk=None):
        """The balancing board: requested / recommended / approved per source, for the cycle and per agency, against
        the cycle's and the agencies' ceilings. RDEC staff (403)."""
        if not is_rdec_staff(request.user):
            raise PermissionDenied()
        return Response(TotalsSerializer(selectors.totals(cycle=self.get_object())).data)


# ---------------------------------------------------------------------------------------------- requests


class BudgetDocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = BudgetDocument
        fields = ["id", "name", "format", "size", "uploaded_at"]
        read_only_fields = fields


class BudgetRequestSerializer(serializers.ModelSerializer):
    cycle = serializers.PrimaryKeyRelatedField(queryset=BudgetCycle.objects.all())
    fiscal_year = serializers.IntegerField(source="cycle.fiscal_year", read_only=True)
    agency_name = serializers.CharField(source="agency.name", read_only=True)
    title = serializers.CharField(max_length=300)
    kind = serializers.ChoiceField(choices=BudgetRequest.Kind.choices)
    amounts = AmountsField(stage="requested", help_text="This fiscal year's request by source.")
    total = AmountField(help_text="This fiscal year's request (NT$): the sum of `amounts`.")
    years = YearsField(required=False, allow_null=True)
    justification = serializers.CharField(required=False, allow_blank=True, max_length=LONG_TEXT)
    plan_total = serializers.IntegerField(read_only=True, help_text="The plan's total over its years (NT$).")
    recommended = DecidedAmountsField(stage="recommended", read_only=True)
    approved = DecidedAmountsField(stage="approved", read_only=True)
    documents = BudgetDocumentSerializer(many=True, read_only=True)

    class Meta:
        model = BudgetRequest
        fields = [
            "id",
            "cycle",
            "fiscal_year",
            "agency",
            "agency_name",
            "title",
            "kind",
            "amounts",
            "total",
            "years",
            "plan_total",
            "justification",
            "central_review",
            "recommended",
            "approved",
            "decision_note",
            "return_reason",
            "status",
            "submitted_at",
            "decided_at",
            "controlled_plan",
            "created_by",
            "created_at",
            "updated_at",
            "documents",
        ]
        read_only_fields = [
            "agency",
            "central_review",
            "decision_note",
            "return_reason",
            "status",
            "submitted_at",
            "decided_at",
            "controlled_plan",
            "created_by",
            "created_at",
            "updated_at",
        ]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list):
            fields["cycle"].read_only = True  # a request stays in its cycle
        return fields


class RequestFileSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The plan document (計畫書): PDF, DOCX or ODT (by content), 20 MB at most.")


class RequestReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=SHORT_TEXT)


class RequestOptionalReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, required=False, default="", max_length=SHORT_TEXT)


class RecommendSerializer(serializers.Serializer):
    amounts = AmountsField(help_text="The recommended amounts by source; at most the requested total.")
    note = serializers.CharField(allow_blank=True, required=False, default="", max_length=SHORT_TEXT)


class DecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approved", "cut", "rejected"])
    amounts = AmountsField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The approved amounts by source (approved: the recommendation unless given; rejected: none).",
    )
    reason = serializers.CharField(allow_blank=True, required=False, default="", max_length=SHORT_TEXT)
    override_reason = serializers.CharField(
        allow_blank=True,
        required=False,
        default="",
        max_length=SHORT_TEXT,
        help_text="An RDEC supervisor's reason for approving past a ceiling.",
    )


class LedgerEntrySerializer(serializers.ModelSerializer):
    stage = serializers.SerializerMethodField()
    source = serializers.SerializerMethodField()
    from_amount = serializers.IntegerField(read_only=True, allow_null=True, help_text="null: none before")
    to_amount = serializers.IntegerField(read_only=True, allow_null=True)
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = AmountLedger
        fields = ["id", "field", "stage", "source", "from_amount", "to_amount", "actor", "actor_name", "at", "reason"]
        read_only_fields = fields

    def get_stage(self, entry) -> str:
        """requested, recommended or approved."""
        return entry.field.rpartition("_")[0]

    def get_source(self, entry) -> str:
        """public, fund, central or other."""
        return entry.field.rpartition("_")[2]

    def get_actor_name(self, entry) -> str | None:
        return str(entry.actor) if entry.actor_id else None


class BudgetRequestViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Budget requests the user may see: an agency its own (drafts too), RDEC what reached it, a review meeting's
    attendees its agenda. Others' are 404."""

    serializer_class = BudgetRequestSerializer
    filterset_fields = ["cycle", "agency", "status"]
    parser_classes = [JSONParser]  # amounts are JSON integers: a form's strings would all be refused
    http_method_names = ["get", "post", "patch", "head", "options"]  # PATCH edits a draft; no PUT

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no real user
            return BudgetRequest.objects.none()
        return selectors.request_details(viewer=self.request.user)

    def _reply(self, budget_request, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=budget_request.pk)).data, status=code)

    def _payload(self, serializer_class):
        payload = serializer_class(data=self.request.data)
        payload.is_valid(raise_exception=True)
        return payload.validated_data

    def create(self, request, *args, **kwargs):
        """An agency clerk drafts a request while the cycle collects, by its deadline."""
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        cycle = data.pop("cycle")
        budget_request = services.request_create(actor=request.user, cycle_id=cycle.pk, **data)
        return self._reply(budget_request, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        """The clerk edits a draft or returned request (what is given); 409 `not_editable` once sent."""
        payload = self.get_serializer(self.get_object(), data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        budget_request = services.request_update(
            actor=request.user, request_id=payload.instance.pk, **payload.validated_data
        )
        return self._reply(budget_request)

    @extend_schema(request={"multipart/form-data": RequestFileSerializer}, responses={201: BudgetDocumentSerializer})
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def documents(self, request, pk=None):
        """The plan document of a draft or returned request (the agency's clerk): PDF, DOCX or ODT by content."""
        data = self._payload(RequestFileSerializer)
        document = services.request_document_add(
            actor=request.user, request_id=self.get_object().pk, upload=data["file"]
        )
        return Response(BudgetDocumentSerializer(document).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=BudgetRequestSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """draft | returned -> pending_approval (the clerk): to the agency's head, with its plan document."""
        return self._reply(services.request_submit(actor=request.user, request_id=self.get_object().pk))

    @extend_schema(request=None, responses=BudgetRequestSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """pending_approval -> submitted (the agency's head signs off): the request reaches RDEC."""
        return self._reply(services.request_approve(actor=request.user, request_id=self.get_object().pk))

    @extend_schema(request=RequestReasonSerializer, responses=BudgetRequestSerializer)
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        """Back to the clerk with the reason: pending_approval -> returned (the head), submitted -> returned (RDEC)."""
        data = self._payload(RequestReasonSerializer)
        return self._reply(services.request_return(actor=request.user, request_id=self.get_object().pk, **data))

    @extend_schema(request=RequestOptionalReasonSerializer, responses=BudgetRequestSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """draft | returned -> withdrawn (the clerk)."""
        data = self._payload(RequestOptionalReasonSerializer)
        return self._reply(services.request_withdraw(actor=request.user, request_id=self.get_object().pk, **data))

    @extend_schema(request=None, responses=BudgetRequestSerializer)
    @action(detail=True, methods=["post"], url_path="start-review")
    def start_review(self, request, pk=None):
        """submitted -> in_review (RDEC officers; every request at once when the cycle's review starts)."""
        return self._reply(services.request_start_review(actor=request.user, request_id=self.get_object().pk))

    @extend_schema(request=RecommendSerializer, responses=BudgetRequestSerializer)
    @action(detail=True, methods=["post"])
    def recommend(self, request, pk=None):
        """in_review | recommended -> recommended: RDEC's recommended amounts by source and a note, outside a meeting
        (a meeting's own go through `POST /review-meetings/{id}/decisions/`). 409 outside the review stage."""
        data = self._payload(RecommendSerializer)
        return self._reply(services.request_recommend(actor=request.user, request_id=self.get_object().pk, **data))

    @extend_schema(request=DecideSerializer, responses=BudgetRequestSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        """During balancing, RDEC decides (or changes its decision): approved, cut (with a reason) or rejected (with a
        reason). Past a ceiling (400 `amounts` naming it) an RDEC supervisor approves with `override_reason`."""
        data = self._payload(DecideSerializer)
        return self._reply(services.request_decide(actor=request.user, request_id=self.get_object().pk, **data))

    @extend_schema(responses=LedgerEntrySerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def ledger(self, request, pk=None):
        """Every change of the request's amounts, oldest first: who, when, from, to, why (append-only)."""
        entries = selectors.ledger(request_id=self.get_object().pk, viewer=request.user)
        return Response(LedgerEntrySerializer(entries, many=True).data)


# ---------------------------------------------------------------------------------------------- meetings


class MeetingDecisionSerializer(serializers.ModelSerializer):
    amounts = AmountsField(read_only=True)
    total = serializers.IntegerField(read_only=True)

    class Meta:
        model = MeetingDecision
        fields = ["request", "amounts", "total", "note", "recorded_by", "recorded_at"]
        read_only_fields = fields


class IdsField(serializers.ListField):
    """Ids of a many-to-many relation, read from its (prefetched, visibility-filtered) rows."""

    def __init__(self, relation: str, **kwargs):
        self.relation = relation
        kwargs.setdefault("child", serializers.IntegerField(min_value=1, max_value=MAX_ID))
        kwargs.setdefault("max_length", MAX_IDS)
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        return [row.pk for row in getattr(instance, self.relation).all()]


class ReviewMeetingSerializer(serializers.ModelSerializer):
    cycle = serializers.PrimaryKeyRelatedField(queryset=BudgetCycle.objects.all())
    date = ROCDateField(help_text="Within the cycle's meeting window.")
    place = serializers.CharField(max_length=200)
    request_ids = IdsField("agenda", help_text="The agenda: requests of the cycle at RDEC not yet decided.")
    attendee_ids = IdsField("attendees", required=False, help_text="RDEC staff and reviewers attending.")
    agency_ids = IdsField("agencies", required=False, help_text="The agencies concerned (the agenda's are added).")
    decisions = MeetingDecisionSerializer(many=True, read_only=True)

    class Meta:
        model = ReviewMeeting
        fields = [
            "id",
            "cycle",
            "date",
            "place",
            "request_ids",
            "attendee_ids",
            "agency_ids",
            "status",
            "minutes",
            "held_at",
            "decisions",
            "created_by",
            "created_at",
        ]
        read_only_fields = ["status", "minutes", "held_at", "created_by", "created_at"]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list):
            fields["cycle"].read_only = True
        return fields


class MeetingHoldSerializer(serializers.Serializer):
    minutes = serializers.CharField(max_length=LONG_TEXT)


class MeetingDecisionInputSerializer(serializers.Serializer):
    request = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="A request of the meeting's agenda.")
    amounts = AmountsField(help_text="The recommended amounts by source; at most the requested total.")
    note = serializers.CharField(allow_blank=True, required=False, default="", max_length=LONG_TEXT)


class ReviewMeetingViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Preliminary review meetings: RDEC staff see all, attendees theirs, agencies those they are concerned in (with
    only their own requests' part of the agenda and decisions). RDEC officers schedule, hold and record them."""

    serializer_class = ReviewMeetingSerializer
    filterset_fields = ["cycle", "status"]
    parser_classes = [JSONParser]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ReviewMeeting.objects.none()
        return selectors.meeting_details(viewer=self.request.user)

    def _reply(self, meeting, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=meeting.pk)).data, status=code)

    def create(self, request, *args, **kwargs):
        """Schedule a meeting within the cycle's meeting window, its agenda the cycle's requests at RDEC."""
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        cycle = data.pop("cycle")
        meeting = services.meeting_create(actor=request.user, cycle_id=cycle.pk, **data)
        return self._reply(meeting, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        """Reschedule it or change its agenda, attendees or agencies (what is given) until it is held (409
        `meeting_held`)."""
        payload = self.get_serializer(self.get_object(), data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        meeting = services.meeting_update(actor=request.user, meeting_id=payload.instance.pk, **payload.validated_data)
        return self._reply(meeting)

    @extend_schema(request=MeetingHoldSerializer, responses=ReviewMeetingSerializer)
    @action(detail=True, methods=["post"])
    def hold(self, request, pk=None):
        """scheduled -> held: the meeting took place; its minutes."""
        payload = MeetingHoldSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        meeting = services.meeting_hold(
            actor=request.user, meeting_id=self.get_object().pk, minutes=payload.validated_data["minutes"]
        )
        return self._reply(meeting)

    @extend_schema(request=MeetingDecisionInputSerializer, responses=MeetingDecisionSerializer)
    @action(detail=True, methods=["post"])
    def decisions(self, request, pk=None):
        """The meeting's recommendation on a request of its agenda: amounts by source and a note; the request moves to
        recommended (a later decision of the same meeting replaces this one). 409 outside the review stage."""
        payload = MeetingDecisionInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        decision = services.meeting_record_decision(
            actor=request.user,
            meeting_id=self.get_object().pk,
            request_id=data["request"],
            amounts=data["amounts"],
            note=data["note"],
        )
        return Response(MeetingDecisionSerializer(decision).data)


# ---------------------------------------------------------------------------------------------- site visits


class SiteVisitPhotoSerializer(serializers.ModelSerializer):
    class Meta:
        model = SiteVisitPhoto
        fields = ["id", "name", "format", "size", "uploaded_at"]
        read_only_fields = fields


class SiteVisitSerializer(serializers.ModelSerializer):
    cycle = serializers.PrimaryKeyRelatedField(queryset=BudgetCycle.objects.all())
    date = ROCDateField()
    request_ids = IdsField("requests", help_text="The visited requests: the cycle's, at RDEC.")
    findings = serializers.CharField(required=False, allow_blank=True, max_length=LONG_TEXT)
    photos = SiteVisitPhotoSerializer(many=True, read_only=True)

    class Meta:
        model = SiteVisit
        fields = ["id", "cycle", "date", "request_ids", "findings", "photos", "created_by", "created_at"]
        read_only_fields = ["created_by", "created_at"]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list):
            fields["cycle"].read_only = True
            fields["request_ids"].read_only = True  # the visit happened: what was visited stays
        return fields


class PhotoFileSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="JPEG or PNG (by content), 10 MB at most.")


class SiteVisitViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Site visits (實地訪查): RDEC staff see all, an agency those to its requests. RDEC officers record them."""

    serializer_class = SiteVisitSerializer
    filterset_fields = ["cycle"]
    parser_classes = [JSONParser]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SiteVisit.objects.none()
        return selectors.site_visit_details(viewer=self.request.user)

    def _reply(self, visit, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=visit.pk)).data, status=code)

    def create(self, request, *args, **kwargs):
        """Record a visit to requests of the cycle at RDEC, with its findings; photos follow (`photos/`)."""
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        cycle = data.pop("cycle")
        visit = services.site_visit_create(actor=request.user, cycle_id=cycle.pk, **data)
        return self._reply(visit, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        """Correct a visit's date or findings."""
        payload = self.get_serializer(self.get_object(), data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        visit = services.site_visit_update(actor=request.user, visit_id=payload.instance.pk, **payload.validated_data)
        return self._reply(visit)

    @extend_schema(request={"multipart/form-data": PhotoFileSerializer}, responses={201: SiteVisitPhotoSerializer})
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def photos(self, request, pk=None):
        """One more photo of the visit (RDEC officers): JPEG or PNG by content, 10 MB at most."""
        payload = PhotoFileSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        photo = services.site_visit_add_photo(
            actor=request.user, visit_id=self.get_object().pk, upload=payload.validated_data["file"]
        )
        return Response(SiteVisitPhotoSerializer(photo).data, status=status.HTTP_201_CREATED)


# Mounted under /api/v1/ by workflow_site.api (registered in PlanControlConfig.ready()).
ROUTES = [
    ("budget-cycles", BudgetCycleViewSet, "budget-cycle"),
    ("budget-requests", BudgetRequestViewSet, "budget-request"),
    ("review-meetings", ReviewMeetingViewSet, "review-meeting"),
    ("site-visits", SiteVisitViewSet, "site-visit"),
]
