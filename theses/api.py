"""Thesis subsidy and award API (學位論文獎補助). Paths and fields here are a contract: add, never rename.

Calls are read by everyone signed in (applicants included: what a call offers is public to them) and run by RDEC.
Applications are visible as theses.selectors decides (an applicant their own, RDEC what was sent, reviewers what
they score); a reviewer of a double-blind call never reads who applied. Anyone may register as an applicant; the
account works once its e-mail address is verified.
"""

from django.contrib.auth import get_user_model
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.fields import SkipField
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.auth import AnonThrottle
from accounts.roles import Role, user_roles
from reviews.models import PanelMember
from workflow_site import spreadsheets
from workflow_site.api import LONG_TEXT, SHORT_TEXT, JSONParser
from workflow_site.errors import PermissionDenied
from workflow_site.roc_calendar.serializers import ROCDateField
from workflow_site.schema import STAGE_CONFLICT

from . import exports, selectors, services
from .models import MAX_AMOUNT, ApplicantProfile, Degree, Kind, ThesisApplication, ThesisCall, ThesisDocument
from .throttles import RegistrationThrottle

# ---------------------------------------------------------------------------------------------- calls


class ThesisCriterionSerializer(serializers.Serializer):
    code = serializers.SlugField(max_length=32)
    name = serializers.CharField(max_length=200)
    weight = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=False)
    max_score = serializers.DecimalField(max_digits=6, decimal_places=2, coerce_to_string=False)
    guidance = serializers.CharField(required=False, allow_blank=True, default="", max_length=SHORT_TEXT)


class ThesisTrackSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Kind.choices)
    degree = serializers.ChoiceField(choices=Degree.choices)
    quota = serializers.IntegerField(min_value=1, max_value=1000)
    amount = serializers.IntegerField(min_value=1, max_value=MAX_AMOUNT, help_text="NT$ per application granted.")
    min_score = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, coerce_to_string=False, required=False
    )
    panel = serializers.IntegerField(source="panel_id", read_only=True, allow_null=True)


class RubricsField(serializers.DictField):
    """Written to the panels' rubrics; read back by ThesisCallSerializer.to_representation (so it is read-write in
    the schema), never off the call itself."""

    def get_attribute(self, instance):
        raise SkipField


class ThesisCallSerializer(serializers.ModelSerializer):
    application_deadline = ROCDateField()
    review_deadline = ROCDateField()
    final_due_date = ROCDateField()
    tracks = ThesisTrackSerializer(many=True)
    rubrics = RubricsField(
        child=serializers.ListField(child=ThesisCriterionSerializer(), min_length=1, max_length=50),
        help_text="{kind: [criteria]}: the rubric each kind's panels score with (weights sum to 100).",
    )
    min_members = serializers.IntegerField(min_value=1, max_value=50, default=3, write_only=True)
    min_external = serializers.IntegerField(min_value=0, max_value=50, default=0, write_only=True)

    class Meta:
        model = ThesisCall
        fields = [
            "id",
            "year",
            "title",
            "application_deadline",
            "review_deadline",
            "final_due_date",
            "double_blind",
            "retention_days",
            "tracks",
            "rubrics",
            "min_members",
            "min_external",
            "status",
            "decided_at",
        ]
        read_only_fields = ["status", "decided_at"]

    def validate_rubrics(self, rubrics: dict) -> dict:
        unknown = sorted(set(rubrics) - set(Kind.values))
        if unknown:
            raise serializers.ValidationError(_("未知的類別：%(kinds)s") % {"kinds": "、".join(unknown)})
        return rubrics

    def to_representation(self, instance):
        data = super().to_representation(instance)
        rubrics = {}
        for track in instance.tracks.all():  # prefetched with their panels' rubrics (selectors.call_details)
            if track.kind not in rubrics and track.panel is not None:
                rubrics[track.kind] = [
                    {"code": c.code, "name": c.name, "weight": float(c.weight), "max_score": float(c.max_score)}
                    for c in track.panel.rubric.criteria.all()
                ]
        data["rubrics"] = rubrics
        return data


class ThesisCallMemberSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Kind.choices, help_text="The kind whose panels (every degree) they join.")
    user = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.filter(is_active=True))
    member_kind = serializers.ChoiceField(choices=PanelMember.Kind.choices)
    chair = serializers.BooleanField(default=False)
    panels = serializers.IntegerField(read_only=True, help_text="How many panels they were put on.")


class ThesisResultRowSerializer(serializers.Serializer):
    application = serializers.IntegerField()
    title = serializers.CharField()
    applicant = serializers.CharField()
    university = serializers.CharField(allow_blank=True)
    rank = serializers.IntegerField()
    score = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    status = serializers.ChoiceField(choices=ThesisApplication.Status.choices)
    amount = serializers.IntegerField(allow_null=True)


class ThesisTrackResultSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Kind.choices)
    degree = serializers.ChoiceField(choices=Degree.choices)
    quota = serializers.IntegerField()
    amount = serializers.IntegerField()
    applications = ThesisResultRowSerializer(many=True)


class ThesisCallViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Yearly calls: everyone signed in reads them; RDEC officers create and run them."""

    serializer_class = ThesisCallSerializer
    filterset_fields = ["year", "status"]

    def get_queryset(self):
        return selectors.call_details()

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        data["tracks"] = [dict(track) for track in data["tracks"]]
        data["rubrics"] = {kind: [dict(c) for c in criteria] for kind, criteria in data["rubrics"].items()}
        call = services.call_create(actor=self.request.user, **data)
        serializer.instance = selectors.call_details().get(pk=call.pk)

    def _run(self, service):
        call = service(call_id=self.get_object().pk, actor=self.request.user)
        return Response(ThesisCallSerializer(selectors.call_details().get(pk=call.pk)).data)

    @extend_schema(request=None, responses=ThesisCallSerializer)
    @action(detail=True, methods=["post"])
    def open(self, request, pk=None):
        """planning -> open: applicants may apply until the application deadline."""
        return self._run(services.call_open)

    @extend_schema(request=None, responses=ThesisCallSerializer)
    @action(detail=True, methods=["post"], url_path="start-review")
    def start_review(self, request, pk=None):
        """open -> reviewing: the eligible applications go to their panels. 409 `unscreened_applications` while sent
        applications await screening, `panel_composition` while a panel lacks members."""
        return self._run(services.call_start_review)

    @extend_schema(request=None, responses=ThesisCallSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        """reviewing -> decided: per track, approved within the quota and above the minimum score, the rest rejected.
        409 `unresolved_ties` while a chair must order a tie at the quota line."""
        return self._run(services.call_decide)

    @extend_schema(request=None, responses=ThesisCallSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """decided -> closed."""
        return self._run(services.call_close)

    @extend_schema(request=ThesisCallMemberSerializer, responses={201: ThesisCallMemberSerializer})
    @action(detail=True, methods=["post"])
    def members(self, request, pk=None):
        """Put a reviewer on the panels of one kind (every degree of it), while they are forming."""
        payload = ThesisCallMemberSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        panels = services.call_member_add(
            call_id=self.get_object().pk,
            actor=request.user,
            kind=data["kind"],
            user_id=data["user"].pk,
            member_kind=data["member_kind"],
            chair=data["chair"],
        )
        return Response(ThesisCallMemberSerializer({**data, "panels": panels}).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "format",
                str,
                enum=sorted(spreadsheets.FORMATS),
                required=False,
                description="A spreadsheet download instead of JSON: ods (ODF-CNS15251) or xlsx.",
            )
        ],
        responses={
            (200, "application/json"): ThesisTrackResultSerializer(many=True),
            **{(200, media_type): bytes for media_type in spreadsheets.FORMATS.values()},
            409: STAGE_CONFLICT,
        },
    )
    @action(
        detail=True,
        methods=["get"],
        pagination_class=None,  # a plain array, not a page
        filter_backends=[],
        content_negotiation_class=spreadsheets.IgnoreFormatQueryNegotiation,
    )
    def results(self, request, pk=None):
        """Per kind and degree, the reviewed applications ranked, with score, state and amount: RDEC staff (403),
        once the call is decided (409 `results_not_available` before). `?format=ods|xlsx` downloads them instead.

        `format` is DRF's URL_FORMAT_OVERRIDE (renderer choice) everywhere else; here it names the file format and
        errors still answer in JSON."""
        call = self.get_object()
        fmt = request.query_params.get("format")
        if fmt is not None:
            return exports.call_results_file(call=call, viewer=request.user, fmt=fmt).as_response()
        exports.check_results_readable(call=call, viewer=request.user)
        rows = [
            {
                "kind": track.kind,
                "degree": track.degree,
                "quota": track.quota,
                "amount": track.amount,
                "applications": [
                    {
                        "application": a.pk,
                        "title": a.title,
                        "applicant": str(a.applicant),
                        "university": a.university,
                        "rank": a.rank,
                        "score": a.score,
                        "status": a.status,
                        "amount": a.amount,
                    }
                    for a in applications
                ],
            }
            for track, applications in exports.results_by_track(call)
        ]
        return Response(ThesisTrackResultSerializer(rows, many=True).data)


# ---------------------------------------------------------------------------------------------- applications


class ThesisDocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = ThesisDocument
        fields = ["id", "role", "name", "format", "size", "uploaded_at"]
        read_only_fields = fields


IDENTITY = ("applicant", "applicant_name", "university", "department", "advisor", "publish_name")


class ThesisApplicationSerializer(serializers.ModelSerializer):
    call = serializers.PrimaryKeyRelatedField(queryset=ThesisCall.objects.all())
    kind = serializers.ChoiceField(choices=Kind.choices)
    defence_date = ROCDateField(required=False, allow_null=True)
    # Who applied: null for the reviewers of a double-blind call (selectors.shows_applicant).
    applicant = serializers.IntegerField(source="applicant_id", read_only=True, allow_null=True)
    applicant_name = serializers.SerializerMethodField()
    university = serializers.CharField(read_only=True, allow_null=True)
    department = serializers.CharField(read_only=True, allow_null=True)
    advisor = serializers.CharField(read_only=True, allow_null=True)
    publish_name = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=100, help_text="The name shown if awarded."
    )
    documents = ThesisDocumentSerializer(many=True, read_only=True)

    class Meta:
        model = ThesisApplication
        fields = [
            "id",
            "call",
            "kind",
            "degree",
            "title",
            "abstract",
            "defence_date",
            "publish_name",
            "applicant",
            "applicant_name",
            "university",
            "department",
            "advisor",
            "status",
            "note",
            "score",
            "rank",
            "amount",
            "submitted_at",
            "final_submitted_at",
            "documents",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "degree",
            "status",
            "note",
            "score",
            "rank",
            "amount",
            "submitted_at",
            "final_submitted_at",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {"abstract": {"max_length": LONG_TEXT}}

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list):
            fields["call"].read_only = True
            fields["kind"].read_only = True
        return fields

    def get_applicant_name(self, application) -> str | None:
        return str(application.applicant)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is not None and not selectors.shows_applicant(request.user, instance):
            data.update(dict.fromkeys(IDENTITY))
            # A file's name may carry the author's: "研究計畫.pdf" instead.
            for document, shown in zip(data["documents"], instance.documents.all(), strict=True):
                document["name"] = selectors.document_name(shown, shows_applicant=False)
        return data


class ThesisScreenSerializer(serializers.Serializer):
    eligible = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True, required=False, default="", max_length=SHORT_TEXT)


class ThesisNoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=SHORT_TEXT, help_text="What the applicant must complete.")


class ThesisReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=SHORT_TEXT)


class ThesisOptionalReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, required=False, default="", max_length=SHORT_TEXT)


class ThesisFileSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="PDF, DOCX or ODT (recognised by content), 20 MB at most.")


class ThesisDocumentUploadSerializer(ThesisFileSerializer):
    role = serializers.ChoiceField(
        choices=[c for c in ThesisDocument.Role.choices if c[0] != ThesisDocument.Role.FINAL]
    )


class ThesisApplicationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Applications the user may see: an applicant their own (drafts too), RDEC what was sent, reviewers what they
    score. Others' are 404."""

    serializer_class = ThesisApplicationSerializer
    filterset_fields = ["call", "kind", "degree", "status"]
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    http_method_names = ["get", "post", "patch", "head", "options"]  # PATCH edits a draft; no PUT

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no real user
            return ThesisApplication.objects.none()
        return selectors.application_details(viewer=self.request.user)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        call = data.pop("call")
        if data.get("publish_name") is None:
            data.pop("publish_name", None)
        application = services.application_create(actor=self.request.user, call_id=call.pk, **data)
        serializer.instance = self.get_queryset().get(pk=application.pk)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        if "publish_name" in data and data["publish_name"] is None:
            data["publish_name"] = ""
        application = services.application_update(
            actor=self.request.user, application_id=serializer.instance.pk, **data
        )
        serializer.instance = self.get_queryset().get(pk=application.pk)

    def _reply(self, application):
        return Response(self.get_serializer(self.get_queryset().get(pk=application.pk)).data)

    def _payload(self, serializer_class):
        payload = serializer_class(data=self.request.data)
        payload.is_valid(raise_exception=True)
        return payload.validated_data

    @extend_schema(request=None, responses=ThesisApplicationSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """draft | returned -> submitted: before the deadline, with its plan (subsidy) or thesis (award)."""
        return self._reply(services.application_submit(actor=request.user, application_id=self.get_object().pk))

    @extend_schema(request=ThesisScreenSerializer, responses=ThesisApplicationSerializer)
    @action(detail=True, methods=["post"])
    def screen(self, request, pk=None):
        """RDEC's eligibility screening: submitted -> eligible, or -> ineligible with the reason."""
        data = self._payload(ThesisScreenSerializer)
        return self._reply(services.application_screen(actor=request.user, application_id=self.get_object().pk, **data))

    @extend_schema(request=ThesisNoteSerializer, responses=ThesisApplicationSerializer)
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        """submitted -> returned: documents missing, back to the applicant with a note (while the call is open)."""
        data = self._payload(ThesisNoteSerializer)
        return self._reply(services.application_return(actor=request.user, application_id=self.get_object().pk, **data))

    @extend_schema(request=ThesisOptionalReasonSerializer, responses=ThesisApplicationSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """draft | returned | submitted -> withdrawn (the applicant)."""
        data = self._payload(ThesisOptionalReasonSerializer)
        return self._reply(
            services.application_withdraw(actor=request.user, application_id=self.get_object().pk, **data)
        )

    @extend_schema(request={"multipart/form-data": ThesisFileSerializer}, responses=ThesisApplicationSerializer)
    @action(detail=True, methods=["post"], url_path="submit-final", parser_classes=[MultiPartParser, FormParser])
    def submit_final(self, request, pk=None):
        """approved | overdue -> final_submitted: the subsidised thesis, finished (a file as for documents)."""
        data = self._payload(ThesisFileSerializer)
        return self._reply(
            services.application_submit_final(
                actor=request.user, application_id=self.get_object().pk, upload=data["file"]
            )
        )

    @extend_schema(request=None, responses=ThesisApplicationSerializer)
    @action(detail=True, methods=["post"], url_path="accept-final")
    def accept_final(self, request, pk=None):
        """final_submitted -> accepted (RDEC): the subsidy is paid."""
        return self._reply(services.application_accept_final(actor=request.user, application_id=self.get_object().pk))

    @extend_schema(request=ThesisReasonSerializer, responses=ThesisApplicationSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """approved | overdue -> cancelled: RDEC withdraws the subsidy, with the reason."""
        data = self._payload(ThesisReasonSerializer)
        return self._reply(services.application_cancel(actor=request.user, application_id=self.get_object().pk, **data))

    @extend_schema(
        request={"multipart/form-data": ThesisDocumentUploadSerializer}, responses={201: ThesisDocumentSerializer}
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def documents(self, request, pk=None):
        """A file for a draft or returned application (the applicant): a research plan, the thesis or another proof;
        PDF, DOCX or ODT by content, 20 MB at most."""
        data = self._payload(ThesisDocumentUploadSerializer)
        document = services.document_add(
            actor=request.user, application_id=self.get_object().pk, role=data["role"], upload=data["file"]
        )
        return Response(ThesisDocumentSerializer(document).data, status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------------------------------------- applicants


class ApplicantRegistrationSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, write_only=True, style={"input_type": "password"})
    display_name = serializers.CharField(max_length=100)


class ApplicantVerifySerializer(serializers.Serializer):
    token = serializers.CharField(max_length=500)


class _Anonymous(APIView):
    """Open to anyone, signed in or not (no credentials are read), throttled per address."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [RegistrationThrottle, AnonThrottle]
    throttle_scope = "auth_token"


class RegisterView(_Anonymous):
    @extend_schema(
        request=ApplicantRegistrationSerializer,
        responses={202: inline_serializer("RegistrationAccepted", {"detail": serializers.CharField()})},
    )
    def post(self, request):
        """Register as an applicant: an inactive account, and an e-mail with the link that activates it (valid
        APPLICANT_VERIFY_SECONDS, two days by default). 400 naming the field for a username already taken, a bad
        address or a weak password. The answer is the same whether or not the address is already registered."""
        payload = ApplicantRegistrationSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.applicant_register(**payload.validated_data)
        return Response(
            {
                "detail": _("驗證信已寄出，請於 %(hours)d 小時內開啟信中的連結完成驗證。")
                % {"hours": services.verify_seconds() // 3600}
            },
            status=status.HTTP_202_ACCEPTED,
        )


class VerifyView(_Anonymous):
    @extend_schema(
        request=ApplicantVerifySerializer,
        responses={
            200: inline_serializer("Verified", {"detail": serializers.CharField(), "username": serializers.CharField()})
        },
    )
    def post(self, request):
        """The token from the registration e-mail: the account becomes active. 400 `token` when forged, expired or
        already used."""
        payload = ApplicantVerifySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user = services.applicant_verify(token=payload.validated_data["token"])
        return Response({"detail": _("電子郵件驗證完成，請登入並填寫申請人資料。"), "username": user.username})


class ApplicantProfileSerializer(serializers.Serializer):
    university = serializers.CharField(max_length=100)
    department = serializers.CharField(max_length=100)
    degree = serializers.ChoiceField(choices=Degree.choices)
    advisor = serializers.CharField(max_length=100)
    expected_date = ROCDateField(required=False, allow_null=True, default=None)
    defence_date = ROCDateField(required=False, allow_null=True, default=None)
    email_verified_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["degree"] = data["degree"] or None  # not given yet
        return data

    def get_fields(self):
        fields = super().get_fields()
        fields["degree"].allow_null = True  # in the answer, before the applicant gives it
        return fields


@extend_schema(methods=["GET"], responses=ApplicantProfileSerializer)
@extend_schema(methods=["PUT"], request=ApplicantProfileSerializer, responses=ApplicantProfileSerializer)
@api_view(["GET", "PUT"])
@permission_classes([permissions.IsAuthenticated])
def my_profile(request):
    """The signed-in applicant's profile: school, department, degree, advisor and dates (empty until filled in).
    Applicants only (403)."""
    if Role.APPLICANT not in user_roles(request.user):
        raise PermissionDenied(_("只有申請人有申請人資料。"))
    if request.method == "PUT":
        payload = ApplicantProfileSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.profile_set(actor=request.user, **payload.validated_data)
    profile = selectors.profile_of(request.user) or ApplicantProfile(user=request.user)  # empty: not filled in yet
    return Response(ApplicantProfileSerializer(profile).data)


# Mounted under /api/v1/ by workflow_site.api (registered in ThesesConfig.ready()).
ROUTES = [
    ("thesis-calls", ThesisCallViewSet, "thesis-call"),
    ("thesis-applications", ThesisApplicationViewSet, "thesis-application"),
]
PATHS = [
    path("applicants/register/", RegisterView.as_view(), name="api-applicant-register"),
    path("applicants/verify/", VerifyView.as_view(), name="api-applicant-verify"),
    path("applicants/me/", my_profile, name="api-applicant-me"),
]
