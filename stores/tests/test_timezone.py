"""A store's time zone: an IANA name, UTC unless set; its days are the dashboard's days."""

from auditlog.models import AuditLog
from stores.models import Store


def test_a_new_store_is_on_utc_unless_told(client_for, user):
    response = client_for(user).post("/api/v1/stores", {"name": "Plain", "currency": "USD"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["data"]["timezone"] == "UTC"
    response = client_for(user).post("/api/v1/stores", {"name": "Souk", "currency": "LYD",
                                                        "timezone": "Africa/Tripoli"}, format="json")
    assert response.status_code == 201, response.json()
    assert Store.objects.get(slug="souk").timezone == "Africa/Tripoli"


def test_the_owner_sets_the_time_zone_and_the_public_sees_it(api, client_for, store):
    response = client_for(store.owner).patch(f"/api/v1/stores/{store.slug}", {"timezone": "Africa/Cairo"},
                                             format="json")
    assert response.status_code == 200, response.json()
    store.refresh_from_db()
    assert store.timezone == "Africa/Cairo" and str(store.zone) == "Africa/Cairo"
    assert api.get(f"/api/v1/stores/{store.slug}").json()["data"]["timezone"] == "Africa/Cairo"
    entry = AuditLog.objects.get(store=store, action="store.updated")
    assert entry.changes == {"timezone": ["UTC", "Africa/Cairo"]}


def test_an_unknown_time_zone_is_400_on_the_field_and_changes_nothing(client_for, store, user):
    for bad in ["Mars/Olympus", "", "africa/tripoli", "+02:00"]:
        response = client_for(store.owner).patch(f"/api/v1/stores/{store.slug}", {"timezone": bad}, format="json")
        assert response.status_code == 400, (bad, response.json())
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
        assert "timezone" in response.json()["error"]["details"]
    store.refresh_from_db()
    assert store.timezone == "UTC"
    response = client_for(user).post("/api/v1/stores", {"name": "X", "currency": "USD", "timezone": "Nowhere"},
                                     format="json")
    assert response.status_code == 400 and "timezone" in response.json()["error"]["details"]
    assert not Store.objects.filter(name="X").exists()
