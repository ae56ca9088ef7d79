"""VALIDATION_ERROR ``details`` maps each field to a flat list of messages (API.md "Conventions"),
however deep the error: a list item's or a nested object's error is a message of its top-level
field, prefixed with its path inside it ("Item 0: …" numbered as the JSON array is, "in_app: …")."""

import pytest
from rest_framework import serializers

from config.api.exceptions import exception_handler
from config.money import DECIMAL_STRING_MESSAGE


class Line(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField(min_value=1)


class Address(serializers.Serializer):
    city = serializers.CharField()
    lines = serializers.ListField(child=serializers.CharField(max_length=3), required=False)

    def validate(self, attrs):
        if attrs.get("city") == "Nowhere":
            raise serializers.ValidationError("We do not ship there.")
        return attrs


class Order(serializers.Serializer):
    email = serializers.EmailField(required=False)
    tags = serializers.ListField(child=serializers.ChoiceField(choices=["a", "b"]), required=False)
    lines = Line(many=True, required=False)
    address = Address(required=False)
    flags = serializers.DictField(child=serializers.BooleanField(), required=False)
    matrix = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField()), required=False)

    def validate(self, attrs):
        if attrs.get("email") == "nobody@example.com":
            raise serializers.ValidationError("Nobody cannot order.")
        return attrs


def details_for(data) -> dict:
    serializer = Order(data=data)
    with pytest.raises(serializers.ValidationError) as raised:
        serializer.is_valid(raise_exception=True)
    response = exception_handler(raised.value, {})
    assert response.status_code == 400 and response.data["error"]["code"] == "VALIDATION_ERROR"
    details = response.data["error"]["details"]
    assert all(isinstance(messages, list) and all(isinstance(m, str) for m in messages)
               for messages in details.values()), details
    return details


def test_a_plain_field_error_is_a_list_of_messages():
    assert details_for({"email": "nope"}) == {"email": ["Enter a valid email address."]}


def test_list_item_errors_name_the_item_from_0():
    assert details_for({"tags": ["a", "zz", "b", "yy"]}) == {
        "tags": ['Item 1: "zz" is not a valid choice.', 'Item 3: "yy" is not a valid choice.']}


def test_errors_of_a_list_of_objects_name_the_item_and_its_field():
    details = details_for({"lines": [{"sku": "A", "quantity": 1}, {"quantity": 0}]})
    assert details == {"lines": ["Item 1: sku: This field is required.",
                                 "Item 1: quantity: Ensure this value is greater than or equal to 1."]}


def test_nested_object_errors_name_the_nested_field():
    assert details_for({"address": {"lines": ["ok", "too long"]}}) == {
        "address": ["city: This field is required.", "lines: Item 1: Ensure this field has no more than 3 characters."]}


def test_a_nested_objects_own_error_is_a_message_of_its_field():
    assert details_for({"address": {"city": "Nowhere"}}) == {"address": ["We do not ship there."]}
    assert details_for({"address": "Main street"}) == {
        "address": ["Invalid data. Expected a dictionary, but got str."]}


def test_dict_and_list_of_list_errors_name_their_key_and_items():
    assert details_for({"flags": {"gift": "maybe"}}) == {"flags": ["gift: Must be a valid boolean."]}
    assert details_for({"matrix": [[1], [2, "x"]]}) == {"matrix": ["Item 1: Item 1: A valid integer is required."]}


def test_non_field_errors_keep_drfs_name():
    assert details_for({"email": "nobody@example.com"}) == {"non_field_errors": ["Nobody cannot order."]}
    assert details_for(["not", "an", "object"]) == {
        "non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}
    response = exception_handler(serializers.ValidationError("Refused."), {})
    assert response.data["error"]["details"] == {"non_field_errors": ["Refused."]}


# --- through the endpoints -------------------------------------------------------------------------
@pytest.mark.django_db
def test_an_api_key_with_an_unknown_scope(store, client_for):
    response = client_for(store.owner).post(f"/api/v1/stores/{store.slug}/api-keys",
                                            {"name": "k", "scopes": ["nope.scope"]}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"scopes": ['Item 0: "nope.scope" is not a valid choice.']}


@pytest.mark.django_db
def test_a_webhook_with_an_unknown_event(store, client_for, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    response = client_for(store.owner).post(f"/api/v1/stores/{store.slug}/webhooks",
                                            {"url": "https://127.0.0.1/in", "events": ["order.paid", "nope"]},
                                            format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"events": ['Item 1: "nope" is not a valid choice.']}


@pytest.mark.django_db
def test_a_notification_preference_that_is_not_a_boolean(auth_api):
    response = auth_api.put("/api/v1/notifications/preferences", {"order.paid": {"in_app": "yes please"}},
                            format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"order.paid": ["in_app: Must be a valid boolean."]}


@pytest.mark.django_db
def test_a_product_with_a_bad_variant(store, client_for):
    response = client_for(store.owner).post(
        f"/api/v1/stores/{store.slug}/products",
        {"name": "Lamp", "variants": [{"sku": "A-1", "name": "a", "price": "1.00"}, {"name": "b", "price": "x"}]},
        format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "variants": ["Item 1: sku: This field is required.", "Item 1: price: " + DECIMAL_STRING_MESSAGE]}
