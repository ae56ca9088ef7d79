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
