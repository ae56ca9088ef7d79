"""Each catalog rule is one check function: the API, the admin forms and the importer give the same answer."""

from decimal import Decimal

import pytest
from django.test import Client

from auditlog.models import AuditLog
from catalog import services
from catalog.importer import ImportFailed, products_import
from catalog.models import Category, Product
from config.api.errors import ValidationFailed

pytestmark = pytest.mark.django_db


def test_a_category_cannot_move_under_its_descendant_in_the_admin(store, category_factory):
    # given: parent > child
    parent = category_factory(store=store, name="Parent")
    child = category_factory(store=store, name="Child", parent=parent)
    client = Client()
    client.force_login(store.owner)
    # when: the parent is moved under its child
    response = client.post(f"/admin/catalog/category/{parent.pk}/change/", {
        "name": "Parent", "slug": parent.slug, "parent": child.pk, "position": 0, "description": ""})
    # then: the form shows the service's refusal and nothing moved
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["parent"] == [
        "A category cannot be moved under itself or its descendants."]
    parent.refresh_from_db()
    assert parent.parent is None and parent.depth == 0


def test_the_prices_check_refuses_more_places_than_the_currency_has(store, product_factory):
    # given: a USD store
    product = product_factory(store=store, variants=0)
    # when / then: the service refuses three places, whoever calls it
    with pytest.raises(ValidationFailed) as refused:
        services.variant_create(product=product, sku="X", price=Decimal("1.999"))
    assert refused.value.details == {"price": ["At most 2 decimal places for USD."]}
    assert not product.variants.exists()


def test_the_importer_reports_the_same_places_rule(store):
    with pytest.raises(ImportFailed) as failed:
        products_import(store=store, source=b"sku,product_name,price\nA,Hat,1.999\n")
    assert [(e.row, e.field, e.message) for e in failed.value.errors] == [
        (2, "price", "At most 2 decimal places for USD.")]


def test_the_importer_archives_a_draft_through_the_transitions(store, product_factory):
    # given: a draft product with one variant
    product = product_factory(store=store, status="draft")
    sku = product.variants.get().sku
    # when: the file says archived
    products_import(store=store, source=f"sku,status\n{sku},archived\n".encode())
    # then: it went draft → published → archived, each step audited as the API's transitions are
    product.refresh_from_db()
    assert product.status == "archived" and product.published_at is not None
    actions = list(AuditLog.objects.filter(store=store, object_id=str(product.pk)).order_by("id")
                   .values_list("action", flat=True))
    assert actions[-2:] == ["product.published", "product.archived"]


def test_generated_slugs_follow_one_rule_in_services_and_importer(store, product_factory):
    # given: "red-hat" is taken
    product_factory(store=store, name="Red Hat")
    # when: the service and the importer each make another product whose name slugifies the same
    made = services.product_create(store=store, name="Red Hat")
    products_import(store=store, source=b"sku,product_name,price\nRH,Red Hat!,1\n")
    # then: the next free suffixes, in order
    assert made.slug == "red-hat-2"
    assert Product.objects.get(store=store, name="Red Hat!").slug == "red-hat-3"
    assert services.slug_generate(model=Category, store=store, source="") == "category"


def test_a_store_named_like_a_reserved_path_gets_a_free_slug(user):
    from stores.services import store_create

    store = store_create(owner=user, name="Admin", currency="USD")
    assert store.slug == "admin-store"
