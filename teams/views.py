from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.actor import request_actor
from config.api.headers import no_store
from config.api.parsers import JSONParser
from config.api.schema import USER_ONLY
from stores.serializers import StoreOutput
from teams.scoping import StoreScopedMixin

from .models import ApiKey, Invitation, Membership
from .permissions import TEAM_MANAGE
from .selectors import user_store_permissions
from .serializers import (
    ApiKeyCreatedOutput,
    ApiKeyInput,
    ApiKeyOutput,
    InvitationInput,
    InvitationOutput,
    MemberAddInput,
    MemberOutput,
    MemberUpdateInput,
    PermissionsOutput,
)
from .services import (
    api_key_create,
    api_key_revoke,
    invitation_accept,
    invitation_create,
    invitation_revoke,
    member_add,
    member_remove,
    member_role_change,
)


class MembershipViewSet(
    StoreScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """/stores/{store}/members[/{user_id}]: members read, team.manage writes."""

    queryset = Membership.objects.select_related("user").order_by("id")
    serializer_class = MemberOutput
    members_only = True
    write_permission = TEAM_MANAGE
    lookup_field = "user_id"
    lookup_url_kwarg = "user_id"
    # At most 18 digits: a longer one is no user id, and the foreign-key lookup would hand the
    # database an integer past 64 bits (a 500) where a pk lookup answers no rows.
    lookup_value_regex = r"\d{1,18}"

    @extend_schema(request=MemberAddInput, responses={201: MemberOutput},
                   description="Adds an existing user. Unknown email → 400; already a member → 409 ALREADY_EXISTS.")
    def create(self, request, store):
        data = MemberAddInput(data=request.data)
        data.is_valid(raise_exception=True)
        membership = member_add(store=self.store, access=self.access, actor=request_actor(request),
                                **data.validated_data)
        return Response(MemberOutput(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MemberUpdateInput, responses=MemberOutput,
                   description="Changes the role. The last owner cannot be demoted (409); only owners "
                   "make, demote or remove owners (403).")
    def partial_update(self, request, store, user_id):
        membership = self.get_object()  # first: another store's member is 404 whatever the body
        data = MemberUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        membership = member_role_change(membership=membership, access=self.access, actor=request_actor(request),
                                        **data.validated_data)
        return Response(MemberOutput(membership).data)

    @extend_schema(request=None, responses={204: None},
                   description="Removes the member. The last owner cannot be removed (409).")
    def destroy(self, request, store, user_id):
        member_remove(membership=self.get_object(), access=self.access, actor=request_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationViewSet(StoreScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """/stores/{store}/invites[/{id}]: everything needs team.manage (invitations hold people's emails)."""

    queryset = Invitation.objects.select_related("store")
    serializer_class = InvitationOutput
    write_permission = TEAM_MANAGE
    action_permissions = {"list": TEAM_MANAGE}
    lookup_value_regex = r"\d+"

    @extend_schema(request=InvitationInput, responses={201: InvitationOutput},
                   description="Emails a single-use token valid for 7 days.")
    def create(self, request, store):
        data = InvitationInput(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = invitation_create(
            store=self.store, access=self.access, invited_by=request.user, actor=request_actor(request),
            **data.validated_data,
        )
        return Response(InvitationOutput(invitation).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None}, description="Revokes a pending invitation.")
    def destroy(self, request, store, pk):
        invitation_revoke(invitation=self.get_object(), actor=request_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationAcceptViewSet(viewsets.GenericViewSet):
    """POST /invites/{token}/accept: the logged-in user joins the store with the invited role."""

    queryset = Invitation.objects.none()
    lookup_field = "token"
    lookup_value_regex = r"[-A-Za-z0-9_]+"
    serializer_class = MemberOutput

    @extend_schema(request=None, responses={200: MemberOutput}, auth=USER_ONLY,
                   description="Expired, revoked or used, or the store is deactivated → 400 "
                               "VALIDATION_ERROR; already a member → 409.")
    @action(detail=True, methods=["post"])
    def accept(self, request, token):
        if not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        membership = invitation_accept(token=token, user=request.user)
        body = MemberOutput(membership).data
        body["store"] = StoreOutput(membership.store, context={"request": request}).data
        return Response(body)


class ApiKeyViewSet(StoreScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """/stores/{store}/api-keys[/{id}]: everything needs team.manage; keys never hold more than their creator."""

    queryset = ApiKey.objects.select_related("created_by")
    serializer_class = ApiKeyOutput
    write_permission = TEAM_MANAGE
    action_permissions = {"list": TEAM_MANAGE}
    lookup_value_regex = r"\d+"

    @extend_schema(request=ApiKeyInput, responses={201: ApiKeyCreatedOutput},
                   description="Answers the whole `key` once; it is stored hashed. Unknown scope → 400; "
                   "a scope the caller lacks → 403.")
    @no_store
    def create(self, request, store):
        data = ApiKeyInput(data=request.data)
        data.is_valid(raise_exception=True)
        api_key, key = api_key_create(
            store=self.store, access=self.access, created_by=request.user, actor=request_actor(request),
            **data.validated_data,
        )
        api_key.key = key
        return Response(ApiKeyCreatedOutput(api_key).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None}, description="Revokes the key at once.")
    def destroy(self, request, store, pk):
        api_key_revoke(api_key=self.get_object(), actor=request_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PermissionsView(APIView):
    """/auth/permissions: the caller's role and permissions in each of their stores (served here, with the
    other /auth/ endpoints' tag: the map is the teams'; accounts does not know about stores)."""

    parser_classes = [JSONParser]
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["auth"], summary="The current user's role and permissions in each store",
                   responses={200: PermissionsOutput})
    def get(self, request):
        return Response(PermissionsOutput({"stores": user_store_permissions(user=request.user)}).data)
