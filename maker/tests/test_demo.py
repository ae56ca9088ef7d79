"""seed_demo gives the demo stores print materials (seed_maker_demo, run by name), once."""

from io import StringIO

import pytest
from django.core.management import call_command

from maker.models import Material

pytestmark = pytest.mark.django_db


def test_the_demo_stores_get_print_materials_once(store_factory):
    alpha, beta, other = (store_factory(slug="alpha"), store_factory(slug="beta", currency="LYD"),
                          store_factory(slug="gamma"))
    out = StringIO()
    call_command("seed_maker_demo", stdout=out)
    assert sorted(Material.objects.filter(store=alpha).values_list("name", flat=True)) == ["PETG", "PLA", "Resin"]
    assert Material.objects.filter(store=beta).count() == 3 and not Material.objects.filter(store=other).exists()
    assert "alpha: 3 print materials" in out.getvalue()
    call_command("seed_maker_demo", stdout=StringIO())
    assert Material.objects.count() == 6
