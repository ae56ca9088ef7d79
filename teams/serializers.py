from rest_framework import serializers

from .models import ApiKey, Invitation, Membership
from .permissions import ALL_PERMISSIONS, ROLE_CHOICES


class MemberAddInput(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=ROLE_CHOICES)


class MemberUpdateInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=ROLE_CHOICES)


class MemberOutput(serializers.ModelSerializer):
    user_id = serializers.IntegerField(source="user.id", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.name", read_only=True)
    permissions = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = ["user_id", "email", "name", "role", "permissions", "created_at"]

    def get_permissions(self, membership) -> list[str]:
        return sorted(membership.permissions)


class InvitationInput(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=ROLE_CHOICES)


class InvitationOutput(serializers.ModelSerializer):
    """The token is never answered: it travels in the email only."""

    status = serializers.CharField(read_only=True)
    store = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Invitation
        fields = ["id", "store", "email", "role", "status", "created_at", "expires_at", "accepted_at"]


class ApiKeyInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ALL_PERMISSIONS), allow_empty=True)


class ApiKeyOutput(serializers.ModelSerializer):
    """A key as listed: its prefix only, never the key nor its hash."""

    created_by = serializers.EmailField(source="created_by.email", read_only=True, default=None, allow_null=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "scopes", "created_by", "created_at", "last_used_at", "revoked_at"]


class ApiKeyCreatedOutput(ApiKeyOutput):
    key = serializers.CharField(read_only=True, help_text="The whole key. Shown only in this answer.")

    class Meta(ApiKeyOutput.Meta):
        fields = [*ApiKeyOutput.Meta.fields, "key"]


class StorePermissionsOutput(serializers.Serializer):
    store = serializers.CharField(help_text="The store's slug.")
    role = serializers.CharField()
    permissions = serializers.ListField(child=serializers.CharField())


class PermissionsOutput(serializers.Serializer):
    stores = StorePermissionsOutput(many=True)
