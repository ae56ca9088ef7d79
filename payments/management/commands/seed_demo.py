"""Demo users, stores, teams, catalogs, shipping methods, coupons, orders and payments: here, in payments, the
highest app it fills (lower apps do not know what is above them)."""

import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from catalog.demo import seed_bulk, seed_catalog
from payments.demo import card_checkout_line, seed_card_checkout, seed_card_gateway, seed_orders, seed_stripe
from plans.models import Plan
from stores.models import Store
from teams.models import Membership

DEMO_PASSWORD = "demo-pass-2026"
DEMO_USERS = [
    # email, name, superuser
    ("admin@demo.store", "Platform Admin", True),
    ("owner@alpha.demo", "Alpha Owner", False),
    ("staff@alpha.demo", "Alpha Staff", False),
    ("owner@beta.demo", "Beta Owner", False),
    ("staff@beta.demo", "Beta Staff", False),
]
DEMO_PLAN = "business"  # plans/migrations/0002_default_plans.py
DEMO_STORES = [
    # slug, name, currency, owner, [(member, role)]
    ("alpha", "Alpha Outfitters", "USD", "owner@alpha.demo", [("staff@alpha.demo", "staff")]),
    ("beta", "Beta Bazaar", "LYD", "owner@beta.demo", [("staff@beta.demo", "staff")]),
]


class Command(BaseCommand):
    help = "Creates demo data; safe to run again (it only adds what is missing)."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=0, metavar="N",
                            help="Also add N generated products (bulk insert, for benchmarks) to the first store.")

    @transaction.atomic
    def handle(self, *args, products: int = 0, **options):
        users = {}
        for email, name, superuser in DEMO_USERS:
            user, created = User.objects.get_or_create(
                email=email, defaults={"name": name, "is_staff": superuser, "is_superuser": superuser,
                                       "email_verified": True},
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            users[email] = user
        card_gateways, stripe_stores, card_checkouts = {}, [], []
        # the demo shows every feature (two card gateways, export jobs, the custom sender): the top plan
        business = Plan.objects.filter(code=DEMO_PLAN).first()
        for slug, name, currency, owner, members in DEMO_STORES:
            store, _ = Store.objects.get_or_create(
                slug=slug, defaults={"name": name, "currency": currency, "owner": users[owner],
                                     "description": f"{name}, a demo store.", "plan": business},
            )
            for email, role in [(owner, "owner"), *members]:
                Membership.objects.get_or_create(store=store, user=users[email], defaults={"role": role})
            seed_catalog(store)  # idempotent: only adds what is missing
            seed_orders(store)  # shipping, a coupon, orders in several states, if missing
            card_gateways[slug] = seed_card_gateway(store)  # Kashier or Moamalat in test mode, if not set up
            if seed_stripe(store):  # against a localstripe at STRIPE_API_BASE, when one answers
                stripe_stores.append(slug)
            for gateway in [card_gateways[slug], *(["stripe"] if slug in stripe_stores else [])]:
                payment = seed_card_checkout(store, gateway)  # a pending card order to try the payment page with
                if payment is not None:
                    card_checkouts.append(card_checkout_line(payment))
        call_command("seed_analytics_demo", stdout=self.stdout)  # by name: analytics is above payments
        call_command("seed_maker_demo", stdout=self.stdout)  # by name: maker sits beside payments
        if products:
            started = time.monotonic()
            seed_bulk(Store.objects.get(slug=DEMO_STORES[0][0]), products)
            self.stdout.write(f"Added {products} generated products to {DEMO_STORES[0][0]} "
                              f"in {time.monotonic() - started:.1f} s.")
        self.stdout.write("Card payments in test mode: " + ", ".join(
            f"{slug} {gateway}" for slug, gateway in card_gateways.items()) + " (README \"Card payments\").")
        if stripe_stores:
            self.stdout.write(f"Stripe against the local server at {settings.STRIPE_API_BASE}: "
                              + ", ".join(stripe_stores) + ".")
        if card_checkouts:
            self.stdout.write("Pending card orders to try checkout with:")
            for line in card_checkouts:
                self.stdout.write(f"  {line}")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}), admin at /admin/:")
        for email, _, superuser in DEMO_USERS:
            roles = ", ".join(
                f"{slug} {role}" for slug, role in
                Membership.objects.filter(user=users[email]).values_list("store__slug", "role")
            )
            self.stdout.write(f"  {email:<20} {'superuser' if superuser else roles}")
