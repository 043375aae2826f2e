"""Notifications API: the signed-in user's own in-app inbox and their delivery preference.

Paths and fields here are a contract: add, never rename.
"""

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from workflow_site.filters import StrictBooleanFilter

from . import selectors, services
from .models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    # The person the recipient stands in for (職務代理), by name; null for their own work.
    on_behalf_of = serializers.CharField(read_only=True, allow_null=True)
    unread = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "item_title",
            "url",
            "subject",
            "body",
            "due_date",
            "purpose",
            "on_behalf_of",
            "created_at",
            "read_at",
            "unread",
        ]
        read_only_fields = fields

    def get_unread(self, notification) -> bool:
        return notification.read_at is None


class NotificationFilter(filters.FilterSet):
    unread = StrictBooleanFilter(field_name="read_at", lookup_expr="isnull", label="true：只列未讀；false：只列已讀")

    class Meta:
        model = Notification
        fields = ["unread"]


class PreferenceSerializer(serializers.Serializer):
    daily_digest = serializers.BooleanField()


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField()


class UnreadCountSerializer(serializers.Serializer):
    unread = serializers.IntegerField()


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The signed-in user's own in-app notifications, newest first; anyone else's are 404."""

    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no real user
            return Notification.objects.none()
        return selectors.inbox(user=self.request.user)

    @extend_schema(request=None, responses=NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        """Mark one notification read; reading it again keeps the first read_at."""
        notification = services.notification_mark_read(notification_id=self.get_object().pk, user=request.user)
        return Response(self.get_serializer(notification).data)

    @extend_schema(request=None, responses=MarkedSerializer, filters=False)
    @action(detail=False, methods=["post"], url_path="read-all", filterset_class=None, pagination_class=None)
    def read_all(self, request):
        """Mark every unread notification read; answers how many were marked."""
        return Response({"marked": services.notifications_mark_all_read(user=request.user)})

    @extend_schema(responses=UnreadCountSerializer, filters=False)
    @action(detail=False, methods=["get"], url_path="unread-count", filterset_class=None, pagination_class=None)
    def unread_count(self, request):
        """How many notifications are still unread (the header badge)."""
        return Response({"unread": selectors.unread_count(user=request.user)})

    @extend_schema(methods=["GET"], responses=PreferenceSerializer, filters=False)
    @extend_schema(methods=["PUT"], request=PreferenceSerializer, responses=PreferenceSerializer, filters=False)
    @action(detail=False, methods=["get", "put"], filterset_class=None, pagination_class=None)
    def preference(self, request):
        """Whether reminder e-mails come one by one or as one daily digest."""
        if request.method == "PUT":
            data = PreferenceSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            preference = services.notification_preference_set(
                user=request.user, daily_digest=data.validated_data["daily_digest"]
            )
            return Response({"daily_digest": preference.daily_digest})
        return Response({"daily_digest": selectors.daily_digest(user=request.user)})


__all__ = ["NotificationViewSet"]


# Mounted under /api/v1/ by workflow_site.api (registered in the app's AppConfig.ready()).
ROUTES = [
    ("notifications", NotificationViewSet, "notification"),
]
