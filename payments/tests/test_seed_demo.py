from io import StringIO

from django.core.management import call_command

from stores.models import Store
from teams.models import Membership


def test_seed_demo_makes_two_stores_with_teams_and_is_idempotent(db):
    # when
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=StringIO())
    # then
    assert sorted(Store.objects.values_list("slug", flat=True)) == ["alpha", "beta"]
    roles = set(Membership.objects.values_list("store__slug", "user__email", "role"))
    assert roles == {
        ("alpha", "owner@alpha.demo", "owner"), ("alpha", "staff@alpha.demo", "staff"),
        ("beta", "owner@beta.demo", "owner"), ("beta", "staff@beta.demo", "staff"),
    }
    assert "staff@beta.demo" in out.getvalue() and "demo-pass-2026" in out.getvalue()


def test_seed_demo_gives_each_store_shipping_a_coupon_and_orders_in_several_states_once(db):
    from django.db.models import Sum

    from catalog.models import InventoryMovement, Variant
    from orders.models import Coupon, Order, ShippingMethod
    from payments.models import GatewaySetting, Payment

    # when it runs twice
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    # then each store has the same few things, once
    for store in Store.objects.all():
        methods = list(ShippingMethod.objects.filter(store=store).values_list("name", "free_above"))
        assert len(methods) == 2 and methods[0][1] is not None and methods[1][1] is None
        coupon = Coupon.objects.get(store=store)
        assert (coupon.code, coupon.kind, coupon.value, coupon.used_count) == ("WELCOME10", "percent", 10, 1)
        orders = Order.objects.filter(store=store).exclude(email="card@customers.demo")
        assert sorted(orders.values_list("status", "payment_method")) == [
            ("cancelled", "bank_transfer"), ("completed", "cod"), ("pending", "bank_transfer"), ("processing", "cod")]
        assert orders.get(status="processing").coupon_code == "WELCOME10"
        # placed through checkout: a payment each, the completed one paid, the cancelled one cancelled with it
        assert sorted(Payment.objects.filter(order__in=orders).values_list("order__status", "status")) == [
            ("cancelled", "cancelled"), ("completed", "paid"), ("pending", "pending"), ("processing", "pending")]
        assert orders.get(status="completed").payment_status == "paid"
        assert "IBAN" in GatewaySetting.objects.get(store=store, gateway="bank_transfer").instructions
        assert all(order.events.exists() and order.lines.exists() for order in orders)
        # placed through the services: the ledger adds up to the variants' counts
        ledger = InventoryMovement.objects.filter(store=store).aggregate(on_hand=Sum("quantity_delta"),
                                                                         reserved=Sum("reserved_delta"))
        counts = Variant.objects.filter(store=store).aggregate(on_hand=Sum("stock_quantity"),
                                                               reserved=Sum("reserved"))
        assert counts["reserved"] > 0 and ledger == counts


def test_seed_demo_sets_up_each_stores_card_gateway_in_test_mode_and_keeps_the_merchants_changes(db):
    from payments import services
    from payments.models import GatewaySetting

    out = StringIO()
    call_command("seed_demo", stdout=out)

    alpha, beta = Store.objects.get(slug="alpha"), Store.objects.get(slug="beta")
    assert "kashier" in services.gateways_offered(store=alpha)  # USD
    assert "moamalat" in services.gateways_offered(store=beta)  # LYD
    moamalat = GatewaySetting.objects.get(store=beta, gateway="moamalat")
    assert (moamalat.options["mode"], moamalat.options["merchant_id"]) == ("test", "10081014649")
    assert "alpha kashier, beta moamalat" in out.getvalue()
    assert "39636630" not in out.getvalue()
    assert "d3adb33f" not in out.getvalue()
    # the merchant turns it off: a second run leaves it off
    services.gateway_setting_update(store=beta, gateway="moamalat", enabled=False)
    call_command("seed_demo", stdout=StringIO())
    assert "moamalat" not in services.gateways_offered(store=beta)


def test_seed_demo_sets_up_stripe_against_a_running_localstripe_that_sends_its_webhooks_here(db, stripe_api, settings):
    import json

    import stripe

    from notifications.tests.receiver import start_receiver
    from payments import services
    from payments.demo import STRIPE_LOCAL
    from payments.gateways import REGISTRY
    from payments.models import GatewaySetting

    receiver, server = start_receiver()  # stands for the app: PUBLIC_BASE_URL is where localstripe sends webhooks
    settings.PUBLIC_BASE_URL = f"http://127.0.0.1:{receiver.port}"
    try:
        out = StringIO()
        call_command("seed_demo", stdout=out)

        alpha, beta = Store.objects.get(slug="alpha"), Store.objects.get(slug="beta")
        assert "stripe" in services.gateways_offered(store=alpha)  # USD
        assert "stripe" not in services.gateways_offered(store=beta)  # LYD: Stripe does not take it
        assert f"Stripe against the local server at {stripe_api.url}: alpha." in out.getvalue()
        assert STRIPE_LOCAL["secret_key"] not in out.getvalue()
        # a payment confirmed at localstripe is notified to alpha's webhook URL, signed with alpha's secret
        client = stripe.StripeClient(STRIPE_LOCAL["secret_key"], base_addresses={"api": stripe_api.url},
                                     max_network_retries=0)
        intent = client.v1.payment_intents.create(params={"amount": 500, "currency": "usd",
                                                          "payment_method": "pm_card_visa", "confirm": True})
        assert receiver.arrived.wait(10), stripe_api.log()
        request = receiver.requests[0]
        assert request.path == "/api/v1/payments/webhooks/stripe/alpha"
        setting = GatewaySetting.objects.get(store=alpha, gateway="stripe")
        notification = REGISTRY["stripe"].notification_read(setting=setting, body=request.body.encode(),
                                                            headers=request.headers)
        assert notification.reference == intent.id and json.loads(request.body)["type"] == "payment_intent.succeeded"
        # the merchant's own Stripe keys are kept on a later run
        services.gateway_setting_update(store=alpha, gateway="stripe", webhook_secret="whsec_merchants_own")
        call_command("seed_demo", stdout=StringIO())
        setting.refresh_from_db()
        assert setting.secrets_dict()["webhook_secret"] == "whsec_merchants_own"
    finally:
        stripe_api.webhook_send_to("http://127.0.0.1:9/", "whsec_unused", events=["none.none"], id="demo-alpha")
        server.shutdown()
        server.server_close()


def test_seed_demo_leaves_stripe_off_without_a_local_stripe_server(db, settings):
    from payments import services

    for base in ("", "http://127.0.0.1:9"):  # unset; set, but nothing answers
        settings.STRIPE_API_BASE = base
        out = StringIO()
        call_command("seed_demo", stdout=out)
        assert "stripe" not in services.gateways_offered(store=Store.objects.get(slug="alpha"))
        assert "Stripe against" not in out.getvalue()


def test_seed_demo_keeps_a_pending_card_order_per_store_and_prints_its_payment_page(db, settings):
    from urllib.parse import parse_qs, urlsplit

    from orders.models import Order
    from payments.demo import KASHIER_TEST
    from payments.gateways.kashier import order_hash
    from payments.models import Payment

    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"  # as make run sets it
    out = StringIO()
    call_command("seed_demo", stdout=out)
    again = StringIO()
    call_command("seed_demo", stdout=again)

    # one pending order per store, paid by its card gateway, kept while it is pending
    cards = Order.objects.filter(email="card@customers.demo")
    assert sorted(cards.values_list("store__slug", "status", "payment_method")) == [
        ("alpha", "pending", "kashier"), ("beta", "pending", "moamalat")]
    kashier = Payment.objects.get(order__store__slug="alpha", gateway="kashier", order__email="card@customers.demo")
    # the Kashier hosted page's link, with a hash the page accepts for that order and the addresses to reach us
    link = next(line.split(": ", 1)[1] for line in out.getvalue().splitlines() if "kashier's page" in line)
    assert link == kashier.action["redirect_url"] and link in again.getvalue()
    query = {name: values[0] for name, values in parse_qs(urlsplit(link).query).items()}
    assert (query["orderId"], query["amount"], query["currency"], query["mode"]) == (
        kashier.order.number, f"{kashier.amount:.2f}", "USD", "test")
    assert query["hash"] == order_hash(merchant_id=KASHIER_TEST["merchant_id"], order_id=kashier.order.number,
                                       amount=query["amount"], currency="USD", api_key=KASHIER_TEST["api_key"])
    assert query["serverWebhook"] == "http://127.0.0.1:8000/api/v1/payments/webhooks/kashier/alpha"
    # Moamalat's Lightbox is configured by the storefront: the order's address that answers its parameters
    beta = cards.get(store__slug="beta")
    assert f"http://127.0.0.1:8000/api/v1/stores/beta/orders/{beta.number}?email=card@customers.demo" in out.getvalue()
