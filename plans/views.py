from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.permissions import AllowAny

from .models import Plan
from .serializers import PlanOutput


class PlanViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """GET /api/v1/plans: the public plans, cheapest first (public, no pagination: a handful)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    serializer_class = PlanOutput
    pagination_class = None
    queryset = Plan.objects.filter(is_public=True).order_by("position", "price", "id")

    @extend_schema(responses=PlanOutput(many=True))
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)
