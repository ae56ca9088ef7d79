"""A store's fraud limits: GET/PUT fraud-settings (store.manage) and the admin page, both through the services."""

import pytest

from auditlog.models import AuditLog
from payments.models import FraudSetting

pytestmark = pytest.mark.django_db

ADMIN = "/admin/payments/fraudsetting/"


def url(store) -> str:
    return f"/api/v1/stores/{store.slug}/fraud-settings"


def test_a_store_that_set_nothing_reads_the_platform_defaults(store, client_for):
    response = client_for(store.owner).get(url(store))

    assert response.status_code == 200
    assert response.json()["data"] == {
        "window_minutes": None, "max_failed_per_email": None, "max_failed_per_ip": None,
        "max_failed_per_card": None, "amount_ceiling": None, "currency": "USD", "updated_at": None,
        "in_force": {"window_minutes": 60, "max_failed_per_email": 3, "max_failed_per_ip": 5,
                     "max_failed_per_card": 3, "amount_ceiling": None}}


def test_put_sets_what_it_names_keeps_the_rest_and_null_restores_a_default(store, client_for):
    owner = client_for(store.owner)

    first = owner.put(url(store), {"max_failed_per_ip": 0, "amount_ceiling": "500.00", "window_minutes": 30})
    second = owner.put(url(store), {"window_minutes": None})

    assert first.status_code == 200, first.json()
    data = second.json()["data"]
    assert (data["window_minutes"], data["max_failed_per_ip"], data["amount_ceiling"]) == (None, 0, "500.00")
    assert data["in_force"] == {"window_minutes": 60, "max_failed_per_email": 3, "max_failed_per_ip": 0,
                                "max_failed_per_card": 3, "amount_ceiling": "500.00"}
    assert data["updated_at"] is not None
    assert AuditLog.objects.filter(action="fraud_setting.updated", store=store).count() == 2


@pytest.mark.parametrize("body, field", [
    ({"window_minutes": 0}, "window_minutes"),
    ({"max_failed_per_email": -1}, "max_failed_per_email"),
    ({"max_failed_per_card": "many"}, "max_failed_per_card"),
    ({"amount_ceiling": "10.001"}, "amount_ceiling"),
    ({"amount_ceiling": "-5"}, "amount_ceiling"),
    ({"velocity": 3}, "velocity"),
])
def test_bad_limits_are_400_naming_the_field(store, client_for, body, field):
    response = client_for(store.owner).put(url(store), body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR" and field in response.json()["error"]["details"]
    assert not FraudSetting.objects.exists()


def test_the_ceiling_has_the_stores_currency_places(store_factory, client_for):
    libyan = store_factory(currency="LYD")

    response = client_for(libyan.owner).put(url(libyan), {"amount_ceiling": "250.125"})

    assert response.status_code == 200, response.json()
    assert response.json()["data"]["amount_ceiling"] == "250.125"


@pytest.mark.parametrize("role, status", [("admin", 200), ("staff", 403), ("viewer", 403)])
def test_reading_and_setting_the_limits_need_store_manage(store, member_factory, client_for, role, status):
    client = client_for(member_factory(store, role))

    assert client.get(url(store)).status_code == status
    assert client.put(url(store), {"max_failed_per_ip": 1}).status_code == status


def test_outsiders_get_404_and_anonymous_401(api, store, user_factory, client_for):
    assert api.get(url(store)).status_code == 401
    assert client_for(user_factory()).get(url(store)).status_code == 404
    assert client_for(user_factory()).put(url(store), {"max_failed_per_ip": 1}).status_code == 404


# --- the admin ----------------------------------------------------------------------------------------------
def test_the_admin_sets_a_stores_limits_through_the_service(store, admin_login):
    client = admin_login(store.owner)

    page = client.get(f"{ADMIN}add/")
    response = client.post(f"{ADMIN}add/", {"store": store.pk, "window_minutes": "", "max_failed_per_email": "2",
                                            "max_failed_per_ip": "", "max_failed_per_card": "",
                                            "amount_ceiling": "99.50"})

    assert "Empty: the platform default (60)." in page.content.decode()
    assert response.status_code == 302, response.context["adminform"].form.errors
    setting = FraudSetting.objects.get(store=store)
    assert (setting.max_failed_per_email, str(setting.amount_ceiling), setting.window_minutes) == (2, "99.500", None)
    assert AuditLog.objects.filter(action="fraud_setting.updated", actor_user=store.owner).count() == 1


def test_the_admin_shows_the_services_refusal_on_the_field(store, admin_login):
    client = admin_login(store.owner)

    response = client.post(f"{ADMIN}add/", {"store": store.pk, "window_minutes": "0", "amount_ceiling": "1.005"})

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "window_minutes" in errors and "amount_ceiling" in errors
    assert not FraudSetting.objects.exists()


def test_a_second_row_for_the_same_store_is_refused(store, admin_login):
    FraudSetting.objects.create(store=store, max_failed_per_ip=1)

    response = admin_login(store.owner).post(f"{ADMIN}add/", {"store": store.pk, "max_failed_per_ip": "4"})

    assert response.status_code == 200 and "store" in response.context["adminform"].form.errors
    assert FraudSetting.objects.get(store=store).max_failed_per_ip == 1


def test_staff_without_store_manage_do_not_see_the_limits(store, other_store, member_factory, admin_login):
    FraudSetting.objects.create(store=store, max_failed_per_ip=1)
    FraudSetting.objects.create(store=other_store, max_failed_per_ip=2)

    staff = admin_login(member_factory(store, "staff")).get(ADMIN)
    owner = admin_login(store.owner).get(ADMIN)

    assert staff.status_code == 200 and list(staff.context["cl"].result_list) == []
    assert [row.store_id for row in owner.context["cl"].result_list] == [store.pk]
