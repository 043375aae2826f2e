"""Proposal API. Paths and fields named in the issue are a contract: add, never rename."""

from django.contrib.auth import get_user_model
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.fields import SkipField
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from accounts.models import Agency
from reviews.models import Adoption, Aggregation, PanelMember
from workflow_site import spreadsheets
from workflow_site.api import LONG_TEXT, SHORT_TEXT, JSONParser
from workflow_site.filters import StrictFilterSet
from workflow_site.roc_calendar.serializers import ROCDateField
from workflow_site.schema import STAGE_CONFLICT

from . import exports, selectors, services
from .errors import Code
from .models import Attachment, Grade, Proposal, ProposalRound


class CriterionSerializer(serializers.Serializer):
    code = serializers.SlugField(max_length=32)
    name = serializers.CharField(max_length=200)
    # Numbers both ways: the round answers them as JSON numbers (ProposalRoundSerializer.to_representation).
    weight = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=False)
    max_score = serializers.DecimalField(max_digits=6, decimal_places=2, coerce_to_string=False)
    guidance = serializers.CharField(required=False, allow_blank=True, default="", max_length=SHORT_TEXT)


class QuotaSerializer(serializers.Serializer):
    grade = serializers.ChoiceField(choices=Grade.choices)
    count = serializers.IntegerField(min_value=0)
    min_score = serializers.DecimalField(max_digits=5, decimal_places=2, required=False, allow_null=True)


class _ReadBackFromPanel:
    """A round field kept on its panel: written, and answered by ProposalRoundSerializer.to_representation (so it
    is read-write in the schema), never read off the round itself."""

    def get_attribute(self, instance):
        raise SkipField


class PanelListField(_ReadBackFromPanel, serializers.ListField):
    pass


class PanelChoiceField(_ReadBackFromPanel, serializers.ChoiceField):
    pass


class ProposalRoundSerializer(serializers.ModelSerializer):
    submission_deadline = ROCDateField()
    scoring_deadline = ROCDateField()
    # Kept on the round's panel: written here, read back in to_representation.
    rubric = PanelListField(child=CriterionSerializer())
    aggregation = PanelChoiceField(choices=Aggregation.choices, default=Aggregation.MEAN)
    grade_quotas = QuotaSerializer(many=True, required=False)
    forward_grades = serializers.ListField(child=serializers.ChoiceField(choices=Grade.choices), required=False)
    min_members = serializers.IntegerField(min_value=1, default=7, write_only=True)
    min_external = serializers.IntegerField(min_value=0, default=5, write_only=True)
    hide_agency = serializers.BooleanField(default=False, write_only=True)
    panel = serializers.IntegerField(source="panel_id", read_only=True)

    class Meta:
        model = ProposalRound
        fields = [
            "id",
            "year",
            "title",
            "submission_deadline",
            "scoring_deadline",
            "response_days",
            "rubric",
            "aggregation",
            "grade_quotas",
            "forward_grades",
            "status",
            "panel",
            "min_members",
            "min_external",
            "hide_agency",
            "finalised_at",
            "published_at",
        ]
        read_only_fields = ["status", "finalised_at", "published_at"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        criteria = instance.panel.rubric.criteria.all() if instance.panel else []
        data["rubric"] = [
            {"code": c.code, "name": c.name, "weight": float(c.weight), "max_score": float(c.max_score)}
            for c in criteria
        ]
        data["aggregation"] = instance.panel.aggregation if instance.panel else None
        data["grade_quotas"] = [{"grade": q["grade"], "count": q["count"]} for q in instance.grade_quotas]
        return data


class ResultSerializer(serializers.Serializer):
    proposal = serializers.IntegerField()
    title = serializers.CharField()
    agency = serializers.CharField()
    rank = serializers.IntegerField(allow_null=True)
    score = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    grade = serializers.CharField(allow_blank=True)


class RoundPanelMemberSerializer(serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.filter(is_active=True))
    kind = serializers.ChoiceField(choices=PanelMember.Kind.choices)
    chair = serializers.BooleanField(default=False)


class RoundReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=SHORT_TEXT)


class ProposalRoundViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Yearly rounds: everyone signed in reads them; RDEC officers create and run them."""

    serializer_class = ProposalRoundSerializer

    def get_queryset(self):
        return selectors.round_list()

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = services.round_create(actor=self.request.user, **data)

    def _run(self, service, pk, **kwargs):
        round_ = service(round_id=self.get_object().pk, actor=self.request.user, **kwargs)
        round_ = selectors.round_list().get(pk=round_.pk)
        return Response(ProposalRoundSerializer(round_).data)

    @extend_schema(request=None, responses=ProposalRoundSerializer)
    @action(detail=True, methods=["post"])
    def open(self, request, pk=None):
        """planning -> open."""
        return self._run(services.round_open, pk)

    @extend_schema(request=None, responses=ProposalRoundSerializer)
    @action(detail=True, methods=["post"], url_path="close-submissions")
    def close_submissions(self, request, pk=None):
        """open -> screening."""
        return self._run(services.round_close_submissions, pk)

    @extend_schema(request=RoundReasonSerializer, responses=ProposalRoundSerializer)
    @action(detail=True, methods=["post"], url_path="reopen-submissions")
    def reopen_submissions(self, request, pk=None):
        """screening -> open, with the reason (logged). 409 `screening_started` once a proposal has been screened."""
        payload = RoundReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self._run(services.round_reopen_submissions, pk, reason=payload.validated_data["reason"])

    @extend_schema(request=None, responses=ProposalRoundSerializer)
    @action(detail=True, methods=["post"], url_path="start-scoring")
    def start_scoring(self, request, pk=None):
        """screening -> scoring; creates the score sheets. 409 `panel_composition` while the panel rule is unmet."""
        return self._run(services.round_start_scoring, pk)

    @extend_schema(request=None, responses=ProposalRoundSerializer)
    @action(detail=True, methods=["post"], url_path="close-scoring")
    def close_scoring(self, request, pk=None):
        """scoring -> grading."""
        return self._run(services.round_close_scoring, pk)

    @extend_schema(request=None, responses=ProposalRoundSerializer)
    @action(detail=True, methods=["post"])
    def finalize(self, request, pk=None):
        """Fix the grades. 409 `unresolved_ties` (with `ties`) while the chair must order tied proposals."""
        return self._run(services.round_finalise, pk)

    @extend_schema(request=None, responses=ProposalRoundSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        """grading -> published."""
        return self._run(services.round_publish, pk)

    @extend_schema(request=None, responses=ProposalRoundSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """published -> closed."""
        return self._run(services.round_close, pk)

    @extend_schema(request=RoundPanelMemberSerializer, responses=RoundPanelMemberSerializer)
    @action(detail=True, methods=["post"], url_path="panel-members")
    def panel_members(self, request, pk=None):
        """Put a reviewer on the round's panel."""
        payload = RoundPanelMemberSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        member = services.round_panel_member_add(
            round_id=self.get_object().pk,
            actor=request.user,
            user_id=data["user"].pk,
            kind=data["kind"],
            chair=data["chair"],
        )
        return Response(
            {"id": member.pk, "user": member.user_id, "kind": member.kind, "chair": member.is_chair},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        responses={
            200: inline_serializer(
                "RoundPreview",
                {"results": ResultSerializer(many=True), "ties": serializers.ListField(child=serializers.DictField())},
            ),
            409: STAGE_CONFLICT,
        }
    )
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        """The what-if ranking and grades before finalising (RDEC staff, after scoring closed)."""
        round_ = self.get_object()
        evaluation = selectors.round_preview(round_=round_, viewer=request.user)
        subjects = dict(round_.panel.items.values_list("pk", "subject_id"))
        proposals = {p.pk: p for p in round_.proposals.filter(pk__in=subjects.values()).select_related("agency")}
        rows = []
        for r in evaluation.outcome.ranked:
            proposal = proposals[subjects[r.item_id]]
            rows.append(
                {
                    "proposal": proposal.pk,
                    "title": proposal.title,
                    "agency": proposal.agency.name,
                    "rank": r.rank,
                    "score": r.score,
                    "grade": r.grade,
                }
            )
        ties = [
            {"grade": t.grade, "seats": t.seats, "proposals": [subjects[i] for i in t.item_ids], "items": t.item_ids}
            for t in evaluation.outcome.ties
        ]
        return Response({"results": ResultSerializer(rows, many=True).data, "ties": ties})

    @extend_schema(responses={200: ResultSerializer(many=True), 409: STAGE_CONFLICT})
    @action(detail=True, methods=["get"], pagination_class=None)  # a plain array, not a page
    def results(self, request, pk=None):
        """The finalised ranking: RDEC staff once finalised, everyone once published."""
        round_ = self.get_object()
        staff = request.user.has_perm("proposals.finalise_round")
        if not (round_.finalised_at and (staff or round_.published_at)):
            return Response({"detail": "結果尚未公布。", "code": Code.RESULTS_NOT_AVAILABLE}, status=409)
        rows = [
            {
                "proposal": p.pk,
                "title": p.title,
                "agency": p.agency.name,
                "rank": p.rank,
                "score": p.score,
                "grade": p.grade,
            }
            for p in selectors.round_results(round_=round_)
        ]
        return Response(ResultSerializer(rows, many=True).data)

    @extend_schema(
        parameters=[
            inline_serializer(
                "RoundExportQuery",
                {
                    "format": serializers.ChoiceField(
                        choices=sorted(spreadsheets.FORMATS), default=spreadsheets.DEFAULT_FORMAT
                    )
                },
            )
        ],
        responses={**{(200, media_type): bytes for media_type in spreadsheets.FORMATS.values()}, 409: STAGE_CONFLICT},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="export",
        content_negotiation_class=spreadsheets.IgnoreFormatQueryNegotiation,
    )
    def export(self, request, pk=None):
        """The finalised results as a spreadsheet download: `?format=ods` (default, ODF-CNS15251) or
        `?format=xlsx`. Columns 名次, 機關, 提案名稱, 委員A..., 總分, 等第; reviewers anonymised; user text always a
        text cell. RDEC staff only (403); 409 `results_not_available` before finalising.

        `format` is DRF's URL_FORMAT_OVERRIDE (renderer choice) everywhere else; this action's content
        negotiation ignores it, so here it names the file format and errors still answer in JSON."""
        file = exports.round_export_file(
            round_=self.get_object(), viewer=request.user, fmt=request.query_params.get("format")
        )
        return file.as_response()


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ["id", "name", "kind", "size", "is_award_report", "uploaded_at"]


class ProposalSerializer(serializers.ModelSerializer):
    round = serializers.PrimaryKeyRelatedField(queryset=ProposalRound.objects.all())
    agency = serializers.PrimaryKeyRelatedField(read_only=True)
    agency_name = serializers.CharField(source="agency.name", read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)
    grade = serializers.ChoiceField(choices=Grade.choices, allow_blank=True, read_only=True)  # "": not graded

    class Meta:
        model = Proposal
        fields = [
            "id",
            "round",
            "agency",
            "agency_name",
            "title",
            "summary",
            "problem",
            "approach",
            "benefits",
            "contact_name",
            "contact_phone",
            "contact_email",
            "status",
            "grade",
            "rank",
            "score",
            "screening_reason",
            "attachments",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["status", "grade", "rank", "score", "screening_reason", "created_at", "updated_at"]
        extra_kwargs = {field: {"max_length": LONG_TEXT} for field in ("summary", "problem", "approach", "benefits")}

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list):
            fields["round"].read_only = True
        return fields


class ProposalReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, required=False, default="", max_length=SHORT_TEXT)


class ScreenSerializer(serializers.Serializer):
    passed = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True, required=False, default="", max_length=SHORT_TEXT)


class ForwardSerializer(serializers.Serializer):
    agencies = serializers.PrimaryKeyRelatedField(queryset=Agency.objects.filter(active=True), many=True)


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    is_award_report = serializers.BooleanField(default=False)


class ProposalViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Proposals the user may see: their agency's (drafts included), RDEC what was sent, reviewers what they score."""

    serializer_class = ProposalSerializer
    filterset_fields = ["round", "status", "grade", "agency"]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Proposal.objects.none()
        return selectors.proposal_list(viewer=self.request.user).prefetch_related("attachments")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        round_ = data.pop("round")
        serializer.instance = services.proposal_create(actor=self.request.user, round_id=round_.pk, **data)

    def perform_update(self, serializer):
        serializer.instance = services.proposal_update(
            actor=self.request.user, proposal_id=serializer.instance.pk, **serializer.validated_data
        )

    def _reply(self, proposal):
        return Response(ProposalSerializer(self.get_queryset().get(pk=proposal.pk)).data)

    @extend_schema(request=None, responses=ProposalSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """draft -> pending_approval (the agency's clerk)."""
        return self._reply(services.proposal_submit(proposal_id=self.get_object().pk, actor=request.user))

    @extend_schema(request=None, responses=ProposalSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """pending_approval -> submitted (the agency's head)."""
        return self._reply(services.proposal_approve(proposal_id=self.get_object().pk, actor=request.user))

    @extend_schema(request=ProposalReasonSerializer, responses=ProposalSerializer)
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        """pending_approval -> draft with the head's reason."""
        payload = ProposalReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self._reply(
            services.proposal_return(proposal_id=self.get_object().pk, actor=request.user, **payload.validated_data)
        )

    @extend_schema(request=ScreenSerializer, responses=ProposalSerializer)
    @action(detail=True, methods=["post"])
    def screen(self, request, pk=None):
        """RDEC's written screening: passed -> in_review, failed -> screened_out (reason required)."""
        payload = ScreenSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self._reply(
            services.proposal_screen(proposal_id=self.get_object().pk, actor=request.user, **payload.validated_data)
        )

    @extend_schema(request=ProposalReasonSerializer, responses=ProposalSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """draft | pending_approval -> withdrawn."""
        payload = ProposalReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self._reply(
            services.proposal_withdraw(proposal_id=self.get_object().pk, actor=request.user, **payload.validated_data)
        )

    @extend_schema(request=ForwardSerializer, responses=ProposalSerializer)
    @action(detail=True, methods=["post"])
    def forward(self, request, pk=None):
        """graded -> forwarded to the chosen agencies for an adoption answer."""
        payload = ForwardSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.proposal_forward(
            proposal_id=self.get_object().pk,
            actor=request.user,
            agency_ids=[a.pk for a in payload.validated_data["agencies"]],
        )
        return self._reply(self.get_object())

    @extend_schema(request=UploadSerializer, responses=AttachmentSerializer)
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def attachments(self, request, pk=None):
        """Attach a PDF, DOCX or ODT (recognised by content) of at most 20 MB."""
        payload = UploadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        attachment = services.attachment_add(
            proposal_id=self.get_object().pk,
            actor=request.user,
            upload=payload.validated_data["file"],
            is_award_report=payload.validated_data["is_award_report"],
        )
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)


class AdoptionSerializer(serializers.ModelSerializer):
    # A proposal's question (reviews.Adoption about a proposal): its subject is the proposal.
    proposal = serializers.IntegerField(source="subject_id", read_only=True)
    proposal_title = serializers.CharField(source="title", read_only=True)
    response = serializers.ChoiceField(choices=Adoption.Response.choices, allow_blank=True, read_only=True)  # "": open

    class Meta:
        model = Adoption
        fields = ["id", "proposal", "proposal_title", "agency", "status", "response", "reason", "due_date"]
        read_only_fields = fields


class RespondSerializer(serializers.Serializer):
    response = serializers.ChoiceField(choices=Adoption.Response.choices)
    reason = serializers.CharField(max_length=SHORT_TEXT)


class AdoptionFilter(StrictFilterSet):
    # `?proposal=` as when the question pointed at its proposal: an id that is no proposal is a 400.
    proposal = filters.ModelChoiceFilter(queryset=Proposal.objects.all(), field_name="proposal", method="of_proposal")

    class Meta:
        model = Adoption
        fields = ["status", "proposal"]

    def of_proposal(self, queryset, name, value):
        return queryset.filter(subject_id=value.pk) if value else queryset


class AdoptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Adoption questions addressed to my agency (RDEC staff see all)."""

    serializer_class = AdoptionSerializer
    filterset_class = AdoptionFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Adoption.objects.none()
        return selectors.adoption_list(viewer=self.request.user)

    @extend_schema(request=RespondSerializer, responses=AdoptionSerializer)
    @action(detail=True, methods=["post"])
    def respond(self, request, pk=None):
        """pending -> answered: adopt, partial or decline, with the reason."""
        payload = RespondSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        adoption = services.adoption_respond(
            adoption_id=self.get_object().pk, actor=request.user, **payload.validated_data
        )
        return Response(AdoptionSerializer(self.get_queryset().get(pk=adoption.pk)).data)


# Mounted under /api/v1/ by workflow_site.api (registered in the app's AppConfig.ready()).
ROUTES = [
    ("proposal-rounds", ProposalRoundViewSet, "proposal-round"),
    ("proposals", ProposalViewSet, "proposal"),
    ("adoptions", AdoptionViewSet, "adoption"),
]
