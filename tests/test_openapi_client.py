"""A client generated from /api/schema/ works on the first try: openapi-python-client (pinned in
requirements-dev.txt) generates the Python client from the document a live server serves, this test imports it and
uses it against that server on the demo data, as README's 'Generating a client' says: the anonymous product list,
an anonymous read of a store (the public shape, where the document once promised only the member's), the category
tree (?tree=true: no page) and a cart filled through it. The client parses every answer into its models; a shape
the document does not describe makes it raise."""

import importlib
import subprocess
import sys
import uuid
from io import StringIO
from pathlib import Path

import pytest
import requests
from django.core.management import call_command

from catalog.models import Product

pytestmark = pytest.mark.django_db(transaction=True)  # the live server's thread reads what the test commits

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "store_api_client"


@pytest.fixture
def client_package(live_server, tmp_path, monkeypatch):
    """The generated package, imported from a temp directory (no formatter run on it: post_hooks off)."""
    config = tmp_path / "config.yaml"
    config.write_text("post_hooks: []\n")
    document = tmp_path / "openapi.json"  # fetched here: the generator's own fetch gives up after 5 s
    answer = requests.get(f"{live_server.url}/api/schema/?format=json", timeout=120)
    assert answer.status_code == 200
    document.write_bytes(answer.content)
    generated = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(document), "--meta", "none",
         "--output-path", str(tmp_path / PACKAGE), "--config", str(config)],
        capture_output=True, text=True, timeout=300)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
        monkeypatch.delitem(sys.modules, name)
    return importlib.import_module(PACKAGE)


def module(name: str):
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_a_generated_client_lists_products_reads_a_store_and_the_category_tree_and_fills_a_cart(
        live_server, client_package):
    call_command("seed_demo", stdout=StringIO())
    client = client_package.Client(base_url=live_server.url, raise_on_unexpected_status=True, timeout=30)
    models = module("models")

    # the anonymous product list: a page of products
    page = module("api.catalog.products_list").sync_detailed("alpha", client=client, limit=5)
    assert page.status_code == 200, page.content
    assert isinstance(page.parsed, models.PaginatedProductOutputList)
    assert page.parsed.success and page.parsed.pagination.total >= len(page.parsed.data) > 0
    names = {product.name for product in page.parsed.data}
    assert names <= set(Product.objects.filter(store__slug="alpha", status="published").values_list("name",
                                                                                                    flat=True))

    # a store read anonymously: the public shape
    store = module("api.stores.stores_retrieve").sync_detailed("alpha", client=client)
    assert store.status_code == 200, store.content
    assert isinstance(store.parsed.data, models.StoreOutput) and store.parsed.data.slug == "alpha"

    # the category tree: nodes with their children, no page
    tree = module("api.catalog.categories_list").sync_detailed("alpha", client=client, tree=True)
    assert tree.status_code == 200, tree.content
    assert isinstance(tree.parsed, models.CategoryTreeEnvelope)
    assert any(node.children for node in tree.parsed.data)
    assert all(isinstance(child, models.CategoryTreeOutput) for node in tree.parsed.data for child in node.children)

    # a cart, then a line added to it
    cart = module("api.orders.carts_create").sync_detailed("alpha", client=client)
    assert cart.status_code == 201, cart.content
    cart_id = cart.parsed.data.id
    assert isinstance(cart_id, uuid.UUID)
    variant = next(product for product in page.parsed.data if product.in_stock and product.variants).variants[0]
    added = module("api.orders.carts_items_create").sync_detailed(
        "alpha", cart_id, client=client, body=models.CartItemInputRequest(variant=variant.id, quantity=1))
    assert added.status_code in (200, 201), added.content
    assert [(line.variant, line.quantity) for line in added.parsed.data.lines] == [(variant.id, 1)]
