"""Reviews API: a reviewer's own score sheets, and panels for RDEC staff and the panel's members.

Paths and fields here are a contract: add, never rename. Blindness: a reviewer reads only their own sheets;
nobody reads a panel's scores before it closes; members of a finalised panel see anonymised reviewer totals.
"""

from decimal import Decimal

from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from accounts.roles import is_rdec_staff
from workflow_site.api import LONG_TEXT, SHORT_TEXT
from workflow_site.errors import Conflict
from workflow_site.schema import STAGE_CONFLICT

from . import selectors, services
from .errors import Code
from .models import Criterion, ItemResult, Panel, PanelMember, ScoreSheet, TieResolution


def _number(value) -> float:
    return float(Decimal(str(value)))


# ---------------------------------------------------------------------------------------------- score sheets


class ScoreSheetSerializer(serializers.ModelSerializer):
    round = serializers.IntegerField(source="panel.round_id", read_only=True)
    item_title = serializers.CharField(source="item.title", read_only=True)
    scores = serializers.SerializerMethodField()
    total = serializers.DecimalField(
        max_digits=6,
        decimal_places=2,
        coerce_to_string=False,
        read_only=True,
        allow_null=True,
        help_text="Null until the sheet is submitted.",
    )
    agency = serializers.SerializerMethodField()

    class Meta:
        model = ScoreSheet
        fields = [
            "id",
            "item",
            "item_title",
            "round",
            "panel",
            "status",
            "scores",
            "total",
            "comment",
            "agency",
            "recusal_reason",
            "submitted_at",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "number"}})
    def get_scores(self, sheet) -> dict:
        return {code: _number(value) for code, value in sheet.scores.items()}

    def get_agency(self, sheet) -> str | None:
        """The submitting agency's name; null when the panel hides it from its reviewers."""
        if sheet.panel.hide_agency or sheet.item.agency is None:
            return None
        return sheet.item.agency.name


class ScoreSheetDraftSerializer(ScoreSheetSerializer):
    """The sheet as an autosave left it, and the scores it refused: the rest of the draft is saved all the same."""

    errors = serializers.SerializerMethodField()

    class Meta(ScoreSheetSerializer.Meta):
        fields = [*ScoreSheetSerializer.Meta.fields, "errors"]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "Per criterion code, why its score was refused and not saved (out of range, not a "
            "number, no such criterion); empty when every score was kept. The other scores and the comment "
            "are saved.",
        }
    )
    def get_errors(self, sheet) -> dict:
        return self.context.get("refused", {})


class ScoreSheetInputSerializer(serializers.Serializer):
    # Scores go to the service unvalidated: it checks each against its criterion and a 400 names the code.
    scores = serializers.DictField(
        required=False,
        help_text='{criterion_code: score}; a draft may leave criteria out (null or "" clears one).',
    )
    comment = serializers.CharField(required=False, allow_blank=True, max_length=LONG_TEXT)


class RecusalReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, trim_whitespace=True, max_length=SHORT_TEXT)


class ScoreSheetFilter(filters.FilterSet):
    panel = filters.NumberFilter(field_name="panel_id", label="審查會 id")

    class Meta:
        model = ScoreSheet
        fields = ["panel"]


class ScoreSheetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The signed-in reviewer's own score sheets; anyone else's are 404."""

    serializer_class = ScoreSheetSerializer
    filterset_class = ScoreSheetFilter
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "patch", "post", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no real user
            return ScoreSheet.objects.none()
        return selectors.sheets_for_reviewer(user=self.request.user)

    def _answer(self, sheet_id: int) -> Response:
        sheet = selectors.sheets_for_reviewer(user=self.request.user).get(pk=sheet_id)
        return Response(ScoreSheetSerializer(sheet).data)

    @extend_schema(request=ScoreSheetInputSerializer, responses=ScoreSheetDraftSerializer)
    def partial_update(self, request, pk=None):
        """Save a draft (partial scores allowed); 409 once submitted or recused, or when scoring is not open.

        One bad score does not lose the draft: the valid scores and the comment are saved (200) and `errors`
        names each refused criterion, whose score is not saved."""
        data = ScoreSheetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        saved = services.sheet_save_draft(
            sheet_id=int(pk),
            actor=request.user,
            scores=data.validated_data.get("scores"),
            comment=data.validated_data.get("comment"),
        )
        sheet = selectors.sheets_for_reviewer(user=request.user).get(pk=saved.sheet.pk)
        return Response(ScoreSheetDraftSerializer(sheet, context={"refused": saved.refused}).data)

    @extend_schema(request=ScoreSheetInputSerializer, responses=ScoreSheetSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """Hand the scores in (every criterion scored); the body may carry the last scores and comment."""
        data = ScoreSheetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sheet = services.sheet_submit(
            sheet_id=int(pk),
            actor=request.user,
            scores=data.validated_data.get("scores"),
            comment=data.validated_data.get("comment"),
        )
        return self._answer(sheet.pk)

    @extend_schema(request=RecusalReasonSerializer, responses=ScoreSheetSerializer)
    @action(detail=True, methods=["post"], url_path="declare-conflict")
    def declare_conflict(self, request, pk=None):
        """Step aside from this item (迴避), with the reason; the chair may reinstate or reassign it."""
        data = RecusalReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sheet = services.sheet_declare_conflict(
            sheet_id=int(pk), actor=request.user, reason=data.validated_data["reason"]
        )
        return self._answer(sheet.pk)


# ---------------------------------------------------------------------------------------------- panels


class RubricCriterionSerializer(serializers.ModelSerializer):
    weight = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=False)
    max_score = serializers.DecimalField(max_digits=6, decimal_places=2, coerce_to_string=False)

    class Meta:
        model = Criterion
        fields = ["code", "name", "weight", "max_score", "guidance"]


class PanelMemberNameSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="user.__str__", read_only=True)

    class Meta:
        model = PanelMember
        fields = ["id", "name", "kind", "is_chair", "reserve"]


MemberCounts = inline_serializer(
    "PanelMemberCounts",
    {
        "total": serializers.IntegerField(),
        "external": serializers.IntegerField(),
        "internal": serializers.IntegerField(),
        "reserve": serializers.IntegerField(),
    },
)
PanelProgressTotals = inline_serializer(
    "PanelProgressTotals",
    {
        "sheets": serializers.IntegerField(),
        "submitted": serializers.IntegerField(),
        "recused": serializers.IntegerField(),
        "remaining": serializers.IntegerField(),
    },
)


class PanelSerializer(serializers.ModelSerializer):
    round = serializers.IntegerField(source="round_id", read_only=True)
    criteria = RubricCriterionSerializer(source="rubric.criteria", many=True, read_only=True)
    members = serializers.SerializerMethodField()
    member_counts = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    viewer_is_chair = serializers.SerializerMethodField()

    class Meta:
        model = Panel
        fields = [
            "id",
            "title",
            "status",
            "aggregation",
            "scoring_deadline",
            "round",
            "hide_agency",
            "min_members",
            "min_external",
            "criteria",
            "members",
            "member_counts",
            "progress",
            "viewer_is_chair",
        ]
        read_only_fields = fields

    def _viewer(self):
        return self.context["request"].user

    def get_viewer_is_chair(self, panel) -> bool:
        return any(m.user_id == self._viewer().pk and m.is_chair for m in panel.members.all())

    @extend_schema_field(PanelMemberNameSerializer(many=True, allow_null=True))
    def get_members(self, panel):
        """Names for RDEC staff and the chair; null for a plain member (who sees member_counts)."""
        if is_rdec_staff(self._viewer()) or self.get_viewer_is_chair(panel):
            return PanelMemberNameSerializer(panel.members.all(), many=True).data
        return None

    @extend_schema_field(MemberCounts)
    def get_member_counts(self, panel) -> dict:
        members = list(panel.members.all())
        scoring = [m for m in members if not m.reserve]
        return {
            "total": len(scoring),
            "external": sum(1 for m in scoring if m.kind == PanelMember.Kind.EXTERNAL),
            "internal": sum(1 for m in scoring if m.kind == PanelMember.Kind.INTERNAL),
            "reserve": len(members) - len(scoring),
        }

    @extend_schema_field(PanelProgressTotals)
    def get_progress(self, panel) -> dict:
        counts = ScoreSheet.objects.filter(panel=panel).aggregate(
            sheets=Count("pk"),
            submitted=Count("pk", filter=Q(status=ScoreSheet.Status.SUBMITTED)),
            recused=Count("pk", filter=Q(status=ScoreSheet.Status.RECUSED)),
        )
        return {**counts, "remaining": counts["sheets"] - counts["submitted"] - counts["recused"]}


class PanelMemberProgressSerializer(serializers.Serializer):
    member_id = serializers.IntegerField(source="member.pk")
    member = serializers.CharField(source="member.user.__str__")
    kind = serializers.CharField(source="member.kind")
    is_chair = serializers.BooleanField(source="member.is_chair")
    reserve = serializers.BooleanField(source="member.reserve")
    submitted = serializers.IntegerField()
    total = serializers.IntegerField()
    recused = serializers.IntegerField()
    remaining = serializers.IntegerField()
    overdue = serializers.BooleanField()


class PanelSheetSerializer(serializers.ModelSerializer):
    """A sheet as the chair sees it while managing the panel: whose, which item, what state; no scores."""

    item_title = serializers.CharField(source="item.title", read_only=True)
    member_name = serializers.CharField(source="member.user.__str__", read_only=True)
    # Plain text, not a second enum component of the same choices (the schema's enum naming would collide).
    status = serializers.CharField(read_only=True, help_text="not_started | draft | submitted | recused")

    class Meta:
        model = ScoreSheet
        fields = ["id", "item", "item_title", "member", "member_name", "status", "recusal_reason", "submitted_at"]
        read_only_fields = fields


class PanelPreviewItemSerializer(serializers.Serializer):
    item = serializers.IntegerField()
    title = serializers.CharField()
    rank = serializers.IntegerField(allow_null=True)
    score = serializers.DecimalField(max_digits=6, decimal_places=2, coerce_to_string=False, allow_null=True)
    grade = serializers.CharField(allow_blank=True)


class PanelTieSerializer(serializers.Serializer):
    grade = serializers.CharField()
    seats = serializers.IntegerField()
    items = serializers.ListField(child=serializers.IntegerField())


class PanelPreviewSerializer(serializers.Serializer):
    items = PanelPreviewItemSerializer(many=True)
    ties = PanelTieSerializer(many=True)


class ReviewerTotalSerializer(serializers.Serializer):
    reviewer = serializers.CharField()
    total = serializers.DecimalField(max_digits=6, decimal_places=2, coerce_to_string=False)


class PanelResultSerializer(serializers.ModelSerializer):
    title = serializers.CharField(source="item.title")
    score = serializers.DecimalField(max_digits=6, decimal_places=2, coerce_to_string=False, allow_null=True)
    grade = serializers.CharField(read_only=True, help_text="The grade band's code; empty when the item got no grade.")
    reviewer_totals = serializers.SerializerMethodField()

    class Meta:
        model = ItemResult
        fields = ["item", "title", "rank", "score", "grade", "sheet_count", "reviewer_totals"]
        read_only_fields = fields

    @extend_schema_field(ReviewerTotalSerializer(many=True))
    def get_reviewer_totals(self, result) -> list:
        return [{"reviewer": name, "total": _number(total)} for name, total in result.reviewer_totals]


class PanelSheetReasonSerializer(serializers.Serializer):
    sheet = serializers.IntegerField()
    reason = serializers.CharField(allow_blank=True, required=False, default="", max_length=SHORT_TEXT)


class PanelReassignSerializer(PanelSheetReasonSerializer):
    member = serializers.IntegerField(help_text="PanelMember id (typically a reserve member)")


class PanelTieInputSerializer(serializers.Serializer):
    item_ids = serializers.ListField(child=serializers.IntegerField(), allow_empty=False, help_text="best first")
    reason = serializers.CharField(allow_blank=True, max_length=SHORT_TEXT)


class TieResolutionSerializer(serializers.ModelSerializer):
    item_ids = serializers.ListField(child=serializers.IntegerField())

    class Meta:
        model = TieResolution
        fields = ["id", "item_ids", "reason", "resolved_at"]
        read_only_fields = fields


class PanelViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A panel for RDEC staff and its own members; chair actions for the chair, officer actions for RDEC."""

    serializer_class = PanelSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no real user
            return Panel.objects.none()
        return selectors.panels_visible_to(user=self.request.user)

    # -- who may do what, after visibility (get_object: 404 for a panel the user has nothing to do with)

    def _is_chair(self, panel) -> bool:
        return any(m.user_id == self.request.user.pk and m.is_chair for m in panel.members.all())

    def _require_staff_or_chair(self, panel) -> None:
        if not (is_rdec_staff(self.request.user) or self._is_chair(panel)):
            raise PermissionDenied(_("只有研考會人員與召集人可以查看。"))

    def _require_chair(self, panel) -> None:
        if not self._is_chair(panel):
            raise PermissionDenied(_("只有召集人可以執行此操作。"))

    def _require_perm(self, perm: str) -> None:
        if not self.request.user.has_perm(perm):
            raise PermissionDenied()

    def _panel_answer(self, panel_id: int) -> Response:
        panel = selectors.panels_visible_to(user=self.request.user).get(pk=panel_id)
        return Response(PanelSerializer(panel, context=self.get_serializer_context()).data)

    # -- reads

    @extend_schema(responses=PanelMemberProgressSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)  # a plain array, not a page
    def progress(self, request, pk=None):
        """Per member: sheets submitted, recused, remaining, and whether late (RDEC staff and the chair)."""
        panel = self.get_object()
        self._require_staff_or_chair(panel)
        return Response(PanelMemberProgressSerializer(selectors.panel_progress(panel), many=True).data)

    @extend_schema(responses=PanelSheetSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)  # a plain array, not a page
    def sheets(self, request, pk=None):
        """Every sheet's state (no scores), for picking one to reopen, reinstate or reassign (staff, chair)."""
        panel = self.get_object()
        self._require_staff_or_chair(panel)
        sheets = ScoreSheet.objects.filter(panel=panel).select_related("item", "member__user").order_by("pk")
        return Response(PanelSheetSerializer(sheets, many=True).data)

    @extend_schema(responses={200: PanelPreviewSerializer, 409: STAGE_CONFLICT})
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        """Provisional ranks and grades, with the ties the chair must order; 409 `panel_not_closed` before close."""
        panel = self.get_object()
        self._require_staff_or_chair(panel)
        if panel.status not in (Panel.Status.CLOSED, Panel.Status.FINALISED):
            raise Conflict(_("評分尚未結束，不能查看分數。"), code=Code.PANEL_NOT_CLOSED)
        evaluation = selectors.panel_evaluation(panel)
        items = [
            {
                "item": r.item_id,
                "title": evaluation.titles.get(r.item_id, ""),
                "rank": r.rank,
                "score": r.score,
                "grade": r.grade,
            }
            for r in evaluation.outcome.ranked
        ]
        ties = [{"grade": t.grade, "seats": t.seats, "items": t.item_ids} for t in evaluation.outcome.ties]
        return Response(PanelPreviewSerializer({"items": items, "ties": ties}).data)

    @extend_schema(responses={200: PanelResultSerializer(many=True), 409: STAGE_CONFLICT})
    @action(detail=True, methods=["get"], pagination_class=None)  # a plain array, not a page
    def results(self, request, pk=None):
        """The finalised ranks and grades with anonymised reviewer totals; 409 `panel_not_finalised` before."""
        panel = self.get_object()
        if panel.status != Panel.Status.FINALISED:
            raise Conflict(_("結果尚未確定。"), code=Code.PANEL_NOT_FINALISED)
        results = ItemResult.objects.filter(panel=panel).select_related("item")
        return Response(PanelResultSerializer(results, many=True).data)

    # -- the chair's actions

    @extend_schema(request=PanelSheetReasonSerializer, responses=PanelSheetSerializer)
    @action(detail=True, methods=["post"], url_path="reopen-sheet")
    def reopen_sheet(self, request, pk=None):
        """Give a submitted sheet back to its reviewer (logged with the reason); a closed panel reopens."""
        panel = self.get_object()
        self._require_chair(panel)
        data = PanelSheetReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sheet = services.sheet_reopen(
            panel_id=panel.pk,
            sheet_id=data.validated_data["sheet"],
            actor=request.user,
            reason=data.validated_data["reason"],
        )
        return Response(PanelSheetSerializer(sheet).data)

    @extend_schema(request=PanelSheetReasonSerializer, responses=PanelSheetSerializer)
    @action(detail=True, methods=["post"], url_path="reinstate-sheet")
    def reinstate_sheet(self, request, pk=None):
        """Lift a recusal: the reviewer scores the item after all."""
        panel = self.get_object()
        self._require_chair(panel)
        data = PanelSheetReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sheet = services.sheet_reinstate(
            panel_id=panel.pk,
            sheet_id=data.validated_data["sheet"],
            actor=request.user,
            reason=data.validated_data["reason"],
        )
        return Response(PanelSheetSerializer(sheet).data)

    @extend_schema(request=PanelReassignSerializer, responses=PanelSheetSerializer)
    @action(detail=True, methods=["post"], url_path="reassign-sheet")
    def reassign_sheet(self, request, pk=None):
        """Give a recused sheet's item to another member (a new sheet for them)."""
        panel = self.get_object()
        self._require_chair(panel)
        data = PanelReassignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sheet = services.sheet_reassign(
            panel_id=panel.pk,
            sheet_id=data.validated_data["sheet"],
            actor=request.user,
            to_member_id=data.validated_data["member"],
            reason=data.validated_data["reason"],
        )
        return Response(PanelSheetSerializer(sheet).data, status=201)

    @extend_schema(request=PanelTieInputSerializer, responses=TieResolutionSerializer)
    @action(detail=True, methods=["post"], url_path="resolve-tie")
    def resolve_tie(self, request, pk=None):
        """Order items tied across a quota boundary (best first), with the reason."""
        panel = self.get_object()
        self._require_chair(panel)
        data = PanelTieInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        resolution = services.tie_resolve(panel_id=panel.pk, actor=request.user, **data.validated_data)
        return Response(TieResolutionSerializer(resolution).data, status=201)

    # -- RDEC's actions

    @extend_schema(request=None, responses=PanelSerializer)
    @action(detail=True, methods=["post"], url_path="start-scoring")
    def start_scoring(self, request, pk=None):
        """forming -> scoring; 409 `panel_composition` with `problems` while the composition rule is unmet."""
        panel = self.get_object()
        self._require_perm("reviews.run_panel")
        services.panel_start_scoring(panel_id=panel.pk, actor=request.user)
        return self._panel_answer(panel.pk)

    @extend_schema(request=None, responses=PanelSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """scoring -> closed: scoring ends; scores become visible."""
        panel = self.get_object()
        self._require_perm("reviews.run_panel")
        services.panel_close(panel_id=panel.pk, actor=request.user)
        return self._panel_answer(panel.pk)

    @extend_schema(request=None, responses=PanelSerializer)
    @action(detail=True, methods=["post"])
    def finalize(self, request, pk=None):
        """closed -> finalised, results saved; 409 `unresolved_ties` with `ties` the chair must order first."""
        panel = self.get_object()
        self._require_perm("reviews.finalise_panel")
        services.panel_finalise(panel_id=panel.pk, actor=request.user)
        return self._panel_answer(panel.pk)


__all__ = ["PanelViewSet", "ScoreSheetViewSet"]


# Mounted under /api/v1/ by workflow_site.api (registered in the app's AppConfig.ready()).
ROUTES = [
    ("score-sheets", ScoreSheetViewSet, "score-sheet"),
    ("panels", PanelViewSet, "panel"),
]
