"""A store's card-gateway settings (GET/PUT payment-gateways[/{gateway}], store.manage): public settings and
write-only credentials stored encrypted, answered masked, audited by name; checkout offers a gateway only when it is
enabled and configured.

The gateway here is a test-only one (a real Gateway subclass, in the registry for the test): it has every kind of
setting the card gateways have.
"""

import json
import logging

import pytest
from django.db import connection

from auditlog.models import AuditLog
from payments import services
from payments.gateways import REGISTRY, Gateway, PaymentStart
from payments.models import GatewaySetting, Payment

pytestmark = pytest.mark.django_db

ADDRESS = {"line1": "1 Main St", "city": "Tripoli", "country": "LY"}
API_KEY = "d3adb33f-test-api-key"
WEBHOOK_SECRET = "whsec_test_secret_0123456789"


class TestCard(Gateway):
    name = "testcard"
    label = "Test card"
    fields = ("enabled", "merchant_id", "mode", "sorted_keys")
    secret_fields = ("api_key", "webhook_secret")
    required = ("merchant_id", "api_key")
    choices = {"mode": ("test", "live")}
    flags = ("sorted_keys",)
    defaults = {"sorted_keys": True}
    enabled_by_default = False

    def value_problem(self, name, value) -> str:
        return "Starts with MID-." if name == "merchant_id" and not value.startswith("MID-") else ""

    def start(self, *, order, payment, setting) -> PaymentStart:
        # reads what the services stored, as a real gateway does
        merchant, key = self.option(setting, "merchant_id"), self.secret(setting, "api_key")
        assert key == API_KEY
        return PaymentStart(reference=f"tc_{order.number}",
                            redirect_url=f"https://pay.example/?m={merchant}&o={order.number}")


@pytest.fixture(autouse=True)
def test_card(monkeypatch):
    monkeypatch.setitem(REGISTRY, TestCard.name, TestCard())


def url(store, name=None) -> str:
    return f"/api/v1/stores/{store.slug}/payment-gateways" + (f"/{name}" if name else "")


def raw_secrets(setting_pk) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secrets FROM payments_gatewaysetting WHERE id = %s", [setting_pk])
        return cursor.fetchone()[0]


def configure(owner, store, **overrides):
    values = {"enabled": True, "merchant_id": "MID-123-456", "api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET,
              **overrides}
    return owner.put(url(store, "testcard"), values, format="json")


def test_a_card_gateway_is_off_and_unconfigured_until_the_store_sets_it(store, client_for, settings):
    settings.PUBLIC_BASE_URL = ""
    response = client_for(store.owner).get(url(store, "testcard"))

    assert response.status_code == 200
    assert response.json()["data"] == {
        "gateway": "testcard", "label": "Test card", "enabled": False, "merchant_id": "", "mode": "test",
        "sorted_keys": True, "api_key": "", "webhook_secret": "", "configured": False,
        "webhook_url": f"http://testserver/api/v1/payments/webhooks/testcard/{store.slug}", "updated_at": None}


def test_put_stores_credentials_encrypted_and_answers_them_masked(store, client_for, settings):
    settings.PUBLIC_BASE_URL = "https://shop.example.com/"
    owner = client_for(store.owner)

    response = configure(owner, store, mode="live", sorted_keys=False)

    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert {name: data[name] for name in ("enabled", "merchant_id", "mode", "sorted_keys", "api_key",
                                          "webhook_secret", "configured", "webhook_url")} == {
        "enabled": True, "merchant_id": "MID-123-456", "mode": "live", "sorted_keys": False,
        "api_key": "••••-key", "webhook_secret": "••••6789", "configured": True,
        "webhook_url": f"https://shop.example.com/api/v1/payments/webhooks/testcard/{store.slug}"}
    setting = GatewaySetting.objects.get(store=store, gateway="testcard")
    assert setting.options == {"merchant_id": "MID-123-456", "mode": "live", "sorted_keys": False}
    assert setting.secrets_dict() == {"api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET}
    stored = raw_secrets(setting.pk)
    assert stored.startswith("aes256gcm:") and API_KEY not in stored and WEBHOOK_SECRET not in stored
    # the audit row says which credentials changed, never their values
    entry = AuditLog.objects.get(action="payment_gateway.updated")
    assert entry.changes["credentials_set"] == ["api_key", "webhook_secret"]
    assert entry.changes["merchant_id"] == ["", "MID-123-456"] and entry.changes["enabled"] == [False, True]
    assert API_KEY not in json.dumps(entry.changes) and WEBHOOK_SECRET not in json.dumps(entry.changes)


def test_omitted_keeps_masked_keeps_empty_or_null_clears(store, client_for):
    owner = client_for(store.owner)
    configure(owner, store)
    answered = owner.get(url(store, "testcard")).json()["data"]

    kept = owner.put(url(store, "testcard"), {"merchant_id": "MID-9", "api_key": answered["api_key"]},
                     format="json")
    setting = GatewaySetting.objects.get(store=store, gateway="testcard")
    assert kept.status_code == 200, kept.json()
    assert setting.secrets_dict() == {"api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET}

    cleared = owner.put(url(store, "testcard"), {"webhook_secret": "", "api_key": None}, format="json")
    setting.refresh_from_db()
    assert cleared.json()["data"]["api_key"] == "" and cleared.json()["data"]["webhook_secret"] == ""
    assert cleared.json()["data"]["configured"] is False
    assert setting.secrets_dict() == {} and raw_secrets(setting.pk) == ""
    actions = list(AuditLog.objects.filter(action="payment_gateway.updated").order_by("id")
                   .values_list("changes", flat=True))
    assert actions[1] == {"gateway": "testcard", "merchant_id": ["MID-123-456", "MID-9"]}
    assert actions[2] == {"gateway": "testcard", "credentials_cleared": ["api_key", "webhook_secret"]}


def test_the_same_values_again_change_nothing_and_write_no_audit_row(store, client_for):
    owner = client_for(store.owner)
    configure(owner, store)
    configure(owner, store)

    assert AuditLog.objects.filter(action="payment_gateway.updated").count() == 1


@pytest.mark.parametrize("data, field", [
    ({"mode": "sandbox"}, "mode"), ({"sorted_keys": "sometimes"}, "sorted_keys"),
    ({"merchant_id": "123"}, "merchant_id"),
    ({"api_key": "••••zzzz"}, "api_key"), ({"api_key": "x" * 1001}, "api_key"),
    ({"instructions": "Pay"}, "instructions"), ({"secret_key": "sk_x"}, "secret_key"),
])
def test_a_bad_value_is_400_on_its_field_and_changes_nothing(store, client_for, data, field):
    response = client_for(store.owner).put(url(store, "testcard"), data, format="json")

    assert response.status_code == 400, response.json()
    assert set(response.json()["error"]["details"]) == {field}
    assert not GatewaySetting.objects.exists()


def test_a_credential_is_never_repeated_in_a_refusal(store, client_for):
    owner = client_for(store.owner)
    secret = "sk_live_" + "s" * 30

    response = owner.put(url(store, "testcard"), {"api_key": secret, "merchant_id": "no-prefix"}, format="json")

    assert response.status_code == 400
    assert secret not in response.content.decode()


def test_checkout_offers_a_card_gateway_only_when_enabled_and_configured(api, store, client_for, make_variant,
                                                                       cart_with):
    owner = client_for(store.owner)
    variant = make_variant(stock=10)

    def checkout():
        return api.post(f"/api/v1/stores/{store.slug}/checkout",
                        {"cart": str(cart_with((variant, 1)).pk), "email": "b@example.com",
                         "shipping_address": ADDRESS, "payment_method": "testcard"}, format="json")

    # configured but not enabled
    configure(owner, store, enabled=False)
    off = checkout()
    # enabled but a required credential missing
    owner.put(url(store, "testcard"), {"enabled": True, "api_key": ""}, format="json")
    unconfigured = checkout()
    assert services.gateways_offered(store=store) == ["cod", "bank_transfer"]
    # enabled and configured
    owner.put(url(store, "testcard"), {"api_key": API_KEY}, format="json")
    placed = checkout()

    for refused in (off, unconfigured):
        assert refused.status_code == 400
        assert refused.json()["error"]["details"]["payment_method"] == [
            "Choose one the store offers: cod, bank_transfer."]
    assert placed.status_code == 201, placed.json()
    payment = Payment.objects.get()
    assert payment.gateway == "testcard" and payment.action["redirect_url"].startswith("https://pay.example/?m=MID-")
    assert services.gateways_offered(store=store) == ["cod", "bank_transfer", "testcard"]


def test_the_list_shows_every_gateway_with_its_configured_flag(store, other_store, client_for):
    owner = client_for(store.owner)
    owner.put(url(store, "cod"), {"enabled": False}, format="json")
    configure(owner, store)
    configure(client_for(other_store.owner), other_store, api_key="other-store-key-0000")

    response = owner.get(url(store))

    assert response.status_code == 200
    rows = response.json()["data"]
    assert [row["gateway"] for row in rows] == list(REGISTRY)
    by_name = {row["gateway"]: row for row in rows}
    assert (by_name["cod"]["enabled"], by_name["cod"]["configured"]) == (False, True)
    assert by_name["testcard"]["api_key"] == "••••-key" and by_name["testcard"]["configured"] is True
    assert "webhook_url" not in by_name["cod"]


@pytest.mark.parametrize("role, status", [("staff", 403), ("viewer", 403), (None, 401)])
def test_the_list_needs_store_manage(api, store, member_factory, client_for, role, status):
    client = client_for(member_factory(store, role)) if role else api

    assert client.get(url(store)).status_code == status


def test_another_stores_list_is_not_found(store, other_store, client_for):
    assert client_for(store.owner).get(url(other_store)).status_code == 404


def test_no_credential_reaches_answers_or_logs(api, store, client_for, make_variant, cart_with, caplog):
    owner = client_for(store.owner)
    caplog.set_level(logging.DEBUG)
    contents = [configure(owner, store).content, owner.get(url(store, "testcard")).content,
                owner.get(url(store)).content,
                owner.put(url(store, "testcard"), {"api_key": API_KEY, "mode": "bogus"}, format="json").content,
                api.post(f"/api/v1/stores/{store.slug}/checkout",
                         {"cart": str(cart_with((make_variant(), 1)).pk), "email": "b@example.com",
                          "shipping_address": ADDRESS, "payment_method": "testcard"}, format="json").content,
                client_for(store.owner).get(f"/api/v1/stores/{store.slug}/audit-logs").content]

    for content in contents:
        assert API_KEY not in content.decode() and WEBHOOK_SECRET not in content.decode()
    logged = "\n".join(record.getMessage() + repr(record.__dict__) for record in caplog.records)
    assert API_KEY not in logged and WEBHOOK_SECRET not in logged


# --- the admin ------------------------------------------------------------------------
GATEWAYS = "/admin/payments/gatewaysetting/"


def messages_of(response) -> str:
    return " ".join(str(message) for message in response.context["messages"])


def test_the_admin_sets_credentials_through_password_inputs_that_never_show_them(store, admin_login):
    client = admin_login(store.owner)
    # the add page for the gateway shows its settings, credentials as empty password inputs
    page = client.get(f"{GATEWAYS}add/?gateway=testcard").content.decode()
    assert 'type="password" name="api_key"' in page and 'name="merchant_id"' in page

    response = client.post(f"{GATEWAYS}add/?gateway=testcard", {
        "store": store.pk, "gateway": "testcard", "enabled": "on", "merchant_id": "MID-1", "mode": "live",
        "sorted_keys": "on", "api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET}, follow=True)

    assert response.status_code == 200
    setting = GatewaySetting.objects.get(store=store, gateway="testcard")
    assert setting.secrets_dict() == {"api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET}
    assert setting.options == {"merchant_id": "MID-1", "mode": "live", "sorted_keys": True}
    change = client.get(f"{GATEWAYS}{setting.pk}/change/").content.decode()
    listing = client.get(GATEWAYS).content.decode()
    for page in (change, listing):
        assert API_KEY not in page and WEBHOOK_SECRET not in page
    assert "Saved: ••••-key. Leave blank to keep it." in change
    assert f"/api/v1/payments/webhooks/testcard/{store.slug}" in change
    entry = AuditLog.objects.get(action="payment_gateway.updated")
    assert entry.changes["credentials_set"] == ["api_key", "webhook_secret"]
    assert not AuditLog.objects.filter(action__startswith="admin.").exists()


def test_the_admin_keeps_a_blank_credential_replaces_a_typed_one_and_clears_on_request(store, client_for,
                                                                                      admin_login):
    configure(client_for(store.owner), store)
    setting = GatewaySetting.objects.get(store=store, gateway="testcard")
    client = admin_login(store.owner)
    page = f"{GATEWAYS}{setting.pk}/change/"
    form = {"enabled": "on", "merchant_id": "MID-123-456", "mode": "test", "sorted_keys": "on"}

    # blank: kept (and nothing changed: no audit row)
    assert client.post(page, {**form, "api_key": "", "webhook_secret": ""}).status_code == 302
    setting.refresh_from_db()
    assert setting.secrets_dict() == {"api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET}
    assert AuditLog.objects.filter(action="payment_gateway.updated").count() == 1
    # typed: replaced; "clear": removed, and the gateway is no longer configured (a warning says so)
    response = client.post(page, {**form, "api_key": "new-api-key-000", "webhook_secret_clear": "on"}, follow=True)
    setting.refresh_from_db()
    assert setting.secrets_dict() == {"api_key": "new-api-key-000"}
    assert response.status_code == 200 and "enabled but not configured" not in messages_of(response)
    assert AuditLog.objects.filter(action="payment_gateway.updated").order_by("id").last().changes == {
        "gateway": "testcard", "credentials_set": ["api_key"], "credentials_cleared": ["webhook_secret"]}
    response = client.post(page, {**form, "api_key_clear": "on"}, follow=True)
    setting.refresh_from_db()
    assert setting.secrets_dict() == {} and not services.gateway_setting_configured(setting)
    assert "Test card is enabled but not configured" in messages_of(response)


def test_an_admin_form_refused_never_shows_the_credential_typed(store, client_for, admin_login):
    configure(client_for(store.owner), store)
    setting = GatewaySetting.objects.get(store=store, gateway="testcard")
    client = admin_login(store.owner)
    typed = "sk_live_typed_" + "t" * 20

    refused = client.post(f"{GATEWAYS}{setting.pk}/change/", {"enabled": "on", "merchant_id": "no-prefix",
                                                              "mode": "test", "api_key": typed})
    both = client.post(f"{GATEWAYS}{setting.pk}/change/", {"enabled": "on", "merchant_id": "MID-2", "mode": "test",
                                                           "api_key": typed, "api_key_clear": "on"})

    assert refused.status_code == 200 and "Starts with MID-." in refused.content.decode()
    assert both.status_code == 200 and "not both" in both.content.decode()
    for response in (refused, both):
        assert typed not in response.content.decode() and API_KEY not in response.content.decode()
    setting.refresh_from_db()
    assert setting.secrets_dict()["api_key"] == API_KEY and setting.options["merchant_id"] == "MID-123-456"


def test_adding_a_card_gateway_without_its_settings_goes_on_to_its_page_with_a_warning(store, admin_login):
    client = admin_login(store.owner)

    response = client.post(f"{GATEWAYS}add/", {"store": store.pk, "gateway": "testcard", "enabled": "on"})

    setting = GatewaySetting.objects.get(store=store, gateway="testcard")
    assert response.status_code == 302 and response["Location"].endswith(f"{setting.pk}/change/")
    followed = client.get(response["Location"])
    assert "enabled but not configured" in messages_of(followed)
    assert services.gateways_offered(store=store) == ["cod", "bank_transfer"]


@pytest.mark.parametrize("name", [name for name, gateway in REGISTRY.items() if gateway.secret_fields])
def test_no_registered_gateways_credentials_are_shown_anywhere(name, store, client_for, admin_login):
    # given every credential of the gateway saved (written directly: what matters is what is shown)
    gateway = REGISTRY[name]
    values = {field: f"{field}-value-{n:04d}-" + "9" * 16 for n, field in enumerate(gateway.secret_fields)}
    setting = GatewaySetting.objects.create(store=store, gateway=name, enabled=True, secrets=json.dumps(values))

    pages = [client_for(store.owner).get(url(store, name)), client_for(store.owner).get(url(store)),
             admin_login(store.owner).get(f"{GATEWAYS}{setting.pk}/change/"), admin_login(store.owner).get(GATEWAYS)]

    for response in pages:
        assert response.status_code == 200
        text = response.content.decode()
        assert not [value for value in values.values() if value in text]
    answer = pages[0].json()["data"]
    assert {field: answer[field] for field in gateway.secret_fields} == {
        field: "••••" + value[-4:] for field, value in values.items()}
