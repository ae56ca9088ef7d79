from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.response import Response

from config.api.actor import request_actor
from config.api.schema import USER_ONLY, answer_of
from teams.scoping import StoreScopedMixin
from teams.selectors import store_access

from .models import Store
from .serializers import StoreCreateInput, StoreMemberOutput, StoreOutput, StoreUpdateInput
from .services import store_create, store_deactivate, store_update


class StoreViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """GET /stores (active stores, public; ``?mine=true``: the caller's own, inactive too), POST /stores."""

    serializer_class = StoreOutput

    def get_queryset(self):
        if self.request.query_params.get("mine") in {"1", "true"} and self.request.user.is_authenticated:
            return Store.objects.filter(memberships__user=self.request.user).distinct()
        return Store.objects.active()

    @extend_schema(
        parameters=[OpenApiParameter("mine", OpenApiTypes.BOOL, description="Only the stores I am a member of")],
        responses=StoreOutput(many=True),
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=StoreCreateInput, responses={201: StoreMemberOutput}, auth=USER_ONLY)
    def create(self, request):
        if not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        data = StoreCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        store = store_create(owner=request.user, actor=request_actor(request), **data.validated_data)
        access = store_access(store=store, user=request.user)
        output = StoreMemberOutput(store, context={"request": request, "access": access})
        return Response(output.data, status=status.HTTP_201_CREATED)


class StoreDetailViewSet(StoreScopedMixin, viewsets.GenericViewSet):
    """GET (public; members also see settings), PATCH and DELETE (store.manage) /stores/{store}."""

    queryset = Store.objects.all()
    store_field = "pk"
    lookup_field = "slug"
    lookup_url_kwarg = "store"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    serializer_class = StoreMemberOutput

    def get_object(self) -> Store:
        return self.store

    def _output(self, store: Store):
        serializer = StoreMemberOutput if self.access.is_member else StoreOutput
        return serializer(store, context={"request": self.request, "access": self.access}).data

    @extend_schema(responses=answer_of("StoreAnswer", StoreMemberOutput, StoreOutput),
                   description="Members (and the store's keys) get StoreMemberOutput: is_active, settings, role "
                   "and permissions; anyone else gets the public StoreOutput.")
    def retrieve(self, request, store):
        return Response(self._output(self.store))

    @extend_schema(request=StoreUpdateInput, responses=answer_of("StoreAnswer", StoreMemberOutput, StoreOutput))
    def partial_update(self, request, store):
        data = StoreUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        store = store_update(store=self.store, actor=request_actor(request), **data.validated_data)
        return Response(self._output(store))

    @extend_schema(request=None, responses={204: None}, description="Deactivates the store (nothing is deleted).")
    def destroy(self, request, store):
        store_deactivate(store=self.store, actor=request_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
