"""A store says whether its catalog prices contain the tax (orders.pricing reads it)."""

from auditlog.models import AuditLog


def test_the_owner_switches_prices_to_tax_inclusive(client_for, store):
    # given a store with exclusive prices (the default)
    assert store.prices_include_tax is False
    # when
    response = client_for(store.owner).patch(f"/api/v1/stores/{store.slug}", {"prices_include_tax": True},
                                             format="json")
    # then
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["prices_include_tax"] is True
    store.refresh_from_db()
    assert store.prices_include_tax is True
    entry = AuditLog.objects.get(store=store, action="store.updated")
    assert entry.changes == {"prices_include_tax": [False, True]}
