"""GET, PUT /api/v1/stores/{store}/features (API.md "Customers' data rights, feature flags, security log")."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema

from config.api.actor import request_actor
from config.api.renderers import ok
from teams.scoping import StoreScopedGenericView

from .flags import flags_for
from .models import FeatureFlag
from .serializers import FeaturesInput, FeaturesOutput
from .services import store_features_set

STORE_PARAM = OpenApiParameter("store", OpenApiTypes.STR, OpenApiParameter.PATH, description="The store's slug.")


class FeaturesView(StoreScopedGenericView):
    """GET: anyone who may see the store (a storefront hides what is off); PUT: store.manage."""

    queryset = FeatureFlag.objects.all()
    http_method_names = ["get", "put", "options"]
    pagination_class = None

    @extend_schema(parameters=[STORE_PARAM], responses=FeaturesOutput,
                   description="Every feature flag's answer for this store: on only when the platform has it on and "
                               "the store has not switched it off. A switched-off feature's routes answer 404 and "
                               "its fields are absent.")
    def get(self, request, *args, **kwargs):
        return ok(FeaturesOutput(flags_for(self.store)).data)

    @extend_schema(parameters=[STORE_PARAM], request=FeaturesInput, responses=FeaturesOutput,
                   description="store.manage. Switches the store's features (the flags left out stay as they are); "
                               "all or none. A platform-wide flag (social_login), or one the platform switched off, "
                               "can only be sent with the value it has; an unknown flag or another value is 400 "
                               "VALIDATION_ERROR with details per flag. Answers every flag, as GET.")
    def put(self, request, *args, **kwargs):
        data = FeaturesInput(data=request.data)
        data.is_valid(raise_exception=True)
        store_features_set(store=self.store, values=data.validated_data, actor=request_actor(request))
        return ok(FeaturesOutput(flags_for(self.store)).data)
