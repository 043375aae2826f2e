"""Accounts API: token, agencies, users, me. Paths and fields here are a contract: add, never rename."""

from django.contrib.auth.signals import user_logged_in
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from workflow_site.api import SHORT_TEXT
from workflow_site.errors import NotFound
from workflow_site.roc_calendar.serializers import ROCDateField

from . import selectors, services, tokens
from .auth import AnonThrottle, AuthTokenThrottle, lockout_response
from .models import Agency, ApiToken, Delegation, User
from .roles import Role, user_roles


class HasPerm(permissions.BasePermission):
    """Grants when the user holds `perm` (a django-rules permission); subclasses name it."""

    perm = ""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.has_perm(self.perm))


class CanManageAgencies(HasPerm):
    perm = "accounts.manage_agencies"


class CanManageUsers(HasPerm):
    perm = "accounts.manage_users"


class AgencySerializer(serializers.ModelSerializer):
    class Meta:
        model = Agency
        fields = ["id", "code", "name", "name_en", "kind", "parent", "active"]


class AgencyViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Agencies: every signed-in user reads; admins create and update."""

    serializer_class = AgencySerializer
    filterset_fields = ["kind", "active", "parent"]

    def get_queryset(self):
        return selectors.agency_list()

    def get_permissions(self):
        if self.action in ("create", "update", "partial_update"):
            return [permissions.IsAuthenticated(), CanManageAgencies()]
        return [permissions.IsAuthenticated()]

    def perform_create(self, serializer):
        serializer.instance = services.agency_create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.agency_update(
            actor=self.request.user, agency_id=serializer.instance.pk, **serializer.validated_data
        )


class UserSerializer(serializers.ModelSerializer):
    password = serializers.CharField(write_only=True, required=True, style={"input_type": "password"})
    roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices), required=False)
    agency = serializers.PrimaryKeyRelatedField(queryset=Agency.objects.all(), allow_null=True, required=False)

    class Meta:
        model = User
        fields = ["id", "username", "password", "email", "display_name", "agency", "roles", "is_active"]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:  # updates may leave the password as it is
            fields["password"].required = False
        return fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        # Prefetched groups (selectors.user_list) keep the list at a constant number of queries.
        data["roles"] = sorted(g.name for g in instance.groups.all())
        return data


class UserViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Users: admins only."""

    serializer_class = UserSerializer
    permission_classes = [permissions.IsAuthenticated, CanManageUsers]
    filterset_fields = ["agency", "is_active"]

    def get_queryset(self):
        return selectors.user_list()

    def perform_create(self, serializer):
        serializer.instance = services.user_create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.user_update(
            actor=self.request.user, user_id=serializer.instance.pk, **serializer.validated_data
        )


class MeSerializer(serializers.ModelSerializer):
    agency = AgencySerializer(
        read_only=True, allow_null=True, help_text="Null for a user of no agency (an external reviewer)."
    )
    roles = serializers.SerializerMethodField()
    acting_for = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "email", "display_name", "agency", "roles", "acting_for", "is_superuser"]

    def get_roles(self, user) -> list[str]:
        return sorted(user_roles(user))

    @extend_schema(
        responses=inline_serializer("ActingFor", {"id": serializers.IntegerField(), "display": serializers.CharField()})
    )
    def get_acting_for(self, user) -> list[dict]:
        return [{"id": p.pk, "display": str(p)} for p in selectors.acting_principals(user)]


@extend_schema(responses=MeSerializer)
@api_view(["GET"])
@permission_classes([permissions.IsAuthenticated])
def me(request):
    """The signed-in user, their roles and whom they currently stand in for."""
    return Response(MeSerializer(request.user).data)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)
    id = serializers.IntegerField(read_only=True, help_text="The token's id in `auth/tokens/`.")
    expires_at = serializers.DateTimeField(read_only=True, help_text="Expiry at the latest (absolute lifetime).")
    idle_timeout = serializers.IntegerField(read_only=True, help_text="Seconds unused after which it expires.")


@extend_schema(
    responses={
        200: TokenSerializer,
        429: OpenApiResponse(description="Too many failed sign-ins or requests; see the Retry-After header."),
    }
)
class TokenView(ObtainAuthToken):
    """`POST {username, password}` -> `{"token"}`; send it back as `Authorization: Token <t>`. Each sign-in gets a
    new token, which expires when unused for `idle_timeout` seconds or at `expires_at`. Failed sign-ins count
    towards the lockout shared with the sign-in form (429 with Retry-After)."""

    throttle_classes = [AuthTokenThrottle, AnonThrottle]
    throttle_scope = "auth_token"

    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        valid = serializer.is_valid()
        # django-axes marks the request it saw, DRF's, when this failure locked the username or address out.
        if getattr(request, "axes_locked_out", False):
            return lockout_response(request._request, None, getattr(request, "axes_credentials", None))
        if not valid:
            raise ValidationError(serializer.errors)
        user = serializer.validated_data["user"]
        # A sign-in like the form's: last_login, axes' access log and the reset of this username's failures.
        user_logged_in.send(sender=user.__class__, request=request, user=user)
        token, key = tokens.token_issue(user=user, user_agent=request.META.get("HTTP_USER_AGENT", ""))
        idle = int(tokens.idle_timeout().total_seconds())
        return Response({"token": key, "id": token.pk, "expires_at": token.expires_at, "idle_timeout": idle})


class ApiTokenSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField(help_text="The token this request was made with.")

    class Meta:
        model = ApiToken
        fields = ["id", "prefix", "created_at", "last_used_at", "expires_at", "user_agent", "current"]

    def get_current(self, token) -> bool:
        return token == self.context["request"].auth


class ApiTokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """My tokens still in force (`GET`); `DELETE {id}/` revokes one of them. Others' tokens are not found."""

    serializer_class = ApiTokenSerializer
    queryset = ApiToken.objects.none()  # for the schema; get_queryset gives the caller's
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return tokens.token_list(user=self.request.user)

    def destroy(self, request, *args, **kwargs):
        tokens.token_revoke(actor=request.user, token_id=_int_or_404(kwargs["pk"]))
        return Response(status=204)


def _int_or_404(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NotFound() from None


class LogoutAllSerializer(serializers.Serializer):
    tokens = serializers.IntegerField(read_only=True, help_text="Tokens revoked.")
    sessions = serializers.IntegerField(read_only=True, help_text="Sessions ended.")


@extend_schema(request=None, responses=LogoutAllSerializer)
@api_view(["POST"])
@permission_classes([permissions.IsAuthenticated])
def logout_all(request):
    """Signs the user out everywhere: every token revoked, every session ended (this one included)."""
    return Response(tokens.logout_everywhere(user=request.user))


class DelegationSerializer(serializers.ModelSerializer):
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    substitute = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    starts = ROCDateField()
    ends = ROCDateField()

    class Meta:
        model = Delegation
        fields = ["id", "user", "substitute", "starts", "ends", "reason", "status", "created_at"]
        read_only_fields = ["status", "created_at"]


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=SHORT_TEXT)


class DelegationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Acting substitutes: each user sees the delegations they gave or received; admins see all."""

    serializer_class = DelegationSerializer
    filterset_fields = ["status", "user", "substitute"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no real user
            return Delegation.objects.none()
        return selectors.delegation_list(viewer=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = services.delegation_create(actor=self.request.user, **serializer.validated_data)

    @extend_schema(request=ReasonSerializer, responses=DelegationSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        """in_force -> revoked (the absent user, their agency head or an admin); 409 when already revoked."""
        reason = ReasonSerializer(data=request.data)
        reason.is_valid(raise_exception=True)
        delegation = services.delegation_revoke(
            delegation_id=self.get_object().pk, actor=request.user, reason=reason.validated_data["reason"]
        )
        return Response(DelegationSerializer(delegation).data)


# Mounted under /api/v1/ by workflow_site.api (registered in AccountsConfig.ready()).
ROUTES = [
    ("agencies", AgencyViewSet, "agency"),
    ("users", UserViewSet, "user"),
    ("delegations", DelegationViewSet, "delegation"),
    ("auth/tokens", ApiTokenViewSet, "api-token-mine"),
]
PATHS = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("auth/logout-all/", logout_all, name="api-logout-all"),
    path("me/", me, name="api-me"),
]
