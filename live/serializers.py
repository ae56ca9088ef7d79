from rest_framework import serializers


class TicketInput(serializers.Serializer):
    """Empty for a signed-in caller; a guest names an anonymous cart, or an order by store, number and email."""

    cart = serializers.UUIDField(required=False)
    store = serializers.CharField(required=False, max_length=100)
    order = serializers.CharField(required=False, max_length=64, help_text="The order's number.")
    email = serializers.EmailField(required=False)


class TicketOutput(serializers.Serializer):
    ticket = serializers.CharField()
    expires_in = serializers.IntegerField(help_text="Seconds during which the ticket opens a stream.")
    url = serializers.CharField(help_text="The stream to open with EventSource (the ticket in its query).")
