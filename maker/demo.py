"""The demo stores' print materials (seed_demo runs seed_maker_demo by name: maker sits beside payments)."""

from decimal import Decimal

from stores.models import Store

from .models import Material

DEMO_STORES = ("alpha", "beta")
# name, price per cm³, setup fee, machine rate per hour, minutes per cm³ (draft, standard, fine), in the store's
# currency
DEMO_MATERIALS = [
    ("PLA", "0.08", "3.00", "2.50", ("0.8", "1.5", "3.0")),
    ("PETG", "0.10", "3.00", "2.50", ("1.0", "1.8", "3.5")),
    ("Resin", "0.25", "5.00", "4.00", ("1.5", "2.5", "5.0")),
]


def seed_materials(store: Store) -> int:
    """The demo materials the store does not have yet; answers how many were added."""
    added = 0
    for name, price, setup, rate, (draft, standard, fine) in DEMO_MATERIALS:
        _, created = Material.objects.get_or_create(
            store=store, name=name,
            defaults={"price_per_cm3": Decimal(price), "setup_fee": Decimal(setup),
                      "machine_hourly_rate": Decimal(rate), "draft_minutes_per_cm3": Decimal(draft),
                      "standard_minutes_per_cm3": Decimal(standard), "fine_minutes_per_cm3": Decimal(fine)})
        added += created
    return added
